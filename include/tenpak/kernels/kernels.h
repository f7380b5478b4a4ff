// Matrix kernels of the inference engine, per weight format, each with a scalar reference and SIMD
// versions chosen once at run time (STYLE.md section 6; TENPAK_KERNELS=ref|avx2|avx512 forces one).
//
// Weights are read where they are stored (an mmap'd file): F16 and BF16 rows are widened in
// registers, never copied into an F32 model. Activations and accumulators are F32.
// docs/kernels.md describes the tables, the dispatch, the tiling and the measured speed.
//
// Thread safety: every function here may be called from several threads at once, but a ThreadPool
// runs one ParallelFor at a time, so calls sharing a pool are serialised.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tenpak/core/cpu_features.h"
#include "tenpak/core/dtype.h"
#include "tenpak/core/thread_pool.h"

namespace tenpak::kernels {

// The innermost loops of one ISA. n may be any length (tails handled); no alignment required.
// The reference table (src/kernels/ref/vec_ref.cpp) is the spec: every product is added with one
// rounding (fma), left to right. axpy is bit-identical in every table; the vector dots sum in
// several partial sums, so they differ from the reference by rounding only (tested), and their
// result depends on n alone, never on alignment. NaN and Inf propagate as IEEE arithmetic says.
struct KernelTable {
    Isa isa;
    // sum_j w[j] * x[j]
    float (*dot_f32)(const float* w, const float* x, size_t n);
    float (*dot_f16)(const uint16_t* w, const float* x, size_t n);
    float (*dot_bf16)(const uint16_t* w, const float* x, size_t n);
    // y[j] += a * w[j]
    void (*axpy_f32)(float a, const float* w, float* y, size_t n);
    void (*axpy_f16)(float a, const uint16_t* w, float* y, size_t n);
    void (*axpy_bf16)(float a, const uint16_t* w, float* y, size_t n);
    // x[j] = exp(x[j] - max) / sum_k exp(x[k] - max), in place; n >= 1. The vector tables compute
    // exp with a polynomial (within 2 ulp of std::exp); the reference uses std::exp.
    void (*softmax_f32)(float* x, size_t n);
};

const KernelTable& KernelsFor(Isa isa);  // REQUIRES IsaSupported(isa)
const KernelTable& SelectedKernels();

// A stored weight matrix: `rows` x `cols`, row-major, F32, F16 or BF16, dense (row stride = cols).
// `data` may have any alignment (tensor data at any offset of a file).
struct WeightView {
    DType dtype = DType::kF32;
    const void* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
};

// Whether the matrix functions below take weights of this dtype (F32, F16, BF16). They abort
// (TP_CHECK) on any other: callers check when they load a model.
bool SupportsWeightDType(DType dtype);

// For all four: REQUIRES SupportsWeightDType(w.dtype); x and y do not overlap each other or the
// weights. y is overwritten, never read.
//
// Decode (one token): y[r] = sum_c W[r, c] x[c]; y has `rows` entries. Rows are split across the pool.
void MatVec(const WeightView& w, const float* x, float* y, ThreadPool& pool);
// For weights stored [in, out] (GPT-2 Conv1D): y[c] = sum_r x[r] W[r, c]; y has `cols` entries.
void MatVecTransposed(const WeightView& w, const float* x, float* y, ThreadPool& pool);

// Prefill (T tokens at once): Y[t, r] = sum_c W[r, c] X[t, c], X is T x cols, Y is T x rows, both
// row-major. OpenBLAS sgemm; F16/BF16 weights are widened tile by tile into a per-thread scratch
// buffer (8 MiB, or 16 rows when rows are longer than 128 K; kept for the thread's next call).
// tokens == 1 is MatVec.
void MatMul(const WeightView& w, const float* x, int64_t tokens, float* y, ThreadPool& pool);
// The same for [in, out] weights: Y[t, c] = sum_r X[t, r] W[r, c]; X is T x rows, Y is T x cols.
void MatMulTransposed(const WeightView& w, const float* x, int64_t tokens, float* y, ThreadPool& pool);

// Sets the thread count OpenBLAS uses for sgemm (call once, before the first MatMul). It is
// process-wide; the pool passed to MatMul only widens F16/BF16 tiles.
void SetBlasThreads(int threads);

}  // namespace tenpak::kernels
