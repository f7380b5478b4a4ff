// The encoders behind ApproxEncoders(), one file each.
#pragma once

#include <memory>

#include "approx_encoder.h"

namespace tenpak::delta {

// "sign": one bit per weight (the sign of D) times one scale per row, the mean |D| of the row
// (BitDelta's idea; the mean magnitude is the scale that minimises the row's squared error).
std::unique_ptr<ApproxEncoder> MakeSignEncoder();
// "lowrank": D ~ A B with A rows x r and B r x cols in F16, from a randomised SVD (a Gaussian sketch, one
// power iteration, QR, then the SVD of the small projected matrix); r (at most 128) is the smallest
// rank whose discarded singular values leave the error within the bound, so a merged LoRA's exact
// rank shows.
std::unique_ptr<ApproxEncoder> MakeLowRankEncoder();
// "int4" / "int8": symmetric round-to-nearest codes in groups of 128 columns (one group per row when
// 128 does not divide the columns), the project's rtn quantizer applied to D.
std::unique_ptr<ApproxEncoder> MakeQuantizedEncoder(int bits);
// "sparse": the largest-magnitude entries, as few as keep the error within the bound: gaps between
// flat indices (u32), then the values (F32).
std::unique_ptr<ApproxEncoder> MakeSparseEncoder();

// How far the searches of growing encodings (rank, entry count) go: one byte per weight, half the
// exact difference of a 16-bit tensor before compression, beyond which an approximation rarely pays
// for its error.
inline uint64_t WorthwhileBytes(int64_t rows, int64_t cols) {
    return static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols);
}

}  // namespace tenpak::delta
