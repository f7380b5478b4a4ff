// Private to src/kernels: what matvec.cpp, matmul.cpp and packed.cpp share.
#pragma once

#include <cstddef>
#include <functional>

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

// Writes rows [row_begin, row_end) of a weight matrix as F32 at dst (row-major, `cols` per row).
using RowTileFill = std::function<void(size_t row_begin, size_t row_end, float* dst)>;

// Y = X W^T (Y is tokens x rows, X tokens x cols, row-major) for weights sgemm cannot read as they
// are (F16, BF16, packed codes): TileLength(cols) rows at a time are filled into a per-thread
// scratch buffer, spread over the pool, and multiplied by one sgemm into their block of Y's
// columns. Each output sums all of K in one sgemm call, as an sgemm over the whole matrix would.
// REQUIRES rows, cols, tokens >= 1.
void SgemmRowTiles(size_t rows, size_t cols, const float* x, size_t tokens, float* y, const RowTileFill& fill,
                   ThreadPool& pool);

}  // namespace tenpak::kernels
