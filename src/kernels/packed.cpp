// Products on packed quantized weights: the checks, the per-call preparation of x, the row split for
// decode and the dequantized tiles for prefill. The per-ISA work is the decode of rows
// (packed_internal.h, x86/packed_avx*.cpp, ref/packed_ref.cpp).
//
// Decode reads 4.5 bits per weight (int4 g128 with F32 scale and offset; 4.25 without offsets)
// instead of F16's 16, so it is bound by memory only if the decode keeps up: a Zen 4 core streams
// about 17 GB/s from DRAM, i.e. 30 G int4 weights/s, 8 per cycle, each to be unpacked, looked up
// and multiplied. Hence the per-call work that takes load off the inner loop: x is gathered through
// column_order once and laid out in each kernel's block order (the kernels never shuffle unpacked
// codes), and the lookup of code values is built once (then scaled once per group by the kernel).
//
// Prefill dequantizes TileLength(cols) rows at a time with the scalar reference (DequantizeRows)
// into the scratch tile of SgemmRowTiles and multiplies with sgemm: the values are exactly those the
// reference multiplies, and sgemm's T uses of each weight dwarf the dequantization.
#include <algorithm>
#include <vector>

#include "kernels/matrix_internal.h"
#include "kernels/packed_internal.h"
#include "tenpak/core/check.h"

namespace tenpak::kernels {
namespace {

// Chunks of 16 rows: two threads never write the same 64-byte line of y (as in matvec.cpp).
constexpr size_t kRowMultiple = 16;

// What every row of one decode call reads besides its own codes and scales. Kept per calling
// thread for its next call (the engine calls decode for every layer of every token); pool workers
// only read it while the caller waits in ParallelFor.
struct DecodeInputs {
    std::vector<float> gathered;  // x through column_order
    std::vector<float> xa;        // x' in the kernel's block order, zero-padded to whole blocks
    float lut[kLut256] = {};
};

DecodeInputs& PrepareDecodeInputs(const PackedMatrix& w, const float* x, const PackedRowKernel& kernel) {
    thread_local DecodeInputs in;
    const auto cols = static_cast<size_t>(w.cols);
    const float* xg = x;
    if (w.column_order != nullptr) {
        in.gathered.resize(cols);
        for (size_t c = 0; c < cols; ++c) in.gathered[c] = x[static_cast<size_t>(w.column_order[c])];
        xg = in.gathered.data();
    }
    // Whole 128-column pieces in the kernel's order, then the rest (fewer than 128 columns, where
    // order[j] may point past the last column: zeros).
    const size_t whole = cols / kPackedWideBlock * kPackedWideBlock;
    const size_t padded = whole < cols ? whole + kPackedWideBlock : whole;
    in.xa.resize(padded);
    float* xa = in.xa.data();
    for (size_t b = 0; b < whole; b += kPackedWideBlock) {
        for (size_t j = 0; j < kPackedWideBlock; ++j) xa[b + j] = xg[b + kernel.order[j]];
    }
    for (size_t j = 0; whole + j < padded; ++j) {
        const size_t c = whole + kernel.order[j];
        xa[whole + j] = c < cols ? xg[c] : 0.0f;
    }
    // 2-bit lookups repeat every 4 entries: the kernels may index with the next code's bits above.
    const size_t mask = (size_t{1} << w.bits) - 1;
    const size_t entries = w.bits == 8 ? kLut256 : kLut16;
    for (size_t i = 0; i < entries; ++i) {
        in.lut[i] = w.table != nullptr ? w.table[i & mask] : static_cast<float>(i & mask);
    }
    return in;
}

}  // namespace

size_t PackedMatrix::StreamedBytes() const {
    const size_t params = group > 0 ? static_cast<size_t>(rows) * static_cast<size_t>(cols / group) : 0;
    return CodeBytes() + params * sizeof(float) * (offsets != nullptr ? 2 : 1);
}

void CheckPackedMatrix(const PackedMatrix& w) {
    TP_CHECK(w.rows >= 0 && w.cols >= 0);
    TP_CHECK(w.bits == 2 || w.bits == 4 || w.bits == 8);
    if (w.rows == 0 || w.cols == 0) return;
    TP_CHECK(w.cols % (8 / w.bits) == 0);
    TP_CHECK(w.group > 0 && w.cols % w.group == 0);
    TP_CHECK(w.group % static_cast<int64_t>(kPackedBlock) == 0 || w.group == w.cols);
    TP_CHECK(w.codes != nullptr && w.scales != nullptr);
    TP_CHECK(w.table == nullptr || w.offsets == nullptr);
    if (w.column_order != nullptr) {
        // A wrong index would read outside x: cheap to check next to the product (cols entries).
        for (int64_t c = 0; c < w.cols; ++c) TP_CHECK(w.column_order[c] >= 0 && w.column_order[c] < w.cols);
    }
}

const PackedRowKernel& PackedKernelFor(const PackedKernelTable& kernels, int bits, bool table, size_t group) {
    const size_t bits_index = BitsIndex(bits);
    const size_t table_index = table ? 1 : 0;
    if (group % kPackedWideBlock == 0) return kernels.wide[bits_index][table_index];
    const PackedRowKernel& wide64 = kernels.wide64[bits_index][table_index];
    if (group % (kPackedWideBlock / 2) == 0 && wide64.rows != nullptr) return wide64;
    return kernels.kernels[bits_index][table_index];
}

void PackedMatVecWith(const PackedKernelTable& kernels, const PackedMatrix& w, const float* x, float* y,
                      ThreadPool& pool) {
    CheckPackedMatrix(w);
    if (w.rows == 0) return;
    const auto rows = static_cast<size_t>(w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    if (cols == 0) {
        std::fill(y, y + rows, 0.0f);
        return;
    }
    const PackedRowKernel& kernel = PackedKernelFor(kernels, w.bits, w.table != nullptr, static_cast<size_t>(w.group));
    const DecodeInputs& in = PrepareDecodeInputs(w, x, kernel);
    PackedRows m;
    m.codes = w.codes;
    m.row_bytes = cols * static_cast<size_t>(w.bits) / 8;
    m.scales = w.scales;
    m.offsets = w.offsets;
    m.cols = cols;
    m.group = static_cast<size_t>(w.group);
    m.groups = cols / m.group;
    m.xa = in.xa.data();
    m.lut = in.lut;
    pool.ParallelFor(
        rows, [&](size_t begin, size_t end, size_t /*thread*/) { kernel.rows(m, begin, end, y); },
        ChunkGrain(cols, kRowMultiple));
}

void PackedMatVec(const PackedMatrix& w, const float* x, float* y, ThreadPool& pool) {
    PackedMatVecWith(SelectedPackedKernels(), w, x, y, pool);
}

void PackedMatMul(const PackedMatrix& w, const float* x, int64_t tokens, float* y, ThreadPool& pool) {
    CheckPackedMatrix(w);
    TP_CHECK(tokens >= 0);
    if (tokens == 0 || w.rows == 0) return;
    if (tokens == 1) return PackedMatVec(w, x, y, pool);
    const auto t = static_cast<size_t>(tokens);
    const auto rows = static_cast<size_t>(w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    if (cols == 0) {
        std::fill(y, y + t * rows, 0.0f);
        return;
    }
    // sgemm reads X in stored-column order: gather it once (T x cols) rather than scatter every tile.
    const float* xs = x;
    if (w.column_order != nullptr) {
        // Kept for the thread's next call, and named through a pointer: inside the pool's workers
        // the name `gathered` would be their own (empty) thread_local.
        thread_local std::vector<float> gathered;
        gathered.resize(t * cols);
        float* dst = gathered.data();
        pool.ParallelFor(t, [&](size_t begin, size_t end, size_t /*thread*/) {
            for (size_t i = begin; i < end; ++i) {
                for (size_t c = 0; c < cols; ++c)
                    dst[i * cols + c] = x[i * cols + static_cast<size_t>(w.column_order[c])];
            }
        });
        xs = dst;
    }
    SgemmRowTiles(
        rows, cols, xs, t, y,
        [&](size_t row_begin, size_t row_end, float* dst) {
            DequantizeRows(w, static_cast<int64_t>(row_begin), static_cast<int64_t>(row_end), dst);
        },
        pool);
}

}  // namespace tenpak::kernels
