#include "tenpak/core/thread_pool.h"

#include <sched.h>

#include <algorithm>

namespace tenpak {

size_t ThreadPool::HardwareThreads() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int count = CPU_COUNT(&set);
        if (count > 0) return static_cast<size_t>(count);
    }
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? n : 1;
}

ThreadPool::ThreadPool(size_t threads) {
    if (threads == 0) threads = HardwareThreads();
    chunks_.resize(threads);
    for (size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i]() { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    start_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::WorkerLoop(size_t index) {
    size_t seen = 0;
    while (true) {
        const std::function<void(size_t, size_t, size_t)>* task;
        std::pair<size_t, size_t> chunk;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            start_cv_.wait(lock, [&]() { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            task = task_;
            chunk = chunks_[index];
        }
        if (chunk.first < chunk.second) (*task)(chunk.first, chunk.second, index);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (--pending_ == 0) done_cv_.notify_one();
        }
    }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t, size_t, size_t)>& fn, size_t grain) {
    if (n == 0) return;
    grain = std::max<size_t>(grain, 1);
    const size_t units = (n + grain - 1) / grain;
    const size_t threads = std::min(size(), units);
    if (threads <= 1) {
        fn(0, n, 0);
        return;
    }
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    const size_t per = units / threads;
    const size_t extra = units % threads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t begin = 0;
        for (size_t t = 0; t < size(); ++t) {
            const size_t count = t < threads ? per + (t < extra ? 1 : 0) : 0;
            const size_t end = std::min(n, begin + count * grain);
            chunks_[t] = {begin, end};
            begin = end;
        }
        task_ = &fn;
        pending_ = workers_.size();
        ++generation_;
    }
    start_cv_.notify_all();
    if (chunks_[0].first < chunks_[0].second) fn(chunks_[0].first, chunks_[0].second, 0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [&]() { return pending_ == 0; });
}

}  // namespace tenpak
