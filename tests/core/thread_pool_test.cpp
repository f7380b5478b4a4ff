#include "tenpak/core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>

namespace tenpak {
namespace {

TEST(ThreadPoolTest, CoversEveryIndexOnceWithGrainAlignedChunks) {
    for (size_t threads : {1, 2, 3, 8}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.size(), threads);
        for (size_t n : {1, 5, 64, 1000, 1001}) {
            std::vector<std::atomic<int>> hits(n);
            std::atomic<size_t> calls{0};
            pool.ParallelFor(
                n,
                [&](size_t begin, size_t end, size_t thread) {
                    EXPECT_LT(thread, threads);
                    EXPECT_EQ(begin % 16, 0u);
                    if (end != n) {
                        EXPECT_EQ(end % 16, 0u);
                    }
                    for (size_t i = begin; i < end; ++i) hits[i]++;
                    calls++;
                },
                16);
            for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
            EXPECT_LE(calls.load(), threads);
        }
    }
}

TEST(ThreadPoolTest, ManyRoundsInARow) {
    ThreadPool pool(4);
    std::vector<int64_t> sums(4);
    int64_t total = 0;
    for (int round = 0; round < 2000; ++round) {
        std::fill(sums.begin(), sums.end(), 0);
        pool.ParallelFor(100, [&](size_t b, size_t e, size_t t) {
            for (size_t i = b; i < e; ++i) sums[t] += static_cast<int64_t>(i);
        });
        total += std::accumulate(sums.begin(), sums.end(), int64_t{0});
    }
    EXPECT_EQ(total, 2000 * 4950);
}

}  // namespace
}  // namespace tenpak
