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
// no wide decoder for a format, its entry is the same as in `kernels`.
struct PackedKernelTable {
    Isa isa;
    PackedRowKernel kernels[3][2];
    PackedRowKernel wide[3][2];
};

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

}  // namespace tenpak::kernels
