#include "layout_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "tenpak/core/half.h"

namespace tenpak::quantformat::testing {

TensorLookup LookupOf(const std::vector<PackedTensor>& tensors) {
    return [&tensors](std::string_view suffix) -> Result<StoredTensor> {
        for (const PackedTensor& tensor : tensors) {
            if (tensor.suffix == suffix) return StoredTensor{tensor.dtype, tensor.shape, tensor.bytes};
        }
        return Status::NotFound("no tensor '" + std::string(suffix) + "'");
    };
}

const PackedTensor& Find(const std::vector<PackedTensor>& tensors, std::string_view suffix) {
    for (const PackedTensor& tensor : tensors) {
        if (tensor.suffix == suffix) return tensor;
    }
    ADD_FAILURE() << "no packed tensor '" << suffix << "'";
    static const PackedTensor empty;
    return empty;
}

PackedTensor& FindMutable(std::vector<PackedTensor>& tensors, std::string_view suffix) {
    return const_cast<PackedTensor&>(Find(tensors, suffix));
}

void Remove(std::vector<PackedTensor>& tensors, std::string_view suffix) {
    std::erase_if(tensors, [suffix](const PackedTensor& t) { return t.suffix == suffix; });
}

std::vector<uint32_t> Words(const PackedTensor& tensor) {
    std::vector<uint32_t> out(tensor.bytes.size() / 4);
    for (size_t i = 0; i < out.size(); ++i) {
        for (size_t b = 0; b < 4; ++b) out[i] |= std::to_integer<uint32_t>(tensor.bytes[i * 4 + b]) << (8 * b);
    }
    return out;
}

std::vector<uint16_t> Halves(const PackedTensor& tensor) {
    std::vector<uint16_t> out(tensor.bytes.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<uint16_t>(std::to_integer<unsigned>(tensor.bytes[i * 2]) |
                                       (std::to_integer<unsigned>(tensor.bytes[i * 2 + 1]) << 8));
    }
    return out;
}

std::vector<float> Floats(const PackedTensor& tensor) {
    const std::vector<uint32_t> words = Words(tensor);
    std::vector<float> out(words.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::bit_cast<float>(words[i]);
    return out;
}

std::vector<uint8_t> Bytes(const PackedTensor& tensor) {
    std::vector<uint8_t> out(tensor.bytes.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::to_integer<uint8_t>(tensor.bytes[i]);
    return out;
}

std::vector<std::byte> ToBytes(const std::vector<uint8_t>& values) {
    std::vector<std::byte> out(values.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::byte{values[i]};
    return out;
}

namespace {

std::vector<uint32_t> FloatBits(const std::vector<float>& values) {
    std::vector<uint32_t> out(values.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::bit_cast<uint32_t>(values[i]);
    return out;
}

// A random F16 value in +-[2^-10, 2^4): a plausible scale that survives F16 storage unchanged.
float RandomF16Scale(std::mt19937& rng, bool positive) {
    std::uniform_int_distribution<uint32_t> exponent(5, 18);
    std::uniform_int_distribution<uint32_t> mantissa(0, 1023);
    uint32_t bits = (exponent(rng) << 10) | mantissa(rng);
    if (!positive && (rng() & 1u)) bits |= 0x8000u;
    return F16ToF32Ref(static_cast<uint16_t>(bits));
}

}  // namespace

void ExpectSameTensor(const QuantizedTensor& expected, const QuantizedTensor& actual) {
    EXPECT_EQ(expected.rows, actual.rows);
    EXPECT_EQ(expected.cols, actual.cols);
    EXPECT_EQ(expected.bits, actual.bits);
    EXPECT_EQ(expected.scheme, actual.scheme);
    EXPECT_EQ(expected.symmetric, actual.symmetric);
    EXPECT_EQ(expected.group_size, actual.group_size);
    EXPECT_EQ(expected.codes, actual.codes);
    EXPECT_EQ(FloatBits(expected.scales), FloatBits(actual.scales));
    EXPECT_EQ(FloatBits(expected.zeros), FloatBits(actual.zeros));
    EXPECT_EQ(expected.g_idx, actual.g_idx);
    ASSERT_EQ(expected.double_quant.has_value(), actual.double_quant.has_value());
    if (expected.double_quant) {
        EXPECT_EQ(expected.double_quant->codes, actual.double_quant->codes);
        EXPECT_EQ(FloatBits(expected.double_quant->nested_absmax), FloatBits(actual.double_quant->nested_absmax));
        EXPECT_EQ(std::bit_cast<uint32_t>(expected.double_quant->offset),
                  std::bit_cast<uint32_t>(actual.double_quant->offset));
        EXPECT_EQ(expected.double_quant->nested_block, actual.double_quant->nested_block);
    }
    ASSERT_EQ(expected.super_blocks.has_value(), actual.super_blocks.has_value());
    if (expected.super_blocks) {
        const SuperBlocks& e = *expected.super_blocks;
        const SuperBlocks& a = *actual.super_blocks;
        EXPECT_EQ(e.groups_per_super_block, a.groups_per_super_block);
        EXPECT_EQ(FloatBits(e.d), FloatBits(a.d));
        EXPECT_EQ(FloatBits(e.dmin), FloatBits(a.dmin));
        EXPECT_EQ(e.scale_codes, a.scale_codes);
        EXPECT_EQ(e.min_codes, a.min_codes);
    }
}

QuantizedTensor RandomTensor(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, std::mt19937& rng,
                             bool act_order, bool double_quant) {
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = bits;
    q.group_size = group_size;
    q.symmetric = true;
    switch (layout) {
        case Layout::kGptq:
        case Layout::kGptqV2:
        case Layout::kAwqGemm:
        case Layout::kGgufQ8_0:
        case Layout::kGgufQ4_0:
            q.scheme = Scheme::kAffine;
            break;
        case Layout::kGgufQ4_1:
            q.scheme = Scheme::kAffineMin;
            q.symmetric = false;
            break;
        case Layout::kBnb4:
            q.scheme = (rng() & 1u) ? Scheme::kNf4 : Scheme::kFp4;
            break;
        case Layout::kBnb8:
            q.scheme = Scheme::kInt8Absmax;
            q.group_size = cols;
            break;
        case Layout::kGgufQ4_K:
        case Layout::kGgufQ6_K:
            // Their scales are products of super-block fields: ggml_kquant_layout_test builds them.
            ADD_FAILURE() << "RandomTensor does not make k-quant tensors";
            break;
    }
    std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
    q.codes.resize(static_cast<size_t>(rows * cols));
    for (uint8_t& c : q.codes) c = static_cast<uint8_t>(code(rng));
    const size_t scale_count =
        static_cast<size_t>(q.scheme == Scheme::kNf4 || q.scheme == Scheme::kFp4 ? q.groups() : rows * q.groups());
    q.scales.resize(scale_count);
    for (float& s : q.scales) s = RandomF16Scale(rng, q.scheme != Scheme::kAffineMin);
    if (q.scheme == Scheme::kAffine) {
        q.zeros.resize(scale_count);
        // v1 stores zero - 1 and so holds 1..2^bits; the others hold 0..2^bits - 1.
        const int lowest = layout == Layout::kGptq ? 1 : 0;
        std::uniform_int_distribution<int> zero(lowest, lowest + (1 << bits) - 1);
        for (float& z : q.zeros) {
            z = layout == Layout::kGgufQ8_0   ? 128.0f
                : layout == Layout::kGgufQ4_0 ? 8.0f
                                              : static_cast<float>(zero(rng));
        }
        q.symmetric = layout == Layout::kGgufQ8_0 || layout == Layout::kGgufQ4_0;
    } else if (q.scheme == Scheme::kAffineMin) {
        q.zeros.resize(scale_count);
        for (float& m : q.zeros) m = RandomF16Scale(rng, false);
    }
    if (act_order) {
        const int64_t groups = cols / group_size;
        // Every group keeps group_size columns, in a shuffled order, as GPTQ's act-order produces.
        q.g_idx.resize(static_cast<size_t>(cols));
        for (int64_t c = 0; c < cols; ++c) q.g_idx[static_cast<size_t>(c)] = static_cast<int32_t>(c / group_size);
        const std::vector<int32_t> trivial = q.g_idx;
        std::shuffle(q.g_idx.begin(), q.g_idx.end(), rng);
        // A shuffle may (rarely) give the trivial order back, which Unpack would drop.
        if (groups >= 2 && q.g_idx == trivial) std::swap(q.g_idx.front(), q.g_idx.back());
    }
    if (double_quant) {
        DoubleQuant dq;
        dq.codes.resize(q.scales.size());
        for (uint8_t& c : dq.codes) c = static_cast<uint8_t>(rng());
        dq.nested_absmax.resize((dq.codes.size() + 255) / 256);
        for (float& a : dq.nested_absmax) a = RandomF16Scale(rng, true);
        dq.offset = RandomF16Scale(rng, true);
        for (size_t b = 0; b < q.scales.size(); ++b) {
            // As bitsandbytes rebuilds it: two roundings (kept apart so no FMA fuses them).
            const float product = DynamicMap8()[dq.codes[b]] * dq.nested_absmax[b / 256];
            q.scales[b] = product + dq.offset;
        }
        q.double_quant = std::move(dq);
    }
    return q;
}

QuantizedTensor RoundTrip(Layout layout, const QuantizedTensor& q, const LayoutParams& params) {
    Result<std::vector<PackedTensor>> packed = Pack(layout, q);
    EXPECT_TRUE(packed.ok()) << packed.status().ToString();
    if (!packed.ok()) return {};
    Result<QuantizedTensor> unpacked = Unpack(layout, q.rows, q.cols, params, LookupOf(*packed));
    EXPECT_TRUE(unpacked.ok()) << unpacked.status().ToString();
    if (!unpacked.ok()) return {};
    return std::move(unpacked).value();
}

}  // namespace tenpak::quantformat::testing
