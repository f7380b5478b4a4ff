// The streaming-read baseline that the decode benchmarks compare against: sums a byte range as
// floats with plain vector loads at the widest width the CPU has. The values do not matter; the sum
// only keeps the loads alive. Eight independent sums keep enough loads in flight that memory, not
// the add latency, sets the pace.
#pragma once

#include <cstddef>
#include <cstring>

#include "tenpak/core/cpu_features.h"

namespace tenpak::bench {

inline constexpr size_t kStreamAccumulators = 8;

// Always inlined: only the callers below carry the target attribute, and a template compiled on its
// own would get the baseline ISA (a 64-byte vector type then becomes four SSE operations, and the
// baseline would read slower than the machine can).
template <typename Vec>
__attribute__((always_inline)) inline float StreamSumOf(const std::byte* p, size_t bytes) {
    Vec acc[kStreamAccumulators] = {};
    for (size_t i = 0; i + sizeof(Vec) * kStreamAccumulators <= bytes; i += sizeof(Vec) * kStreamAccumulators) {
        for (size_t k = 0; k < kStreamAccumulators; ++k) {
            Vec v;
            std::memcpy(&v, p + i + k * sizeof(Vec), sizeof(Vec));
            acc[k] += v;
        }
    }
    for (size_t k = 1; k < kStreamAccumulators; ++k) acc[0] += acc[k];
    float sum = 0;
    for (size_t lane = 0; lane < sizeof(Vec) / sizeof(float); ++lane) sum += acc[0][lane];
    return sum;
}

using StreamVec512 = float __attribute__((vector_size(64)));
using StreamVec256 = float __attribute__((vector_size(32)));

__attribute__((target("avx512f"))) inline float StreamSum512(const std::byte* p, size_t bytes) {
    return StreamSumOf<StreamVec512>(p, bytes);
}
__attribute__((target("avx2"))) inline float StreamSum256(const std::byte* p, size_t bytes) {
    return StreamSumOf<StreamVec256>(p, bytes);
}

struct StreamReader {
    const char* name;
    float (*sum)(const std::byte*, size_t);
    size_t block;  // bytes per loop iteration: ranges handed to `sum` should be multiples of it
};

inline StreamReader BestStreamReader() {
    if (IsaSupported(Isa::kAvx512)) return {"avx512 read", StreamSum512, 64 * kStreamAccumulators};
    return {"avx2 read", StreamSum256, 32 * kStreamAccumulators};
}

}  // namespace tenpak::bench
