// Scalar reference dequantization to F32. The block formulas follow ggml's dequantize_row_*
// (src/ggml-quants.c) operation for operation, so the results are bit-identical to ggml's, and
// shared/formats.md section E.2 describes them. Block layouts are in tenpak/core/ggml_blocks.h.
//
// Each type has one row function in kDequantTable (a table, not a switch: adding a type is one
// function and one row). Blocks are copied out with memcpy because tensor data need not be aligned.
#include "tenpak/core/dequantize.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "tenpak/core/ggml_blocks.h"
#include "tenpak/core/half.h"

namespace tenpak {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GGML blocks and plain tensors are little-endian; a big-endian host needs byte swaps here");

// Offset of the codes of Q4_0/Q5_0 (ggml's "- 8" and "- 16") and Q6_K ("- 32").
constexpr int kQ4Offset = 8;
constexpr int kQ5Offset = 16;
constexpr int kQ6Offset = 32;
constexpr size_t kHalfBlock = kGgmlBlockElems / 2;
// Values converted per step when F16/BF16 input is not 2-byte aligned.
constexpr size_t kUnalignedChunk = 1024;

template <typename Block>
Block LoadBlock(const std::byte* src, size_t block_idx) {
    Block block;
    std::memcpy(&block, src + block_idx * sizeof(Block), sizeof(Block));
    return block;
}

void DequantF32(const std::byte* src, size_t n, float* dst) {
    std::memcpy(dst, src, n * sizeof(float));
}

void DequantF64(const std::byte* src, size_t n, float* dst) {
    for (size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + i * sizeof(double), sizeof(double));
        dst[i] = static_cast<float>(v);
    }
}

// F16 and BF16 go through the bulk kernels of half.h, which take uint16_t pointers: when the
// input is misaligned it is copied to an aligned buffer a chunk at a time.
void DequantHalfWith(void (*convert)(const uint16_t*, float*, size_t), const std::byte* src, size_t n, float* dst) {
    if (reinterpret_cast<uintptr_t>(src) % alignof(uint16_t) == 0) {
        convert(reinterpret_cast<const uint16_t*>(src), dst, n);
        return;
    }
    std::array<uint16_t, kUnalignedChunk> buffer;
    for (size_t done = 0; done < n; done += kUnalignedChunk) {
        const size_t count = std::min(kUnalignedChunk, n - done);
        std::memcpy(buffer.data(), src + done * sizeof(uint16_t), count * sizeof(uint16_t));
        convert(buffer.data(), dst + done, count);
    }
}

void DequantF16(const std::byte* src, size_t n, float* dst) {
    DequantHalfWith(&ConvertF16ToF32, src, n, dst);
}
void DequantBF16(const std::byte* src, size_t n, float* dst) {
    DequantHalfWith(&ConvertBF16ToF32, src, n, dst);
}

void DequantQ4_0(const std::byte* src, size_t n_blocks, float* dst) {
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ4_0 block = LoadBlock<BlockQ4_0>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        float* y = dst + block_idx * kGgmlBlockElems;
        for (size_t j = 0; j < kHalfBlock; ++j) {
            const int x0 = (block.qs[j] & 0x0F) - kQ4Offset;
            const int x1 = (block.qs[j] >> 4) - kQ4Offset;
            y[j] = static_cast<float>(x0) * d;
            y[j + kHalfBlock] = static_cast<float>(x1) * d;
        }
    }
}

void DequantQ4_1(const std::byte* src, size_t n_blocks, float* dst) {
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ4_1 block = LoadBlock<BlockQ4_1>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        const float m = F16ToF32Ref(block.m);
        float* y = dst + block_idx * kGgmlBlockElems;
        for (size_t j = 0; j < kHalfBlock; ++j) {
            const int x0 = block.qs[j] & 0x0F;
            const int x1 = block.qs[j] >> 4;
            y[j] = static_cast<float>(x0) * d + m;
            y[j + kHalfBlock] = static_cast<float>(x1) * d + m;
        }
    }
}

// The fifth bits of Q5_0/Q5_1: element j's is bit j of the little-endian u32 qh.
uint32_t LoadQh(const uint8_t (&qh)[4]) {
    return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 | static_cast<uint32_t>(qh[2]) << 16 |
           static_cast<uint32_t>(qh[3]) << 24;
}

// 5-bit code of elements j and j+16 of a Q5 block.
inline int Q5Low(uint8_t qs, uint32_t qh, size_t j) {
    return (qs & 0x0F) | static_cast<int>(((qh >> j) << 4) & 0x10);
}
inline int Q5High(uint8_t qs, uint32_t qh, size_t j) {
    return (qs >> 4) | static_cast<int>((qh >> (j + kHalfBlock - 4)) & 0x10);
}

void DequantQ5_0(const std::byte* src, size_t n_blocks, float* dst) {
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ5_0 block = LoadBlock<BlockQ5_0>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        const uint32_t qh = LoadQh(block.qh);
        float* y = dst + block_idx * kGgmlBlockElems;
        for (size_t j = 0; j < kHalfBlock; ++j) {
            y[j] = static_cast<float>(Q5Low(block.qs[j], qh, j) - kQ5Offset) * d;
            y[j + kHalfBlock] = static_cast<float>(Q5High(block.qs[j], qh, j) - kQ5Offset) * d;
        }
    }
}

void DequantQ5_1(const std::byte* src, size_t n_blocks, float* dst) {
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ5_1 block = LoadBlock<BlockQ5_1>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        const float m = F16ToF32Ref(block.m);
        const uint32_t qh = LoadQh(block.qh);
        float* y = dst + block_idx * kGgmlBlockElems;
        for (size_t j = 0; j < kHalfBlock; ++j) {
            y[j] = static_cast<float>(Q5Low(block.qs[j], qh, j)) * d + m;
            y[j + kHalfBlock] = static_cast<float>(Q5High(block.qs[j], qh, j)) * d + m;
        }
    }
}

void DequantQ8_0(const std::byte* src, size_t n_blocks, float* dst) {
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ8_0 block = LoadBlock<BlockQ8_0>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        float* y = dst + block_idx * kGgmlBlockElems;
        for (size_t j = 0; j < kGgmlBlockElems; ++j) y[j] = static_cast<float>(block.qs[j]) * d;
    }
}

// 6-bit scale and minimum of sub-block j (0..7) of a Q4_K block (ggml's get_scale_min_k4).
void Q4KScaleMin(size_t j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
    constexpr size_t kLowSubBlocks = 4;
    if (j < kLowSubBlocks) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void DequantQ4_K(const std::byte* src, size_t n_blocks, float* dst) {
    constexpr size_t kChunk = 64;  // two sub-blocks share 32 bytes of qs
    constexpr size_t kSubBlock = 32;
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ4_K block = LoadBlock<BlockQ4_K>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        const float dmin = F16ToF32Ref(block.dmin);
        float* y = dst + block_idx * kGgmlSuperBlockElems;
        const uint8_t* q = block.qs;
        size_t sub = 0;
        for (size_t chunk = 0; chunk < kGgmlSuperBlockElems; chunk += kChunk) {
            uint8_t sc = 0;
            uint8_t m = 0;
            Q4KScaleMin(sub, block.scales, &sc, &m);
            const float d1 = d * sc;
            const float m1 = dmin * m;
            Q4KScaleMin(sub + 1, block.scales, &sc, &m);
            const float d2 = d * sc;
            const float m2 = dmin * m;
            for (size_t l = 0; l < kSubBlock; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (size_t l = 0; l < kSubBlock; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
            q += kSubBlock;
            sub += 2;
        }
    }
}

void DequantQ6_K(const std::byte* src, size_t n_blocks, float* dst) {
    constexpr size_t kHalf = 128;
    constexpr size_t kQuarter = 32;
    constexpr size_t kScaleGroup = 16;
    for (size_t block_idx = 0; block_idx < n_blocks; ++block_idx) {
        const BlockQ6_K block = LoadBlock<BlockQ6_K>(src, block_idx);
        const float d = F16ToF32Ref(block.d);
        float* y = dst + block_idx * kGgmlSuperBlockElems;
        const uint8_t* ql = block.ql;
        const uint8_t* qh = block.qh;
        const int8_t* sc = block.scales;
        for (size_t half = 0; half < kGgmlSuperBlockElems; half += kHalf) {
            for (size_t l = 0; l < kQuarter; ++l) {
                const size_t is = l / kScaleGroup;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - kQ6Offset;
                const int q2 = ((ql[l + kQuarter] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - kQ6Offset;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - kQ6Offset;
                const int q4 = ((ql[l + kQuarter] >> 4) | (((qh[l] >> 6) & 3) << 4)) - kQ6Offset;
                y[l] = d * sc[is + 0] * static_cast<float>(q1);
                y[l + kQuarter] = d * sc[is + 2] * static_cast<float>(q2);
                y[l + 2 * kQuarter] = d * sc[is + 4] * static_cast<float>(q3);
                y[l + 3 * kQuarter] = d * sc[is + 6] * static_cast<float>(q4);
            }
            y += kHalf;
            ql += 2 * kQuarter;
            qh += kQuarter;
            sc += 8;
        }
    }
}

// `count` is elements for plain types and blocks for block types.
using DequantFn = void (*)(const std::byte* src, size_t count, float* dst);

struct DequantEntry {
    DType dtype;
    DequantFn fn;
    size_t block_bytes;  // checked against Traits(dtype) by the tests
};

constexpr std::array<DequantEntry, 11> kDequantTable = {{
    {DType::kF32, &DequantF32, sizeof(float)},
    {DType::kF64, &DequantF64, sizeof(double)},
    {DType::kF16, &DequantF16, sizeof(uint16_t)},
    {DType::kBF16, &DequantBF16, sizeof(uint16_t)},
    {DType::kQ4_0, &DequantQ4_0, sizeof(BlockQ4_0)},
    {DType::kQ4_1, &DequantQ4_1, sizeof(BlockQ4_1)},
    {DType::kQ5_0, &DequantQ5_0, sizeof(BlockQ5_0)},
    {DType::kQ5_1, &DequantQ5_1, sizeof(BlockQ5_1)},
    {DType::kQ8_0, &DequantQ8_0, sizeof(BlockQ8_0)},
    {DType::kQ4_K, &DequantQ4_K, sizeof(BlockQ4_K)},
    {DType::kQ6_K, &DequantQ6_K, sizeof(BlockQ6_K)},
}};

const DequantEntry* FindEntry(DType dtype) {
    for (const DequantEntry& entry : kDequantTable) {
        if (entry.dtype == dtype) return &entry;
    }
    return nullptr;
}

}  // namespace

bool CanDequantize(DType dtype) {
    return FindEntry(dtype) != nullptr;
}

Status DequantizeToF32(DType dtype, std::span<const std::byte> src, std::span<float> dst) {
    const DequantEntry* entry = FindEntry(dtype);
    if (entry == nullptr) {
        return Status::Unsupported("cannot dequantize " + std::string(DTypeName(dtype)) + " to F32");
    }
    const DTypeTraits& traits = Traits(dtype);
    TP_CHECK(traits.block_bytes == entry->block_bytes);  // dtype.cpp and ggml_blocks.h must agree
    if (src.size() % traits.block_bytes != 0) {
        return Status::InvalidArgument(std::string(DTypeName(dtype)) + " data of " + std::to_string(src.size()) +
                                       " bytes is not a whole number of " + std::to_string(traits.block_bytes) +
                                       "-byte " + (traits.block_elems > 1 ? "blocks" : "elements"));
    }
    const size_t count = src.size() / traits.block_bytes;
    if (count > dst.size() / traits.block_elems || count * traits.block_elems != dst.size()) {
        return Status::InvalidArgument(std::string(DTypeName(dtype)) + " data of " + std::to_string(src.size()) +
                                       " bytes holds " + std::to_string(count) + " x " +
                                       std::to_string(traits.block_elems) + " values, but the output has room for " +
                                       std::to_string(dst.size()));
    }
    if (count > 0) entry->fn(src.data(), count, dst.data());
    return Status::Ok();
}

}  // namespace tenpak
