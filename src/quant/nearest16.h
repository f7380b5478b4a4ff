// Encoding a run of weights as the index of the nearest of 16 sorted code values (NF4's table):
// code[i] = the number of midpoints below x[i] * inv, ties to the lower index (NearestOf16 in
// group_math.h). The scalar loop is the reference; the AVX-512 twin finds the same index another
// way (below), and both give the same bytes for every input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tenpak::quant {

// A sorted 16-value code table, prepared once for the encoders.
//
// The vector kernel does not search: it clamps x to [-1, 1], cuts that range into 32 equal buckets,
// and looks up per bucket the count of midpoints wholly below it (`bucket_base`) and the one
// midpoint inside it, if any (`bucket_threshold`, else +Inf): code = base + (x > threshold). That is
// exact when no bucket, widened by a margin far above the rounding of the bucket's computation,
// holds two midpoints: NF4's closest midpoints are 0.080 apart and a bucket is 0.0625 wide. A table
// whose midpoints are closer sets `buckets_exact` false and the vector kernel searches instead.
struct Nearest16Table {
    explicit Nearest16Table(const std::array<float, 16>& sorted_values);

    float mid[15];  // (t[i] + t[i + 1]) / 2, ascending
    alignas(64) int32_t bucket_base[32];
    alignas(64) float bucket_threshold[32];
    bool buckets_exact = false;
};

// The reference: NearestOf16 per element, compiled for several ISAs by the auto-vectoriser.
void EncodeNearestOf16Scalar(const float* x, size_t n, float inv, const Nearest16Table& table, uint8_t* codes);
// AVX-512F; REQUIRES the CPU to have it (IsaSupported(Isa::kAvx512)).
void EncodeNearestOf16Avx512(const float* x, size_t n, float inv, const Nearest16Table& table, uint8_t* codes);
// The best of the two the CPU runs (SelectedIsa, so TENPAK_KERNELS=ref forces the scalar loop).
void EncodeNearestOf16(const float* x, size_t n, float inv, const Nearest16Table& table, uint8_t* codes);

}  // namespace tenpak::quant
