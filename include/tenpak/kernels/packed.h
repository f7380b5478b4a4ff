// Matrix products on quantized weights held as packed integer codes (the engine's in-memory form of
// every quantized layout: GPTQ, AWQ, bitsandbytes nf4/fp4/int8, GGUF Q8_0/Q4_0/Q4_1). Decode works
// on the packed codes directly, dequantizing in registers; prefill dequantizes row tiles to F32 and
// calls sgemm. Each kernel has a scalar reference that the tests compare the SIMD versions with.
//
// The value of weight (r, c), with g = c / group and i = r * (cols / group) + g, rounded once to F32:
//   affine (table == nullptr): fma(scales[i], code(r, c), offsets[i])   (offset 0 without offsets)
//   table:                     table[code(r, c)] * scales[i]
// and the product is y[r] = sum_c value(r, c) * x[column_order ? column_order[c] : c]. Every kernel
// multiplies exactly these values; they differ only in the order of the additions (tested).
// docs/kernels.md ("Packed weights") has the kernels, the dispatch and the measured speed.
//
// Thread safety: as kernels.h (any thread; calls sharing a pool are serialised by it). The pointers
// are only read, and must stay valid for the call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tenpak/core/thread_pool.h"

namespace tenpak::kernels {

struct PackedMatrix {
    int64_t rows = 0;
    int64_t cols = 0;    // a multiple of `group` and of 8 / bits
    int bits = 4;        // 2, 4 or 8 bits per code in memory (3-bit codes are held in 4 bits)
    int64_t group = 32;  // columns sharing a scale (and offset); a multiple of 32, or cols
    // Row r's codes start at byte r * cols * bits / 8; inside a byte the lower column is in the lower
    // bits (4-bit: column 2j in the low nibble of byte j, 2j+1 in the high nibble; 2-bit: column 4j
    // in bits 0-1 ...; 8-bit: one code per byte).
    const uint8_t* codes = nullptr;
    const float* scales = nullptr;   // rows * (cols / group)
    const float* offsets = nullptr;  // rows * (cols / group), or nullptr: 0 (always when `table` is set)
    const float* table = nullptr;    // 2^bits entries (nf4 / fp4 lookup), or nullptr for affine
    // Act-order: stored column c multiplies input x[column_order[c]] (cols entries, each in
    // [0, cols)), or nullptr. Groups are runs of stored columns.
    const int32_t* column_order = nullptr;

    size_t CodeBytes() const { return static_cast<size_t>(rows) * static_cast<size_t>(cols) * bits / 8; }
    // Bytes a decode step reads from memory: codes, scales and offsets (the table, x and the
    // column order are small and stay in cache).
    size_t StreamedBytes() const;
};

// Aborts (TP_CHECK) unless the fields agree with the comments above: a bug of the caller, which
// builds these from validated tensors. Empty matrices (rows or cols 0) need no data. Reads
// column_order (cols entries) to check its range; called by every function below.
void CheckPackedMatrix(const PackedMatrix& w);

// For all of these: x and y do not overlap each other or the matrix; y is overwritten, never read.
//
// Decode: y[r] = sum_c value(r, c) x'[c] for all rows (y has `rows` entries). Rows split over the
// pool; the result does not depend on the pool's size. Uses SelectedIsa()'s kernels (the best the
// CPU has, or TENPAK_KERNELS=ref|avx2|avx512).
void PackedMatVec(const PackedMatrix& w, const float* x, float* y, ThreadPool& pool);
// Prefill: Y[t, r] = sum_c value(r, c) X[t, c'] for T tokens (X is T x cols, Y is T x rows, row-major);
// dequantizes row tiles to F32 on the pool (DequantizeRows, into the same per-thread scratch tile
// as MatMul's) and multiplies them with sgemm (OpenBLAS threads: SetBlasThreads). tokens == 1 is
// PackedMatVec; with column_order, X is first gathered into a per-thread T x cols buffer.
void PackedMatMul(const PackedMatrix& w, const float* x, int64_t tokens, float* y, ThreadPool& pool);

// The scalar reference of both: one thread, plain loops, the formula above in F32 with one fma per
// term, left to right. Tests compare every ISA's PackedMatVec and PackedMatMul with it.
void PackedMatVecRef(const PackedMatrix& w, const float* x, float* y);
// Dequantizes rows [row_begin, row_end) into out ((row_end - row_begin) x cols, row-major); the
// reference that prefill tiles use.
void DequantizeRows(const PackedMatrix& w, int64_t row_begin, int64_t row_end, float* out);

}  // namespace tenpak::kernels
