// Private to src/kernels: the per-ISA decode kernels of packed weights (tenpak/kernels/packed.h) and
// the walk over rows, groups and blocks they share.
//
// A kernel dequantizes in registers: each weight's value is computed exactly as the reference does
// (fma(scale, code, offset), or table[code] * scale), then multiplied with x' and added to vector
// partial sums. So every table multiplies the same F32 values as the reference, and differs from it
// only in the order of the additions. For 2- and 4-bit codes the value is one lookup: at the start
// of each group the kernel scales the 16-entry lookup (fma(scale, T, offset) or T * scale, 16 lanes
// at once, one instruction), and a vpermps then turns 16 codes into 16 values.
//
// x' (x gathered through column_order) is stored once per call in the order each kernel unpacks the
// codes of a block (PackedRowKernel::order), so the SIMD kernels never shuffle unpacked codes back
// into column order.
//
// A block is 32 columns (8, 16 or 32 bytes of codes), the smallest unit every layout's group is a
// multiple of. A group that is not a whole number of blocks is the whole row (group == cols, which
// need not be a multiple of 32); its last block is copied into a zero-padded buffer, and x' is
// padded with zeros to whole blocks, so the padding adds value(0) * 0 = 0 (for finite parameters).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tenpak/core/cpu_features.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/kernels/packed.h"

namespace tenpak::kernels {

inline constexpr size_t kPackedBlock = 32;  // columns per block
// Columns of a wide block (64 bytes of 4-bit codes in one load), and the period of x' orders.
inline constexpr size_t kPackedWideBlock = 128;
// Entries of the lookup a kernel gets: 16 for 2- and 4-bit codes (a 2-bit table repeated every 4
// entries, so that the bits of the next code above a 2-bit code do not change the value), 256 for
// 8-bit codes. For affine codes the lookup is the identity (lut[q] = q, repeated likewise).
inline constexpr size_t kLut16 = 16;
inline constexpr size_t kLut256 = 256;

// What a kernel reads for a range of rows of one matrix.
struct PackedRows {
    const uint8_t* codes = nullptr;  // row r starts at codes + r * row_bytes (any alignment)
    size_t row_bytes = 0;
    const float* scales = nullptr;   // row r's at scales + r * groups
    const float* offsets = nullptr;  // likewise, or nullptr (affine with offset 0, or a table)
    size_t cols = 0;
    size_t group = 0;
    size_t groups = 0;          // cols / group
    const float* xa = nullptr;  // x' in the kernel's block order, zero-padded to whole blocks
    const float* lut = nullptr;
};

// y[r] = sum_c value(r, c) x'[c] for r in [row_begin, row_end).
using PackedRowsFn = void (*)(const PackedRows& m, size_t row_begin, size_t row_end, float* y);

using PackedOrder = std::array<uint8_t, kPackedWideBlock>;

struct PackedRowKernel {
    PackedRowsFn rows = nullptr;
    // Slot j of every 128 columns of xa holds x' of column `order[j]` of those 128.
    PackedOrder order{};
};

// One table per ISA, indexed [BitsIndex(bits)][table ? 1 : 0]. `wide` serves groups that are whole
// wide blocks (group % 128 == 0: GPTQ/AWQ's 128, per-row groups of most models); where an ISA has
// no wide decoder for a format, its entry is the same as in `kernels`. `wide64` serves the other
// groups that are whole 64-column blocks (bitsandbytes' 64) where its entry has `rows` (else
// `kernels` does).
struct PackedKernelTable {
    Isa isa;
    PackedRowKernel kernels[3][2];
    PackedRowKernel wide[3][2];
    PackedRowKernel wide64[3][2];
};

// The entry of `kernels` that serves a matrix of `bits`-bit codes in groups of `group` columns.
const PackedRowKernel& PackedKernelFor(const PackedKernelTable& kernels, int bits, bool table, size_t group);

constexpr size_t BitsIndex(int bits) {
    return bits == 2 ? 0 : bits == 4 ? 1 : 2;
}

extern const PackedKernelTable kPackedKernelsRef;
extern const PackedKernelTable kPackedKernelsAvx2;
extern const PackedKernelTable kPackedKernelsAvx512;

// REQUIRES IsaSupported(isa).
const PackedKernelTable& PackedKernelsFor(Isa isa);
// The table of SelectedIsa(): the best the CPU has, or TENPAK_KERNELS.
const PackedKernelTable& SelectedPackedKernels();

// PackedMatVec with a given table (the tests run every table the CPU supports).
void PackedMatVecWith(const PackedKernelTable& kernels, const PackedMatrix& w, const float* x, float* y,
                      ThreadPool& pool);

// The order of a 32-column block repeated over the 128 columns of a PackedOrder.
consteval PackedOrder TiledOrder(const std::array<uint8_t, kPackedBlock>& block_order) {
    PackedOrder order{};
    for (size_t j = 0; j < kPackedWideBlock; ++j) {
        order[j] = static_cast<uint8_t>(j / kPackedBlock * kPackedBlock + block_order[j % kPackedBlock]);
    }
    return order;
}

// The identity order (the reference's and the 8-bit kernels').
consteval PackedOrder IdentityOrder() {
    PackedOrder order{};
    for (size_t j = 0; j < kPackedWideBlock; ++j) order[j] = static_cast<uint8_t>(j);
    return order;
}

// The walk every table shares (a PackedRowsFn); only the decode of one block is per ISA. `K` is a
// decoder for one code format, built once per call of the function from the lookup:
//   K::kBits; K::kBlockCols (32, or 128 for a wide decoder, which serves only groups that are whole
//   wide blocks); K::Acc (vector partial sums of one block); K::Vec (a vector)
//   void SetGroup(float scale, float offset)  the parameters of the blocks that follow
//   Acc Zero(); void Accumulate(const uint8_t* block_codes, const float* block_xa, Acc&)
//   Vec Collapse(const Acc&); Vec Add(Vec, Vec); float Sum(Vec)
// Blocks alternate between two sets of partial sums (within a group, or between consecutive
// groups of one block: GGUF's 32 columns), so that consecutive blocks' fmas do not wait on each
// other. The order of every addition depends only on cols and group: never on the thread count or
// the alignment of the data.
// Instantiate it only with decoders of an unnamed namespace: each ISA's file compiles its copy
// with its own flags, and a shared instantiation could let the linker keep the AVX-512 one.
template <typename K>
float PackedRowDot(K& k, const PackedRows& m, size_t r) {
    constexpr size_t kBlock = K::kBlockCols;
    constexpr size_t kBlockBytes = kBlock * K::kBits / 8;
    const uint8_t* codes = m.codes + r * m.row_bytes;
    const float* scales = m.scales + r * m.groups;
    const float* offsets = m.offsets != nullptr ? m.offsets + r * m.groups : nullptr;
    auto set_group = [&](size_t g) { k.SetGroup(scales[g], offsets != nullptr ? offsets[g] : 0.0f); };
    typename K::Acc acc0 = k.Zero();
    typename K::Acc acc1 = k.Zero();
    if (m.group == kBlock) {
        size_t g = 0;
        for (; g + 2 <= m.groups; g += 2) {
            set_group(g);
            k.Accumulate(codes + g * kBlockBytes, m.xa + g * kBlock, acc0);
            set_group(g + 1);
            k.Accumulate(codes + (g + 1) * kBlockBytes, m.xa + (g + 1) * kBlock, acc1);
        }
        if (g < m.groups) {
            set_group(g);
            k.Accumulate(codes + g * kBlockBytes, m.xa + g * kBlock, acc0);
        }
    } else {
        // Whole blocks of each group in pairs; a group that is the whole row may end in a partial
        // block (then there is one group, and `whole` counts its whole blocks).
        const size_t whole = m.group / kBlock;
        for (size_t g = 0; g < m.groups; ++g) {
            set_group(g);
            const uint8_t* group_codes = codes + g * whole * kBlockBytes;
            const float* group_xa = m.xa + g * m.group;
            size_t b = 0;
            for (; b + 2 <= whole; b += 2) {
                k.Accumulate(group_codes + b * kBlockBytes, group_xa + b * kBlock, acc0);
                k.Accumulate(group_codes + (b + 1) * kBlockBytes, group_xa + (b + 1) * kBlock, acc1);
            }
            if (b < whole) k.Accumulate(group_codes + b * kBlockBytes, group_xa + b * kBlock, acc0);
        }
        const size_t tail_cols = m.group % kBlock;
        if (tail_cols != 0) {
            uint8_t tail[kBlockBytes] = {};
            std::memcpy(tail, codes + whole * kBlockBytes, tail_cols * K::kBits / 8);
            k.Accumulate(tail, m.xa + whole * kBlock, acc1);
        }
    }
    return k.Sum(k.Add(k.Collapse(acc0), k.Collapse(acc1)));
}

template <typename K>
void PackedRowsOf(const PackedRows& m, size_t row_begin, size_t row_end, float* y) {
    K k(m.lut);
    for (size_t r = row_begin; r < row_end; ++r) y[r] = PackedRowDot(k, m, r);
}

// The walk of the AVX-512 table's wide 4-bit and 8-bit kernels (its 32-column 2- and 4-bit ones
// use PackedRowsOf: x86/packed_avx512.cpp says why): K::kRows rows at a time. Each load of x' serves all of them
// (x' is 8 times the bytes of 4-bit codes) and the rows give the fmas independent chains: in
// cache that gained 10 % for 8-bit codes and nothing for 4-bit ones (bound by the lookups, shifts
// and fmas). What it is for is the prefetch below, which fetches the next set of rows.
// `K` decodes one block of kRows rows (any kRows from 1 to K::kRows):
//   K::kBits; K::kBlockCols (32, or 128 for a wide decoder, which serves only groups that are whole
//   wide blocks); K::kRows; K::Group (a row's scaled parameters); K::Acc (a row's partial sums)
//   Group SetGroup(float scale, float offset); Acc Zero(); float Sum(const Acc&)
//   template <size_t kRows> void Accumulate(const uint8_t* const* codes, size_t at, const float* xa,
//                                           const Group* groups, Acc* acc)
//     (row i's block starts at codes[i] + at).
// Every row has its own partial sums, and the order of its additions depends only on cols and
// group (not on kRows, the thread count or the alignment): the rows that do not fill a set of
// kRows at the end of a range are decoded one at a time with the same result. `prefetch_next`:
// the next kRows rows belong to the same range.
//
// Software prefetch: while the walk decodes a set of rows, it asks for the same columns of the
// next set's rows (kRows * row_bytes ahead: 8 KiB for 4096 4-bit columns and 4 rows), one
// prefetch per 64-byte line, into L2 (the "T1" hint). The hardware prefetchers alone did not keep
// up with 4-bit decode: from DRAM the kernels reached only 0.6 - 0.75 of their in-cache speed
// (ratio to a streaming read 0.5 - 0.6; with this, 0.7 - 0.85: docs/kernels.md). Into L1 (T0),
// twice as far ahead, or 512 bytes further measured no better; 1 - 4 KiB ahead within one row had
// not helped either.
inline constexpr size_t kPrefetchLine = 64;
inline constexpr int kPrefetchLocalityL2 = 2;  // __builtin_prefetch's locality 2: prefetcht1

template <typename K, size_t kRows>
void PackedRowSetDot(const K& k, const PackedRows& m, size_t r0, bool prefetch_next, float* y) {
    constexpr size_t kBlock = K::kBlockCols;
    constexpr size_t kBlockBytes = kBlock * K::kBits / 8;
    const uint8_t* codes[kRows];
    const float* scales[kRows];
    const float* offsets[kRows];
    typename K::Acc acc[kRows];
    typename K::Group groups[kRows];
    for (size_t i = 0; i < kRows; ++i) {
        codes[i] = m.codes + (r0 + i) * m.row_bytes;
        scales[i] = m.scales + (r0 + i) * m.groups;
        offsets[i] = m.offsets != nullptr ? m.offsets + (r0 + i) * m.groups : nullptr;
        acc[i] = k.Zero();
    }
    // Whole blocks of each group; a group that is the whole row may end in a partial block (then
    // there is one group).
    const size_t whole = m.group / kBlock;
    for (size_t g = 0; g < m.groups; ++g) {
        for (size_t i = 0; i < kRows; ++i) {
            groups[i] = k.SetGroup(scales[i][g], offsets[i] != nullptr ? offsets[i][g] : 0.0f);
        }
        for (size_t b = g * whole; b < (g + 1) * whole; ++b) {
            if (prefetch_next && (b * kBlockBytes) % kPrefetchLine == 0) {
                for (size_t i = 0; i < kRows; ++i) {
                    __builtin_prefetch(codes[i] + kRows * m.row_bytes + b * kBlockBytes, 0, kPrefetchLocalityL2);
                }
            }
            k.template Accumulate<kRows>(codes, b * kBlockBytes, m.xa + b * kBlock, groups, acc);
        }
    }
    const size_t tail_cols = m.group % kBlock;
    if (tail_cols != 0) {
        uint8_t tail[kRows][kBlockBytes] = {};
        const uint8_t* tails[kRows];
        for (size_t i = 0; i < kRows; ++i) {
            std::memcpy(tail[i], codes[i] + whole * kBlockBytes, tail_cols * K::kBits / 8);
            tails[i] = tail[i];
        }
        k.template Accumulate<kRows>(tails, 0, m.xa + whole * kBlock, groups, acc);
    }
    for (size_t i = 0; i < kRows; ++i) y[r0 + i] = k.Sum(acc[i]);
}

template <typename K>
void PackedRowSetsOf(const PackedRows& m, size_t row_begin, size_t row_end, float* y) {
    const K k(m.lut);
    size_t r = row_begin;
    for (; r + K::kRows <= row_end; r += K::kRows) {
        PackedRowSetDot<K, K::kRows>(k, m, r, r + 2 * K::kRows <= row_end, y);
    }
    for (; r < row_end; ++r) PackedRowSetDot<K, 1>(k, m, r, false, y);
}

}  // namespace tenpak::kernels
