// Decode-time products (one token): every weight is read once from memory, so these are bound by
// memory bandwidth, and the work is split so that each thread streams a contiguous part of the
// matrix through the selected table's inner kernels.
//
// MatVec gives each thread a block of whole rows and computes each output as one dot product of a
// row with x (x stays in L1: 16 KB for 4096 columns). MatVecTransposed (weights stored [in, out])
// cannot do that without reading columns, which are strided; instead each thread owns a range of
// output columns and adds x[r] * W[r, range] into it for r = 0 .. rows-1 with axpy, so it reads
// every row's segment contiguously and its outputs stay in L1/L2. Each output is then summed over
// r in order, whatever the thread count. The price: with several threads each reads alternate
// pieces of memory (its part of every row), which the hardware prefetchers stream at about half
// the speed of one contiguous block (docs/kernels.md has the measurements).
#include <algorithm>

#include "kernels/matrix_internal.h"
#include "tenpak/core/check.h"

namespace tenpak::kernels {
namespace {

// A thread's share must be worth the wake-up (a few microseconds through the pool's condition
// variable): 64 K weights is 128 KB of F16, about 4-8 us of DRAM streaming on one Zen 4 core.
// Smaller matrices (toy models, attention-sized products) run on the calling thread.
constexpr size_t kMinWeightsPerChunk = size_t{64} << 10;

// Row chunks are multiples of 16 rows and column chunks of 64 columns, so two threads never write
// the same 64-byte line of F32 output (and column chunks never split a line of one row's weights).
constexpr size_t kRowMultiple = 16;
constexpr size_t kColumnMultiple = 64;

template <typename W>
void DotRows(const W* w, size_t rows, size_t cols, float (*dot)(const W*, const float*, size_t), const float* x,
             float* y, ThreadPool& pool) {
    pool.ParallelFor(
        rows,
        [&](size_t begin, size_t end, size_t /*thread*/) {
            for (size_t r = begin; r < end; ++r) y[r] = dot(w + r * cols, x, cols);
        },
        ChunkGrain(cols, kRowMultiple));
}

template <typename W>
void AxpyColumns(const W* w, size_t rows, size_t cols, void (*axpy)(float, const W*, float*, size_t), const float* x,
                 float* y, ThreadPool& pool) {
    pool.ParallelFor(
        cols,
        [&](size_t begin, size_t end, size_t /*thread*/) {
            std::fill(y + begin, y + end, 0.0f);
            for (size_t r = 0; r < rows; ++r) axpy(x[r], w + r * cols + begin, y + begin, end - begin);
        },
        ChunkGrain(rows, kColumnMultiple));
}

}  // namespace

bool SupportsWeightDType(DType dtype) {
    return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

void CheckWeightView(const WeightView& w) {
    TP_CHECK(SupportsWeightDType(w.dtype));
    TP_CHECK(w.rows >= 0 && w.cols >= 0);
    TP_CHECK(w.data != nullptr || w.rows == 0 || w.cols == 0);
}

size_t ChunkGrain(size_t weights_per_unit, size_t multiple) {
    const size_t units = (kMinWeightsPerChunk + weights_per_unit - 1) / std::max<size_t>(weights_per_unit, 1);
    return std::max<size_t>((units + multiple - 1) / multiple, 1) * multiple;
}

void MatVec(const WeightView& w, const float* x, float* y, ThreadPool& pool) {
    CheckWeightView(w);
    const KernelTable& k = SelectedKernels();
    const auto rows = static_cast<size_t>(w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    switch (w.dtype) {
        case DType::kF32:
            return DotRows(static_cast<const float*>(w.data), rows, cols, k.dot_f32, x, y, pool);
        case DType::kF16:
            return DotRows(static_cast<const uint16_t*>(w.data), rows, cols, k.dot_f16, x, y, pool);
        case DType::kBF16:
            return DotRows(static_cast<const uint16_t*>(w.data), rows, cols, k.dot_bf16, x, y, pool);
        default:
            break;
    }
    TP_CHECK(false && "unreachable: CheckWeightView accepts F32, F16 and BF16 only");
}

void MatVecTransposed(const WeightView& w, const float* x, float* y, ThreadPool& pool) {
    CheckWeightView(w);
    const KernelTable& k = SelectedKernels();
    const auto rows = static_cast<size_t>(w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    switch (w.dtype) {
        case DType::kF32:
            return AxpyColumns(static_cast<const float*>(w.data), rows, cols, k.axpy_f32, x, y, pool);
        case DType::kF16:
            return AxpyColumns(static_cast<const uint16_t*>(w.data), rows, cols, k.axpy_f16, x, y, pool);
        case DType::kBF16:
            return AxpyColumns(static_cast<const uint16_t*>(w.data), rows, cols, k.axpy_bf16, x, y, pool);
        default:
            break;
    }
    TP_CHECK(false && "unreachable: CheckWeightView accepts F32, F16 and BF16 only");
}

}  // namespace tenpak::kernels
