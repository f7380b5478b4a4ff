// Runs independent, mostly waiting tasks (chunk reads, HTTP range requests) on threads started for
// the call. Unlike ThreadPool::ParallelFor, which splits CPU work into even slices, tasks are handed
// out one at a time, so a slow one (a retried request, a large chunk) does not hold up the others'
// share, and the first error stops the tasks not yet started.
#pragma once

#include <cstddef>
#include <functional>

#include "tenpak/core/status.h"

namespace tenpak {

// Calls fn(i) for every i in [0, n) on up to `threads` threads (the caller is one of them) and
// returns the first error, after which no further task starts.
Status ForEachParallel(size_t n, size_t threads, const std::function<Status(size_t)>& fn);

}  // namespace tenpak
