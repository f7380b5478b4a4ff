// A fixed pool of worker threads for data-parallel loops (matrix-vector products, attention
// heads, quantizing rows). ParallelFor splits [0, n) into contiguous chunks, one per thread, and
// blocks until all are done; the calling thread takes a chunk too.
//
// Thread safety: one ParallelFor at a time per pool (calls from several threads are serialised).
// The function must not call ParallelFor on the same pool.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tenpak {

class ThreadPool {
public:
    // `threads` counts the caller: 1 runs everything inline. 0 means every core.
    explicit ThreadPool(size_t threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    size_t size() const { return workers_.size() + 1; }

    // Calls fn(begin, end, thread_index) on disjoint chunks covering [0, n). Chunks are multiples
    // of `grain` (except the last) so that callers can keep SIMD-friendly boundaries.
    void ParallelFor(size_t n, const std::function<void(size_t begin, size_t end, size_t thread)>& fn,
                     size_t grain = 1);

    // The number of cores this process may run on.
    static size_t HardwareThreads();

private:
    void WorkerLoop(size_t index);

    std::vector<std::thread> workers_;
    std::mutex run_mutex_;  // serialises ParallelFor calls
    std::mutex mutex_;
    std::condition_variable start_cv_;
    std::condition_variable done_cv_;
    const std::function<void(size_t, size_t, size_t)>* task_ = nullptr;
    std::vector<std::pair<size_t, size_t>> chunks_;
    size_t generation_ = 0;
    size_t pending_ = 0;
    bool stop_ = false;
};

}  // namespace tenpak
