// Prefill-time products (many tokens at once) through OpenBLAS's sgemm.
//
// With T tokens every weight is used T times, so the product is bound by arithmetic, not memory,
// and sgemm's cache blocking does far better than T dot products per row. F32 weights go to sgemm
// as they are. sgemm takes only F32, so F16 and BF16 weights are widened a tile at a time into a
// per-thread scratch buffer (never the whole matrix: that would be an F32 copy of the model), and
// each tile is one sgemm writing its own block of output columns (ldc = the full output width).
// That row-tile loop (SgemmRowTiles) is shared with packed.cpp, whose tiles are dequantized codes.
//
// The tile trades two costs. Each sgemm call repacks X (T x K floats: 8 MiB for 512 tokens of
// 4096), so tiles should be wide; the widened tile should stay in the cache for sgemm to read back,
// so they should be small. On the Zen 4 VM this was tuned on (bench/kernels/matvec_bench.cpp,
// docs/kernels.md), tiles of 2, 4, 8 and 16 MiB all gave 0.84 - 1.05 of plain sgemm's FLOP/s, the
// differences lost in the noise of a shared machine; 8 MiB (512 rows of 4096) repacks X least
// while a tile still fits a quarter of the 32 MiB L3. Widening is spread over the pool; sgemm uses
// OpenBLAS's own threads (SetBlasThreads).
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "kernels/matrix_internal.h"
#include "tenpak/core/check.h"
#include "tenpak/core/half.h"

namespace tenpak::kernels {
namespace {

// Bytes of F32 per widened tile, and the bounds on its length in rows (columns for MatMulTransposed).
constexpr size_t kTileBytes = size_t{8} << 20;
constexpr size_t kMinTile = 16;
// Tiles are multiples of 16 rows: whole register blocks for OpenBLAS's x86 sgemm kernels, and
// each tile's first output column 64-byte aligned relative to y.
constexpr size_t kTileMultiple = 16;

// Reused across calls on the same thread: the engine calls MatMul for every layer of every prompt.
float* Scratch(size_t floats) {
    thread_local std::vector<float> scratch;
    if (scratch.size() < floats) scratch.resize(floats);
    return scratch.data();
}

using WidenFn = void (*)(const uint16_t* src, float* dst, size_t n);

WidenFn WidenerFor(DType dtype) {
    const HalfKernels& half = SelectedHalfKernels();
    return dtype == DType::kF16 ? half.f16_to_f32 : half.bf16_to_f32;
}

// dst[r * dst_stride + j] = widen(src[r * src_stride + j]) for r < count, j < length. Row by row:
// a row is far below kHalfStreamMinBytes, so the converters use ordinary stores and the tile stays
// in the cache for sgemm.
void WidenTile(WidenFn widen, const uint16_t* src, size_t src_stride, float* dst, size_t dst_stride, size_t count,
               size_t length, ThreadPool& pool) {
    pool.ParallelFor(
        count,
        [&](size_t begin, size_t end, size_t /*thread*/) {
            for (size_t r = begin; r < end; ++r) widen(src + r * src_stride, dst + r * dst_stride, length);
        },
        ChunkGrain(length, 1));
}

int BlasInt(size_t v) {
    // OpenBLAS's Debian build takes 32-bit sizes; no model has a dimension anywhere near 2^31.
    TP_CHECK(v <= static_cast<size_t>(INT_MAX));
    return static_cast<int>(v);
}

}  // namespace

void SgemmRowTiles(size_t rows, size_t cols, const float* x, size_t tokens, float* y, const RowTileFill& fill,
                   ThreadPool& pool) {
    const size_t tile = std::min(rows, TileLength(cols));
    float* scratch = Scratch(tile * cols);
    for (size_t r0 = 0; r0 < rows; r0 += tile) {
        const size_t count = std::min(tile, rows - r0);
        // Chunks of whole rows: a row is far below kHalfStreamMinBytes, so the F16/BF16 converters
        // use ordinary stores (as the dequantizer does) and the tile stays in the cache for sgemm.
        pool.ParallelFor(
            count,
            [&](size_t begin, size_t end, size_t /*thread*/) { fill(r0 + begin, r0 + end, scratch + begin * cols); },
            ChunkGrain(cols, 1));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BlasInt(tokens), BlasInt(count), BlasInt(cols), 1.0f, x,
                    BlasInt(cols), scratch, BlasInt(cols), 0.0f, y + r0, BlasInt(rows));
    }
}

size_t TileLength(size_t length) {
    const size_t fit = kTileBytes / (sizeof(float) * std::max<size_t>(length, 1));
    return std::max(kMinTile, fit / kTileMultiple * kTileMultiple);
}

void MatMul(const WeightView& w, const float* x, int64_t tokens, float* y, ThreadPool& pool) {
    CheckWeightView(w);
    TP_CHECK(tokens >= 0);
    if (tokens == 0 || w.rows == 0) return;
    if (tokens == 1) return MatVec(w, x, y, pool);
    const auto t = static_cast<size_t>(tokens);
    const auto rows = static_cast<size_t>(w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    if (cols == 0) {
        // sgemm rejects K = 0 with lda = 0; the sum over no columns is 0.
        std::fill(y, y + t * rows, 0.0f);
        return;
    }
    if (w.dtype == DType::kF32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BlasInt(t), BlasInt(rows), BlasInt(cols), 1.0f, x,
                    BlasInt(cols), static_cast<const float*>(w.data), BlasInt(cols), 0.0f, y, BlasInt(rows));
        return;
    }
    const auto* src = static_cast<const uint16_t*>(w.data);
    const WidenFn widen = WidenerFor(w.dtype);
    SgemmRowTiles(
        rows, cols, x, t, y,
        [&](size_t row_begin, size_t row_end, float* dst) {
            for (size_t r = row_begin; r < row_end; ++r) widen(src + r * cols, dst + (r - row_begin) * cols, cols);
        },
        pool);
}

void MatMulTransposed(const WeightView& w, const float* x, int64_t tokens, float* y, ThreadPool& pool) {
    CheckWeightView(w);
    TP_CHECK(tokens >= 0);
    if (tokens == 0 || w.cols == 0) return;
    if (tokens == 1) return MatVecTransposed(w, x, y, pool);
    const auto t = static_cast<size_t>(tokens);
    const auto rows = static_cast<size_t>(w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    if (rows == 0) {
        std::fill(y, y + t * cols, 0.0f);
        return;
    }
    if (w.dtype == DType::kF32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BlasInt(t), BlasInt(cols), BlasInt(rows), 1.0f, x,
                    BlasInt(rows), static_cast<const float*>(w.data), BlasInt(cols), 0.0f, y, BlasInt(cols));
        return;
    }
    // Tiles of columns: W[:, c0 .. c0+count) widened into a rows x count block.
    const auto* src = static_cast<const uint16_t*>(w.data);
    const WidenFn widen = WidenerFor(w.dtype);
    const size_t tile = std::min(cols, TileLength(rows));
    float* scratch = Scratch(rows * tile);
    for (size_t c0 = 0; c0 < cols; c0 += tile) {
        const size_t count = std::min(tile, cols - c0);
        WidenTile(widen, src + c0, cols, scratch, count, rows, count, pool);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BlasInt(t), BlasInt(count), BlasInt(rows), 1.0f, x,
                    BlasInt(rows), scratch, BlasInt(count), 0.0f, y + c0, BlasInt(cols));
    }
}

void SetBlasThreads(int threads) {
    openblas_set_num_threads(std::max(threads, 1));
}

}  // namespace tenpak::kernels
