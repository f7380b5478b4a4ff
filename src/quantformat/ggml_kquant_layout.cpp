// GGML's k-quant types Q4_K and Q6_K as GGUF stores them (shared/formats.md E.2; the block structs
// and their bit orders are in tenpak/core/ggml_blocks.h): one tensor `weight` of shape [N, K]
// (outermost first), N * K / 256 super-blocks in row-major order, each 256 consecutive inputs of
// one row. In TenPak's form (QuantizedTensor::super_blocks):
//
//   Q4_K  kAffineMin, 4-bit codes, groups of 32 (8 per super-block): scale = d * sc, minimum =
//         -(dmin * m), with sc and m 6-bit codes packed into 12 bytes; codes of groups 2c and 2c + 1
//         share the 32 bytes qs[32c ..]: low nibbles the first group, high nibbles the second.
//   Q6_K  kAffine with zero 32, 6-bit codes held in 8 bits, groups of 16 (16 per super-block):
//         scale = d * sc, sc a signed byte; each half of 128 codes keeps its low 4 bits in 64 bytes
//         of ql and its top 2 bits in 32 bytes of qh.
//
// Packing writes the stored fields (d, dmin, the codes of the scales) and checks that `scales` and
// `zeros` are exactly the products a loader computes from them, so the file says what the tensor
// says. Unpacking computes those products in F32 in the same order as llama.cpp's dequantizers.
#include <cstring>
#include <string>

#include "layouts_internal.h"
#include "tenpak/core/ggml_blocks.h"
#include "tenpak/core/half.h"

namespace tenpak::quantformat::internal {
namespace {

constexpr int64_t kSuperBlock = static_cast<int64_t>(kGgmlSuperBlockElems);
constexpr float kQ6Zero = 32.0f;
constexpr int kQ4KMaxCode = 63;  // the 6-bit scale and minimum codes
const char kWeight[] = "weight";

struct KType {
    Layout layout;
    DType dtype;
    int bits;
    Scheme scheme;
    int64_t group;
};

const KType& TypeOf(Layout layout) {
    static const KType q4k = {Layout::kGgufQ4_K, DType::kQ4_K, 4, Scheme::kAffineMin, 32};
    static const KType q6k = {Layout::kGgufQ6_K, DType::kQ6_K, 8, Scheme::kAffine, 16};
    return layout == Layout::kGgufQ4_K ? q4k : q6k;
}

Status KCanHold(Layout layout, int64_t, int64_t cols, int bits, int64_t group_size, Scheme scheme) {
    const KType& type = TypeOf(layout);
    const std::string name(LayoutName(layout));
    if (scheme != type.scheme || bits != type.bits || group_size != type.group) {
        return CannotHold(layout, "GGUF " + name + " stores " + std::string(SchemeName(type.scheme)) + " codes in " +
                                      std::to_string(type.bits) + " bits with groups of " +
                                      std::to_string(type.group) + ", not " + std::string(SchemeName(scheme)) +
                                      " in " + std::to_string(bits) + " bits with groups of " +
                                      std::to_string(group_size));
    }
    if (cols % kSuperBlock != 0) {
        return CannotHold(layout, "GGUF " + name + " needs the input size " + std::to_string(cols) +
                                      " to be a multiple of its super-block of 256");
    }
    return Status::Ok();
}

// The product a loader computes for group `g`, compared bit for bit with what the tensor holds.
Status CheckProduct(Layout layout, const char* what, float held, float product, size_t g) {
    if (std::memcmp(&held, &product, sizeof(float)) != 0) {
        return CannotHold(layout, std::string(what) + " " + FloatString(held) + " of group " + std::to_string(g) +
                                      " is not the stored product " + FloatString(product));
    }
    return Status::Ok();
}

// Q4_K's twelve bytes of 6-bit scales (sc) and minimums (m) for the 8 groups of a super-block.
void PackScalesQ4K(const int8_t* sc, const uint8_t* m, uint8_t* out) {
    for (int j = 0; j < 4; ++j) {
        out[j] = static_cast<uint8_t>(sc[j]);
        out[j + 4] = m[j];
    }
    for (int j = 4; j < 8; ++j) {
        const auto ls = static_cast<uint8_t>(sc[j]);
        out[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((m[j] & 0xF) << 4));
        out[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        out[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
}

void UnpackScaleQ4K(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

Status PackQ4K(const QuantizedTensor& q, size_t s, std::byte* out) {
    constexpr Layout kLayout = Layout::kGgufQ4_K;
    const SuperBlocks& sb = *q.super_blocks;
    BlockQ4_K block{};
    const auto block_index = static_cast<int64_t>(s);
    TP_ASSIGN_OR_RETURN(block.d, ExactF16(kLayout, "scale", sb.d[s], block_index));
    TP_ASSIGN_OR_RETURN(block.dmin, ExactF16(kLayout, "minimum", sb.dmin[s], block_index));
    const size_t g0 = s * 8;
    for (size_t j = 0; j < 8; ++j) {
        const size_t g = g0 + j;
        if (sb.scale_codes[g] < 0 || sb.scale_codes[g] > kQ4KMaxCode || sb.min_codes[g] > kQ4KMaxCode) {
            return CannotHold(kLayout, "scale or minimum code of group " + std::to_string(g) + " is outside 0..63");
        }
        TP_RETURN_IF_ERROR(CheckProduct(kLayout, "scale", q.scales[g], sb.d[s] * sb.scale_codes[g], g));
        TP_RETURN_IF_ERROR(CheckProduct(kLayout, "minimum", q.zeros[g], -(sb.dmin[s] * sb.min_codes[g]), g));
    }
    PackScalesQ4K(&sb.scale_codes[g0], &sb.min_codes[g0], block.scales);
    const uint8_t* codes = q.codes.data() + s * kGgmlSuperBlockElems;
    for (size_t c = 0; c < 4; ++c) {
        for (size_t l = 0; l < 32; ++l) {
            block.qs[32 * c + l] = static_cast<uint8_t>(codes[64 * c + l] | (codes[64 * c + 32 + l] << 4));
        }
    }
    std::memcpy(out, &block, sizeof(block));
    return Status::Ok();
}

Status PackQ6K(const QuantizedTensor& q, size_t s, std::byte* out) {
    constexpr Layout kLayout = Layout::kGgufQ6_K;
    const SuperBlocks& sb = *q.super_blocks;
    BlockQ6_K block{};
    TP_ASSIGN_OR_RETURN(block.d, ExactF16(kLayout, "scale", sb.d[s], static_cast<int64_t>(s)));
    const size_t g0 = s * 16;
    for (size_t j = 0; j < 16; ++j) {
        const size_t g = g0 + j;
        if (q.zeros[g] != kQ6Zero) {
            return CannotHold(kLayout, "zero point " + FloatString(q.zeros[g]) + " of group " + std::to_string(g) +
                                           " must be 32");
        }
        TP_RETURN_IF_ERROR(CheckProduct(kLayout, "scale", q.scales[g], sb.d[s] * sb.scale_codes[g], g));
        block.scales[j] = sb.scale_codes[g];
    }
    const uint8_t* codes = q.codes.data() + s * kGgmlSuperBlockElems;
    for (size_t i = 0; i < kGgmlSuperBlockElems; ++i) {
        if (codes[i] > 63) {
            return CannotHold(kLayout, "code " + std::to_string(codes[i]) + " of super-block " + std::to_string(s) +
                                           " does not fit in 6 bits");
        }
    }
    for (size_t half = 0; half < 2; ++half) {
        const uint8_t* L = codes + 128 * half;
        uint8_t* ql = block.ql + 64 * half;
        uint8_t* qh = block.qh + 32 * half;
        for (size_t l = 0; l < 32; ++l) {
            ql[l] = static_cast<uint8_t>((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
            ql[l + 32] = static_cast<uint8_t>((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
            qh[l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                                         ((L[l + 96] >> 4) << 6));
        }
    }
    std::memcpy(out, &block, sizeof(block));
    return Status::Ok();
}

Result<std::vector<PackedTensor>> KPack(Layout layout, const QuantizedTensor& q, std::string_view) {
    const KType& type = TypeOf(layout);
    const int64_t per = kSuperBlock / type.group;
    if (!q.super_blocks || q.super_blocks->groups_per_super_block != per) {
        return CannotHold(layout, "GGUF " + std::string(LayoutName(layout)) + " needs super-block scales (" +
                                      std::to_string(per) + " groups each), as its encoder makes them");
    }
    PackedTensor weight = NewTensor(kWeight, type.dtype, {q.rows, q.cols});
    const size_t block_bytes = Traits(type.dtype).block_bytes;
    const size_t blocks = q.codes.size() / kGgmlSuperBlockElems;
    for (size_t s = 0; s < blocks; ++s) {
        std::byte* out = weight.bytes.data() + s * block_bytes;
        TP_RETURN_IF_ERROR(layout == Layout::kGgufQ4_K ? PackQ4K(q, s, out) : PackQ6K(q, s, out));
    }
    std::vector<PackedTensor> out;
    out.push_back(std::move(weight));
    return out;
}

void UnpackQ4K(const std::byte* in, size_t s, QuantizedTensor& q) {
    BlockQ4_K block;
    std::memcpy(&block, in, sizeof(block));
    SuperBlocks& sb = *q.super_blocks;
    sb.d[s] = F16ToF32Ref(block.d);
    sb.dmin[s] = F16ToF32Ref(block.dmin);
    for (int j = 0; j < 8; ++j) {
        const size_t g = s * 8 + static_cast<size_t>(j);
        uint8_t sc = 0;
        uint8_t m = 0;
        UnpackScaleQ4K(j, block.scales, sc, m);
        sb.scale_codes[g] = static_cast<int8_t>(sc);
        sb.min_codes[g] = m;
        q.scales[g] = sb.d[s] * sc;
        q.zeros[g] = -(sb.dmin[s] * m);
    }
    uint8_t* codes = q.codes.data() + s * kGgmlSuperBlockElems;
    for (size_t c = 0; c < 4; ++c) {
        for (size_t l = 0; l < 32; ++l) {
            codes[64 * c + l] = block.qs[32 * c + l] & 0xF;
            codes[64 * c + 32 + l] = static_cast<uint8_t>(block.qs[32 * c + l] >> 4);
        }
    }
}

void UnpackQ6K(const std::byte* in, size_t s, QuantizedTensor& q) {
    BlockQ6_K block;
    std::memcpy(&block, in, sizeof(block));
    SuperBlocks& sb = *q.super_blocks;
    sb.d[s] = F16ToF32Ref(block.d);
    for (size_t j = 0; j < 16; ++j) {
        const size_t g = s * 16 + j;
        sb.scale_codes[g] = block.scales[j];
        q.scales[g] = sb.d[s] * block.scales[j];
        q.zeros[g] = kQ6Zero;
    }
    uint8_t* codes = q.codes.data() + s * kGgmlSuperBlockElems;
    for (size_t half = 0; half < 2; ++half) {
        uint8_t* L = codes + 128 * half;
        const uint8_t* ql = block.ql + 64 * half;
        const uint8_t* qh = block.qh + 32 * half;
        for (size_t l = 0; l < 32; ++l) {
            L[l] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
            L[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
            L[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
            L[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
    }
}

Result<QuantizedTensor> KUnpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams&,
                                const TensorLookup& lookup) {
    const KType& type = TypeOf(layout);
    TP_RETURN_IF_ERROR(KCanHold(layout, rows, cols, type.bits, type.group, type.scheme));
    TP_ASSIGN_OR_RETURN(StoredTensor weight,
                        FetchTensor(lookup, layout, kWeight, type.dtype, {rows, cols}, "(N, K), outermost first"));
    QuantizedTensor q = KQuantTensor(layout, rows, cols);
    const size_t block_bytes = Traits(type.dtype).block_bytes;
    const size_t blocks = weight.bytes.size() / block_bytes;
    for (size_t s = 0; s < blocks; ++s) {
        const std::byte* in = weight.bytes.data() + s * block_bytes;
        if (layout == Layout::kGgufQ4_K) {
            UnpackQ4K(in, s, q);
        } else {
            UnpackQ6K(in, s, q);
        }
    }
    return q;
}

}  // namespace

const LayoutOps& GgmlKQuantLayoutOps() {
    static const LayoutOps ops = {KCanHold, KPack, KUnpack, GgufWeightSuffixes};
    return ops;
}

}  // namespace tenpak::quantformat::internal

namespace tenpak::quantformat {

QuantizedTensor KQuantTensor(Layout layout, int64_t rows, int64_t cols) {
    const internal::KType& type = internal::TypeOf(layout);
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = type.bits;
    q.scheme = type.scheme;
    q.symmetric = type.scheme == Scheme::kAffine;
    q.group_size = type.group;
    const size_t blocks = static_cast<size_t>(rows * cols) / kGgmlSuperBlockElems;
    const auto per = static_cast<size_t>(internal::kSuperBlock / type.group);
    q.codes.resize(blocks * kGgmlSuperBlockElems);
    q.scales.resize(blocks * per);
    q.zeros.resize(blocks * per);
    SuperBlocks sb;
    sb.groups_per_super_block = static_cast<int64_t>(per);
    sb.d.resize(blocks);
    sb.scale_codes.resize(blocks * per);
    if (layout == Layout::kGgufQ4_K) {
        sb.dmin.resize(blocks);
        sb.min_codes.resize(blocks * per);
    }
    q.super_blocks = std::move(sb);
    return q;
}

}  // namespace tenpak::quantformat
