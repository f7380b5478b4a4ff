// GGML's legacy block types as GGUF stores them (shared/formats.md E.2), for one linear layer of N
// outputs and K inputs: one tensor `weight` of dtype Q8_0, Q4_0 or Q4_1 and shape [N, K] (outermost
// first, TenPak's convention; GGUF's ne is [K, N]), N * K / 32 blocks in row-major order. A block is
// 32 consecutive inputs of one row, i.e. exactly one TenPak group of 32:
//
//   Q8_0  f16 d; i8 qs[32]             code = qs + 128, zero 128, scale d
//   Q4_0  f16 d; u8 qs[16]             code j in the low nibble of qs[j], code j + 16 in the high
//                                      nibble; zero 8, scale d
//   Q4_1  f16 d; f16 m; u8 qs[16]      nibbles as Q4_0; kAffineMin: scale d, minimum m
//
// The block structs are tenpak/core/ggml_blocks.h. F16 fields are checked to be exact on packing:
// llama.cpp-exact encoders round them to F16 before choosing codes, so anything else is a bug.
#include <array>
#include <cstring>
#include <string>

#include "layouts_internal.h"
#include "tenpak/core/ggml_blocks.h"
#include "tenpak/core/half.h"

namespace tenpak::quantformat::internal {

Result<uint16_t> ExactF16(Layout layout, const char* what, float value, int64_t group) {
    const uint16_t half = F32ToF16Ref(value);
    const float back = F16ToF32Ref(half);
    // Bit equality keeps -0 and NaN apart from their look-alikes; a NaN is never "exact".
    if (std::memcmp(&back, &value, sizeof(float)) != 0) {
        return CannotHold(layout, std::string(what) + " " + FloatString(value) + " of block " + std::to_string(group) +
                                      " is not an F16 value (GGUF encoders round " + what + "s to F16 first)");
    }
    return half;
}

namespace {

constexpr int64_t kBlock = static_cast<int64_t>(kGgmlBlockElems);
constexpr size_t kHalfBlock = kGgmlBlockElems / 2;

const char kWeight[] = "weight";

// What each GGUF layout holds.
struct GgmlType {
    Layout layout;
    DType dtype;
    int bits;
    Scheme scheme;
    float zero;  // the fixed zero point of kAffine types; unused for kAffineMin
};

constexpr std::array<GgmlType, 3> kTypes = {{
    {Layout::kGgufQ8_0, DType::kQ8_0, 8, Scheme::kAffine, 128.0f},
    {Layout::kGgufQ4_0, DType::kQ4_0, 4, Scheme::kAffine, 8.0f},
    {Layout::kGgufQ4_1, DType::kQ4_1, 4, Scheme::kAffineMin, 0.0f},
}};

const GgmlType& TypeOf(Layout layout) {
    for (const GgmlType& type : kTypes) {
        if (type.layout == layout) return type;
    }
    TP_CHECK(false && "not a GGUF layout");  // the dispatcher routes only these three here
    return kTypes[0];
}

Status GgmlCanHold(Layout layout, int64_t, int64_t cols, int bits, int64_t group_size, Scheme scheme) {
    const GgmlType& type = TypeOf(layout);
    const std::string name(LayoutName(layout));
    if (scheme != type.scheme || bits != type.bits) {
        return CannotHold(layout, "GGUF " + name + " stores " + std::to_string(type.bits) + "-bit " +
                                      std::string(SchemeName(type.scheme)) + " codes, not " + std::to_string(bits) +
                                      "-bit " + std::string(SchemeName(scheme)));
    }
    if (group_size != kBlock) {
        return CannotHold(layout, "GGUF " + name + " has blocks of 32 inputs; group size " +
                                      std::to_string(group_size) + " cannot be stored (use 32)");
    }
    if (cols % kBlock != 0) {
        return CannotHold(layout,
                          "GGUF " + name + " needs the input size " + std::to_string(cols) + " to be a multiple of 32");
    }
    return Status::Ok();
}

// Writes the 32 codes of one group as Q4_0 / Q4_1 nibbles.
void PackNibbles(const uint8_t* codes, uint8_t* qs) {
    for (size_t j = 0; j < kHalfBlock; ++j) qs[j] = static_cast<uint8_t>(codes[j] | (codes[j + kHalfBlock] << 4));
}

void UnpackNibbles(const uint8_t* qs, uint8_t* codes) {
    for (size_t j = 0; j < kHalfBlock; ++j) {
        codes[j] = qs[j] & 0x0Fu;
        codes[j + kHalfBlock] = static_cast<uint8_t>(qs[j] >> 4);
    }
}

Result<std::vector<PackedTensor>> GgmlPack(Layout layout, const QuantizedTensor& q, std::string_view) {
    const GgmlType& type = TypeOf(layout);
    PackedTensor weight = NewTensor(kWeight, type.dtype, {q.rows, q.cols});
    const size_t block_bytes = Traits(type.dtype).block_bytes;
    const size_t blocks = q.scales.size();  // one group per block, in row-major order
    for (size_t group = 0; group < blocks; ++group) {
        const auto g = static_cast<int64_t>(group);
        if (type.scheme == Scheme::kAffine && q.zeros[group] != type.zero) {
            return CannotHold(layout, "zero point " + FloatString(q.zeros[group]) + " of block " + std::to_string(g) +
                                          " must be " + FloatString(type.zero));
        }
        TP_ASSIGN_OR_RETURN(uint16_t d, ExactF16(layout, "scale", q.scales[group], g));
        const uint8_t* codes = q.codes.data() + group * kGgmlBlockElems;
        std::byte* out = weight.bytes.data() + group * block_bytes;
        if (layout == Layout::kGgufQ8_0) {
            BlockQ8_0 block{};
            block.d = d;
            for (size_t j = 0; j < kGgmlBlockElems; ++j) block.qs[j] = static_cast<int8_t>(codes[j] - 128);
            std::memcpy(out, &block, sizeof(block));
        } else if (layout == Layout::kGgufQ4_0) {
            BlockQ4_0 block{};
            block.d = d;
            PackNibbles(codes, block.qs);
            std::memcpy(out, &block, sizeof(block));
        } else {
            BlockQ4_1 block{};
            block.d = d;
            TP_ASSIGN_OR_RETURN(block.m, ExactF16(layout, "minimum", q.zeros[group], g));
            PackNibbles(codes, block.qs);
            std::memcpy(out, &block, sizeof(block));
        }
    }
    std::vector<PackedTensor> out;
    out.push_back(std::move(weight));
    return out;
}

Result<QuantizedTensor> GgmlUnpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams&,
                                   const TensorLookup& lookup) {
    const GgmlType& type = TypeOf(layout);
    TP_RETURN_IF_ERROR(GgmlCanHold(layout, rows, cols, type.bits, kBlock, type.scheme));
    TP_ASSIGN_OR_RETURN(StoredTensor weight,
                        FetchTensor(lookup, layout, kWeight, type.dtype, {rows, cols}, "(N, K), outermost first"));
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = type.bits;
    q.scheme = type.scheme;
    q.symmetric = type.scheme == Scheme::kAffine;
    q.group_size = kBlock;
    const size_t block_bytes = Traits(type.dtype).block_bytes;
    const size_t blocks = weight.bytes.size() / block_bytes;
    q.codes.resize(blocks * kGgmlBlockElems);
    q.scales.resize(blocks);
    q.zeros.resize(blocks);
    for (size_t group = 0; group < blocks; ++group) {
        const std::byte* in = weight.bytes.data() + group * block_bytes;
        uint8_t* codes = q.codes.data() + group * kGgmlBlockElems;
        if (layout == Layout::kGgufQ8_0) {
            BlockQ8_0 block;
            std::memcpy(&block, in, sizeof(block));
            q.scales[group] = F16ToF32Ref(block.d);
            q.zeros[group] = type.zero;
            for (size_t j = 0; j < kGgmlBlockElems; ++j) codes[j] = static_cast<uint8_t>(block.qs[j] + 128);
        } else if (layout == Layout::kGgufQ4_0) {
            BlockQ4_0 block;
            std::memcpy(&block, in, sizeof(block));
            q.scales[group] = F16ToF32Ref(block.d);
            q.zeros[group] = type.zero;
            UnpackNibbles(block.qs, codes);
        } else {
            BlockQ4_1 block;
            std::memcpy(&block, in, sizeof(block));
            q.scales[group] = F16ToF32Ref(block.d);
            q.zeros[group] = F16ToF32Ref(block.m);
            UnpackNibbles(block.qs, codes);
        }
    }
    return q;
}

}  // namespace

std::vector<std::string> GgufWeightSuffixes(Layout) {
    return {kWeight};
}

const LayoutOps& GgmlLayoutOps() {
    static const LayoutOps ops = {GgmlCanHold, GgmlPack, GgmlUnpack, GgufWeightSuffixes};
    return ops;
}

}  // namespace tenpak::quantformat::internal
