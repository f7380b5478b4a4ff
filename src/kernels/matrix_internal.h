// Private to src/kernels: what matvec.cpp and matmul.cpp share.
#pragma once

#include <cstddef>

#include "tenpak/kernels/kernels.h"

namespace tenpak::kernels {

// Aborts unless `w` is a matrix the kernels take: F32, F16 or BF16 (SupportsWeightDType), no
// negative dimension, data present when there is any. A violation is a bug of the caller (the
// engine checks dtypes and shapes when it loads a model), hence TP_CHECK and not a Status.
void CheckWeightView(const WeightView& w);

// How many rows (or columns) one ParallelFor unit takes when each of them brings
// `weights_per_unit` weights: enough that waking a thread for a chunk pays, rounded up to
// `multiple`.
size_t ChunkGrain(size_t weights_per_unit, size_t multiple);

// How many rows (MatMul) or columns (MatMulTransposed) of F16/BF16 weights are widened for one
// sgemm call, when each has `length` weights. Tests use it to pick shapes that end in a partial tile.
size_t TileLength(size_t length);

}  // namespace tenpak::kernels
