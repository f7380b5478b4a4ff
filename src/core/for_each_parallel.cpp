#include "tenpak/core/for_each_parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace tenpak {

Status ForEachParallel(size_t n, size_t threads, const std::function<Status(size_t)>& fn) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    Status first;
    const auto worker = [&] {
        for (size_t i = next++; i < n && !failed.load(); i = next++) {
            Status status = fn(i);
            if (!status.ok()) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!failed.exchange(true)) first = std::move(status);
            }
        }
    };
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < std::min(threads, n); ++t) helpers.emplace_back(worker);
    worker();
    for (std::thread& helper : helpers) helper.join();
    return first;
}

}  // namespace tenpak
