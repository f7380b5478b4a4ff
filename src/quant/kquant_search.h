// The scale searches of llama.cpp's k-quant encoders (ggml-quants.c make_qkx2_quants with use_mad
// false, make_qx_quants with rmse_type 1 and no importance weights), each twice: the scalar
// transcription, which is the reference, and the batched form the encoders run, which keeps several
// independent sums in vector lanes (kquant_search.cpp says how) without reordering any of them.
// Both give the same scale, minimum and codes, bit for bit (tests/quant/kquant_test.cpp compares
// them on random groups).
#pragma once

#include <bit>
#include <cstdint>

namespace tenpak::quant::kquant {

// ggml's nearest_int: round to nearest even through the float's mantissa bits. Exact for
// |x| <= 4194303 (llama.cpp asserts it); beyond, the same bits as llama.cpp's release build.
inline int NearestInt(float x) {
    const auto bits = std::bit_cast<int32_t>(x + 12582912.0f);
    return (bits & 0x007fffff) - 0x00400000;
}

// Groups of at most this many values, and at most this many trial scales (nstep + 1).
inline constexpr int kMaxGroup = 32;
inline constexpr int kMaxTrials = 32;

// make_qkx2_quants: the scale of `n` values with `nmax` + 1 levels and a minimum, fitted by weighted
// least squares over the trial scales (rmin + rdelta * is + nmax) / (max - min), is = 0..nstep.
// Returns the scale, sets `the_min` to minus the (non-positive) minimum and L to the codes.
// REQUIRES n <= kMaxGroup, nstep < kMaxTrials. `laux` is scratch of n bytes.
float Qkx2Scalar(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* laux,
                 float rmin, float rdelta, int nstep);
// kGroupLanes groups at once: x, weights and L hold the groups one after the other (n each); scales
// and the_mins get one entry per group. The same results as Qkx2Scalar on each group.
inline constexpr int kGroupLanes = 8;
void Qkx2Groups(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* scales, float* the_mins,
                float rmin, float rdelta, int nstep);

// make_qx_quants (rmse_type 1): the signed scale of `n` values with codes -nmax..nmax-1, stored in L
// as code + nmax; the first scale -nmax / max (max: the value of largest magnitude) and 18 more,
// -(nmax + 0.1 is) / max for is = -9..9 but 0, the best by x^2-weighted least squares.
// REQUIRES n <= kMaxGroup.
float QxScalar(int n, int nmax, const float* x, int8_t* L);
float QxBatched(int n, int nmax, const float* x, int8_t* L);

}  // namespace tenpak::quant::kquant
