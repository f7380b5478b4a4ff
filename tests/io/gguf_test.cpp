// GGUF reader and writer: llama.cpp's golden files (shared/data/stories260K/gguf), dequantization
// of their quantized tensors against the F32 file, write -> read round trips, byte identity with
// llama.cpp's output, and hostile input built byte by byte.
#include "tenpak/io/gguf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "tenpak/core/dequantize.h"
#include "tenpak/core/half.h"
#include "test_util.h"

namespace tenpak::io {
namespace {

using tenpak::testing::ReadFile;
using tenpak::testing::SharedData;
using tenpak::testing::TempDir;
using tenpak::testing::WriteFile;

constexpr size_t kBlock = 32;
constexpr uint64_t kGoldenDataOffset = 14176;  // header of the F32 file ends at 14152, padded to 32

std::string GoldenPath(const std::string& variant) {
    return SharedData("stories260K/gguf/stories260K-" + variant + ".gguf");
}

std::span<const std::byte> AsBytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::unique_ptr<GgufReader> OpenOrDie(const std::string& path) {
    Result<std::unique_ptr<GgufReader>> reader = GgufReader::Open(path);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::move(reader).value() : nullptr;
}

std::vector<float> DequantOrDie(const GgufReader& reader, const TensorInfo& info) {
    Result<TensorData> data = reader.Read(info);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    std::vector<float> out(info.NumElements());
    if (!data.ok()) return out;
    const Status status = DequantizeToF32(info.dtype, data->bytes(), out);
    EXPECT_TRUE(status.ok()) << info.name << ": " << status.ToString();
    return out;
}

::testing::AssertionResult SameValue(const GgufValue& a, const GgufValue& b, const std::string& where) {
    if (a.type() != b.type()) {
        return ::testing::AssertionFailure()
               << where << ": type " << GgufTypeName(a.type()) << " vs " << GgufTypeName(b.type());
    }
    bool same = false;
    switch (a.type()) {
        case GgufType::kF32:
        case GgufType::kF64:
            same = std::bit_cast<uint64_t>(*a.AsFloat()) == std::bit_cast<uint64_t>(*b.AsFloat());
            break;
        case GgufType::kBool:
            same = a.AsBool() == b.AsBool();
            break;
        case GgufType::kString:
            same = *a.AsString() == *b.AsString();
            break;
        case GgufType::kArray: {
            const GgufValue::Array& x = *a.AsArray();
            const GgufValue::Array& y = *b.AsArray();
            if (x.element_type != y.element_type || x.items.size() != y.items.size()) {
                return ::testing::AssertionFailure() << where << ": " << a.Describe() << " vs " << b.Describe();
            }
            for (size_t i = 0; i < x.items.size(); ++i) {
                ::testing::AssertionResult item =
                    SameValue(x.items[i], y.items[i], where + "[" + std::to_string(i) + "]");
                if (!item) return item;
            }
            return ::testing::AssertionSuccess();
        }
        default:  // integers of every width
            same = a.AsUInt() == b.AsUInt() && a.AsInt() == b.AsInt();
    }
    if (same) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << where << ": " << a.Describe() << " vs " << b.Describe();
}

void ExpectSameMetadata(const GgufMetadata& a, const GgufMetadata& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].first, b[i].first) << "entry " << i;
        EXPECT_TRUE(SameValue(a[i].second, b[i].second, a[i].first));
    }
}

// ---------------------------------------------------------------------------------------------
// Golden files

TEST(GgufGoldenTest, F32FileMetadata) {
    std::unique_ptr<GgufReader> reader = OpenOrDie(GoldenPath("f32"));
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->version(), 3u);
    EXPECT_EQ(reader->metadata().size(), 19u);
    EXPECT_EQ(reader->header().alignment, 32u);
    EXPECT_EQ(reader->header().data_offset, kGoldenDataOffset);
    const GgufMetadata& md = reader->metadata();

    const GgufValue* arch = FindGgufKey(md, "general.architecture");
    ASSERT_NE(arch, nullptr);
    ASSERT_NE(arch->AsString(), nullptr);
    EXPECT_EQ(*arch->AsString(), "llama");
    const std::map<std::string, uint64_t> u32_keys = {
        {"llama.embedding_length", 64},
        {"llama.block_count", 5},
        {"llama.context_length", 128},
        {"llama.feed_forward_length", 172},
        {"llama.attention.head_count", 8},
        {"llama.attention.head_count_kv", 4},
        {"llama.rope.dimension_count", 8},
        {"tokenizer.ggml.bos_token_id", 1},
        {"tokenizer.ggml.padding_token_id", 0xFFFFFFFF},
    };
    for (const auto& [key, expected] : u32_keys) {
        const GgufValue* value = FindGgufKey(md, key);
        ASSERT_NE(value, nullptr) << key;
        EXPECT_EQ(value->type(), GgufType::kU32) << key;  // llama.cpp requires u32, not u64
        EXPECT_EQ(value->AsUInt(), expected) << key;
    }
    const GgufValue* eps = FindGgufKey(md, "llama.attention.layer_norm_rms_epsilon");
    ASSERT_NE(eps, nullptr);
    EXPECT_EQ(eps->type(), GgufType::kF32);
    EXPECT_EQ(eps->AsFloat(), static_cast<double>(1e-5f));

    const GgufValue* tokens = FindGgufKey(md, "tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    ASSERT_NE(tokens->AsArray(), nullptr);
    EXPECT_EQ(tokens->AsArray()->element_type, GgufType::kString);
    ASSERT_EQ(tokens->AsArray()->items.size(), 512u);
    EXPECT_EQ(*tokens->AsArray()->items[0].AsString(), "<unk>");
    EXPECT_EQ(*tokens->AsArray()->items[1].AsString(), "<s>");
    EXPECT_EQ(*tokens->AsArray()->items[3].AsString(), "<0x00>");
    EXPECT_EQ(*tokens->AsArray()->items[511].AsString(), "\xe2\x80\x8a");
    EXPECT_EQ(tokens->Describe(), "[string x 512] \"<unk>\", \"<s>\", \"</s>\", \"<0x00>\", ...");

    const GgufValue* scores = FindGgufKey(md, "tokenizer.ggml.scores");
    ASSERT_NE(scores, nullptr);
    EXPECT_EQ(scores->AsArray()->element_type, GgufType::kF32);
    EXPECT_EQ(scores->AsArray()->items.size(), 512u);
    const GgufValue* types = FindGgufKey(md, "tokenizer.ggml.token_type");
    ASSERT_NE(types, nullptr);
    EXPECT_EQ(types->AsArray()->element_type, GgufType::kI32);
    EXPECT_EQ(types->AsArray()->items[0].AsInt(), 2);  // unknown
    EXPECT_EQ(types->AsArray()->items[1].AsInt(), 3);  // control
    EXPECT_EQ(types->AsArray()->items[3].AsInt(), 6);  // byte
}

struct GoldenVariant {
    std::string name;
    uint64_t file_type;  // general.file_type (LLAMA_FTYPE)
    size_t kv_count;
};

const std::vector<GoldenVariant>& Variants() {
    static const std::vector<GoldenVariant> variants = {
        {"f32", 0, 19}, {"f16", 1, 21}, {"q8_0-mix", 7, 20}, {"q4_0-mix", 2, 20}, {"q4_k_m", 15, 21},
    };
    return variants;
}

// The dtype llama.cpp chose for a tensor of each golden file (see the README of that folder).
DType ExpectedDType(const std::string& variant, const std::string& name) {
    const bool is_norm = Contains(name, "norm");
    const bool is_down = Contains(name, "ffn_down");
    if (variant == "f32" || is_norm) return DType::kF32;
    if (variant == "f16" || is_down) return DType::kF16;
    if (variant == "q8_0-mix") return DType::kQ8_0;
    if (variant == "q4_0-mix") return name == "output.weight" ? DType::kQ8_0 : DType::kQ4_0;
    // q4_k_m: no k-quant fits 64-wide rows, so llama.cpp fell back to Q5_0, with Q8_0 for the output
    // and for some attn_v (its "use more bits" rule); attn_v is checked separately below.
    return name == "output.weight" ? DType::kQ8_0 : DType::kQ5_0;
}

TEST(GgufGoldenTest, EveryFileHas48TensorsWithShapesAndTypes) {
    std::unique_ptr<GgufReader> f32 = OpenOrDie(GoldenPath("f32"));
    ASSERT_NE(f32, nullptr);
    for (const GoldenVariant& variant : Variants()) {
        SCOPED_TRACE(variant.name);
        std::unique_ptr<GgufReader> reader = OpenOrDie(GoldenPath(variant.name));
        ASSERT_NE(reader, nullptr);
        EXPECT_EQ(reader->metadata().size(), variant.kv_count);
        const GgufValue* file_type = FindGgufKey(reader->metadata(), "general.file_type");
        if (variant.name == "f32") {
            EXPECT_EQ(file_type, nullptr);
        } else {
            ASSERT_NE(file_type, nullptr);
            EXPECT_EQ(file_type->AsUInt(), variant.file_type);
        }
        ASSERT_EQ(reader->tensors().size(), 48u);

        const TensorInfo* embd = reader->Find("token_embd.weight");
        ASSERT_NE(embd, nullptr);
        EXPECT_EQ(embd->shape, (std::vector<int64_t>{512, 64}));  // ne = [64, 512], reversed
        EXPECT_EQ(reader->Find("blk.0.attn_k.weight")->shape, (std::vector<int64_t>{32, 64}));
        EXPECT_EQ(reader->Find("blk.4.ffn_down.weight")->shape, (std::vector<int64_t>{64, 172}));
        EXPECT_EQ(reader->Find("blk.2.ffn_up.weight")->shape, (std::vector<int64_t>{172, 64}));
        EXPECT_EQ(reader->Find("output_norm.weight")->shape, (std::vector<int64_t>{64}));

        std::map<DType, int> counts;
        for (const TensorInfo& info : reader->tensors()) {
            ++counts[info.dtype];
            const TensorInfo* reference = f32->Find(info.name);
            ASSERT_NE(reference, nullptr) << info.name;
            EXPECT_EQ(info.shape, reference->shape) << info.name;
            EXPECT_EQ(info.nbytes, TensorByteSize(info.dtype, info.shape).value()) << info.name;
            if (variant.name == "q4_k_m" && Contains(info.name, "attn_v")) {
                EXPECT_TRUE(info.dtype == DType::kQ5_0 || info.dtype == DType::kQ8_0) << info.name;
            } else {
                EXPECT_EQ(info.dtype, ExpectedDType(variant.name, info.name)) << info.name;
            }
        }
        EXPECT_EQ(counts[DType::kF32], variant.name == "f32" ? 48 : 11);  // 5 x 2 norms + output_norm
        if (variant.name != "f32") {
            EXPECT_EQ(counts[DType::kF16], variant.name == "f16" ? 37 : 5);
        }
    }
}

TEST(GgufGoldenTest, ReadReturnsViewsOfTheFileThatOutliveTheReader) {
    const std::string path = GoldenPath("q4_0-mix");
    const std::string file = ReadFile(path);
    std::unique_ptr<GgufReader> reader = OpenOrDie(path);
    ASSERT_NE(reader, nullptr);
    std::vector<TensorData> views;
    for (size_t i = 0; i < reader->tensors().size(); ++i) {
        const TensorInfo& info = reader->tensors()[i];
        Result<TensorData> data = reader->Read(info);
        ASSERT_TRUE(data.ok()) << data.status().ToString();
        ASSERT_EQ(data->size(), info.nbytes);
        const uint64_t begin = reader->header().data_offset + reader->header().tensor_offsets[i];
        EXPECT_EQ(begin % 32, 0u);
        EXPECT_EQ(std::memcmp(data->data(), file.data() + begin, info.nbytes), 0) << info.name;
        views.push_back(*data);
    }
    // Lookup by name goes through the same path.
    Result<TensorData> by_name = reader->TensorSource::Read(std::string_view("output.weight"));
    ASSERT_TRUE(by_name.ok());
    EXPECT_EQ(by_name->data(), views[2].data());
    TensorInfo stranger;
    stranger.name = "no.such.tensor";
    EXPECT_EQ(reader->Read(stranger).status().code(), StatusCode::kNotFound);

    const std::string first_bytes(reinterpret_cast<const char*>(views[0].data()), views[0].size());
    reader.reset();  // the views keep the mapping alive
    EXPECT_EQ(first_bytes, std::string(reinterpret_cast<const char*>(views[0].data()), views[0].size()));
}

TEST(GgufGoldenTest, ReadsVersion2) {
    std::string bytes = ReadFile(GoldenPath("f32"));
    bytes[4] = 2;  // v2 has the same layout as v3
    Result<GgufHeader> header = ParseGgufHeader(AsBytes(bytes), "v2.gguf");
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    EXPECT_EQ(header->version, 2u);
    EXPECT_EQ(header->tensors.size(), 48u);
}

// ---------------------------------------------------------------------------------------------
// Dequantized golden tensors against the F32 file. Each bound is computed per block from the F32
// values, following llama.cpp's reference encoder for the type (shared/formats.md E.2): the
// rounding error of the code, plus the error of storing the scale (and min) as f16.

float F16Rounded(float v) {
    return F16ToF32Ref(F32ToF16Ref(v));
}

// Allowed |dequantized - original| for each element of one block of `x`.
std::vector<float> BlockBounds(DType dtype, std::span<const float> x) {
    float amax = 0.0f;
    float max = 0.0f;  // the signed value of largest magnitude (first one, as ggml picks it)
    float lo = x[0];
    float hi = x[0];
    for (float v : x) {
        if (std::fabs(v) > amax) {
            amax = std::fabs(v);
            max = v;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    const float slack = 1e-6f * amax;  // float arithmetic in the encoder (x * (1/d) + 0.5 ...)
    std::vector<float> bounds(x.size());
    // Q4_0 and Q5_0 put the extreme at code 0; a value of the opposite sign near -max clamps to the
    // top code, so its error can reach one step instead of half a step.
    auto symmetric = [&](float levels) {
        const float d = max / -levels;
        const float scale_error = levels * std::fabs(F16Rounded(d) - d);
        for (size_t i = 0; i < x.size(); ++i) {
            const float t = d != 0.0f ? x[i] / d : 0.0f;
            const float code_error = t > levels - 0.5f ? (t - (levels - 1.0f)) * std::fabs(d) : std::fabs(d) / 2;
            bounds[i] = code_error + scale_error + slack;
        }
    };
    switch (dtype) {
        case DType::kF32:
            std::fill(bounds.begin(), bounds.end(), 0.0f);
            break;
        case DType::kF16:
            for (size_t i = 0; i < x.size(); ++i) {
                bounds[i] = std::fabs(x[i]) * std::ldexp(1.0f, -11) + std::ldexp(1.0f, -25);
            }
            break;
        case DType::kQ8_0: {
            const float d = amax / 127.0f;
            std::fill(bounds.begin(), bounds.end(), d / 2 + 127.0f * std::fabs(F16Rounded(d) - d) + slack);
            break;
        }
        case DType::kQ4_0:
            symmetric(8.0f);
            break;
        case DType::kQ5_0:
            symmetric(16.0f);
            break;
        case DType::kQ4_1: {
            const float d = (hi - lo) / 15.0f;
            const float bound = d / 2 + 15.0f * std::fabs(F16Rounded(d) - d) + std::fabs(F16Rounded(lo) - lo) + slack;
            std::fill(bounds.begin(), bounds.end(), bound);
            break;
        }
        default:
            ADD_FAILURE() << "no error bound for " << DTypeName(dtype);
    }
    return bounds;
}

struct BoundCheck {
    size_t elements = 0;
    size_t violations = 0;
    double worst = 0.0;  // largest error / bound seen (bound > 0)
    std::string first_violation;
};

void CompareToF32(DType dtype, const std::vector<float>& reference, const std::vector<float>& actual,
                  const std::string& name, BoundCheck& check) {
    ASSERT_EQ(reference.size(), actual.size()) << name;
    for (size_t begin = 0; begin < reference.size(); begin += kBlock) {
        const size_t n = std::min(kBlock, reference.size() - begin);
        const std::span<const float> x(reference.data() + begin, n);
        const std::vector<float> bounds = BlockBounds(dtype, x);
        for (size_t i = 0; i < n; ++i) {
            const float err = std::fabs(actual[begin + i] - x[i]);
            ++check.elements;
            if (!(err <= bounds[i])) {
                if (check.violations++ == 0) {
                    check.first_violation = name + "[" + std::to_string(begin + i) +
                                            "]: " + std::to_string(actual[begin + i]) + " vs " + std::to_string(x[i]) +
                                            ", bound " + std::to_string(bounds[i]);
                }
            } else if (bounds[i] > 0) {
                check.worst = std::max(check.worst, static_cast<double>(err / bounds[i]));
            }
        }
    }
}

TEST(GgufGoldenDequantTest, EveryTensorIsWithinItsTypesErrorBound) {
    std::unique_ptr<GgufReader> f32 = OpenOrDie(GoldenPath("f32"));
    ASSERT_NE(f32, nullptr);
    for (const std::string variant : {"f16", "q8_0-mix", "q4_0-mix", "q4_k_m"}) {
        SCOPED_TRACE(variant);
        std::unique_ptr<GgufReader> reader = OpenOrDie(GoldenPath(variant));
        ASSERT_NE(reader, nullptr);
        std::map<DType, BoundCheck> checks;
        for (const TensorInfo& info : reader->tensors()) {
            const TensorInfo* reference = f32->Find(info.name);
            ASSERT_NE(reference, nullptr) << info.name;
            // F32 tensors (the norms) get a bound of 0: they must be copied exactly.
            CompareToF32(info.dtype, DequantOrDie(*f32, *reference), DequantOrDie(*reader, info), info.name,
                         checks[info.dtype]);
        }
        for (const auto& [dtype, check] : checks) {
            EXPECT_EQ(check.violations, 0u) << DTypeName(dtype) << ": " << check.first_violation;
            EXPECT_GT(check.elements, 0u);
            RecordProperty(std::string(variant) + "_" + std::string(DTypeName(dtype)) + "_worst_error_over_bound",
                           std::to_string(check.worst));
        }
    }
}

TEST(GgufGoldenDequantTest, BoundsRejectTheWrongTensor) {
    // The check above must be able to fail: a Q4_0 tensor against another layer's weights.
    std::unique_ptr<GgufReader> f32 = OpenOrDie(GoldenPath("f32"));
    std::unique_ptr<GgufReader> q4 = OpenOrDie(GoldenPath("q4_0-mix"));
    ASSERT_NE(f32, nullptr);
    ASSERT_NE(q4, nullptr);
    BoundCheck check;
    CompareToF32(DType::kQ4_0, DequantOrDie(*f32, *f32->Find("blk.1.attn_q.weight")),
                 DequantOrDie(*q4, *q4->Find("blk.0.attn_q.weight")), "mismatched", check);
    EXPECT_GT(check.violations, check.elements / 2);
}

// ---------------------------------------------------------------------------------------------
// Values

TEST(GgufValueTest, AccessorsAndDescribe) {
    EXPECT_EQ(GgufValue::U32(64).AsUInt(), 64u);
    EXPECT_EQ(GgufValue::U32(64).AsInt(), 64);
    EXPECT_EQ(GgufValue::I32(-5).AsUInt(), std::nullopt);
    EXPECT_EQ(GgufValue::I32(-5).AsInt(), -5);
    EXPECT_EQ(GgufValue::U64(UINT64_MAX).AsInt(), std::nullopt);
    EXPECT_EQ(GgufValue::U8(3).AsFloat(), std::nullopt);
    EXPECT_EQ(GgufValue::F32(0.5f).AsFloat(), 0.5);
    EXPECT_EQ(GgufValue::F32(0.5f).AsUInt(), std::nullopt);
    EXPECT_EQ(GgufValue::Bool(true).AsBool(), true);
    EXPECT_EQ(GgufValue::Bool(true).AsUInt(), std::nullopt);
    EXPECT_EQ(GgufValue::String("x").AsArray(), nullptr);
    EXPECT_EQ(GgufValue::U8(1).AsString(), nullptr);

    EXPECT_EQ(GgufValue::U32(64).Describe(), "64");
    EXPECT_EQ(GgufValue::I64(-7).Describe(), "-7");
    EXPECT_EQ(GgufValue::F32(1e-5f).Describe(), "1e-05");
    EXPECT_EQ(GgufValue::F64(0.1).Describe(), "0.1");
    EXPECT_EQ(GgufValue::Bool(false).Describe(), "false");
    EXPECT_EQ(GgufValue::String("a\"b\n").Describe(), "\"a\\\"b\\n\"");
    EXPECT_EQ(GgufValue::I32Array({1, 2}).Describe(), "[i32 x 2] 1, 2");
    EXPECT_EQ(GgufValue::F32Array({}).Describe(), "[f32 x 0]");
    EXPECT_EQ(GgufValue::MakeArray(GgufType::kArray, {GgufValue::StringArray({"a", "b"})}).Describe(),
              "[array x 1] [string x 2]");

    GgufMetadata md = {{"a", GgufValue::U8(1)}, {"b", GgufValue::String("two")}};
    ASSERT_NE(FindGgufKey(md, "b"), nullptr);
    EXPECT_EQ(*FindGgufKey(md, "b")->AsString(), "two");
    EXPECT_EQ(FindGgufKey(md, "c"), nullptr);
    EXPECT_EQ(GgufTypeName(GgufType::kF64), "f64");
}

// ---------------------------------------------------------------------------------------------
// Writer

std::vector<std::byte> PatternBytes(size_t n, uint8_t seed) {
    std::vector<std::byte> bytes(n);
    for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>((i * 31 + seed) & 0xFF);
    return bytes;
}

TensorInfo Planned(const std::string& name, DType dtype, std::vector<int64_t> shape) {
    TensorInfo info;
    info.name = name;
    info.dtype = dtype;
    info.shape = std::move(shape);
    info.nbytes = TensorByteSize(info.dtype, info.shape).value();
    return info;
}

GgufMetadata EveryValueType() {
    GgufMetadata md;
    md.emplace_back("general.architecture", GgufValue::String("llama"));
    md.emplace_back("t.u8", GgufValue::U8(200));
    md.emplace_back("t.i8", GgufValue::I8(-100));
    md.emplace_back("t.u16", GgufValue::U16(60000));
    md.emplace_back("t.i16", GgufValue::I16(-30000));
    md.emplace_back("t.u32", GgufValue::U32(4000000000u));
    md.emplace_back("t.i32", GgufValue::I32(-2000000000));
    md.emplace_back("t.u64", GgufValue::U64((uint64_t{1} << 63) + 5));
    md.emplace_back("t.i64", GgufValue::I64(-(int64_t{1} << 62)));
    md.emplace_back("t.f32", GgufValue::F32(1.5e-5f));
    md.emplace_back("t.f64", GgufValue::F64(3.141592653589793));
    md.emplace_back("t.bool_true", GgufValue::Bool(true));
    md.emplace_back("t.bool_false", GgufValue::Bool(false));
    md.emplace_back("t.string", GgufValue::String(std::string("line\nbreak \xe2\x96\x81 and a \0 byte", 27)));
    md.emplace_back("t.empty_string", GgufValue::String(""));
    md.emplace_back("t.u8s", GgufValue::MakeArray(GgufType::kU8, {GgufValue::U8(0), GgufValue::U8(255)}));
    md.emplace_back("t.i16s", GgufValue::MakeArray(GgufType::kI16, {GgufValue::I16(-1), GgufValue::I16(7)}));
    md.emplace_back("t.u64s", GgufValue::MakeArray(GgufType::kU64, {GgufValue::U64(UINT64_MAX)}));
    md.emplace_back("t.f64s", GgufValue::MakeArray(GgufType::kF64, {GgufValue::F64(-0.0), GgufValue::F64(1e300)}));
    md.emplace_back("t.bools", GgufValue::MakeArray(GgufType::kBool, {GgufValue::Bool(true), GgufValue::Bool(false)}));
    md.emplace_back("t.f32s", GgufValue::F32Array({0.0f, -1.25f, 3e38f}));
    md.emplace_back("t.i32s", GgufValue::I32Array({-1, 0, 1}));
    md.emplace_back("t.strings", GgufValue::StringArray({"<unk>", "", "\xe2\x80\x8a"}));
    md.emplace_back("t.empty_array", GgufValue::MakeArray(GgufType::kU32, {}));
    md.emplace_back("t.nested", GgufValue::MakeArray(GgufType::kArray,
                                                     {GgufValue::StringArray({"a", "bc"}), GgufValue::StringArray({}),
                                                      GgufValue::StringArray({"d"})}));
    md.emplace_back("t.nested3",
                    GgufValue::MakeArray(GgufType::kArray,
                                         {GgufValue::MakeArray(GgufType::kArray, {GgufValue::I32Array({1, 2, 3})}),
                                          GgufValue::MakeArray(GgufType::kU8, {GgufValue::U8(9)})}));
    return md;
}

class GgufRoundTripTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufRoundTripTest, EveryValueTypeAndOddTensorSizes) {
    const uint32_t alignment = GetParam();
    TempDir dir;
    const std::string path = dir.File("round.gguf");
    const GgufMetadata metadata = EveryValueType();
    // Odd sizes: 60, 14, 102 and 4 bytes, so every tensor needs padding.
    const std::vector<TensorInfo> plan = {
        Planned("a.f32", DType::kF32, {3, 5}),
        Planned("b.f16", DType::kF16, {7}),
        Planned("c.q8_0", DType::kQ8_0, {3, 32}),
        Planned("d.one", DType::kF32, {1, 1, 1, 1}),
    };
    std::vector<std::vector<std::byte>> data;
    for (size_t i = 0; i < plan.size(); ++i) data.push_back(PatternBytes(plan[i].nbytes, static_cast<uint8_t>(i + 1)));

    Result<std::unique_ptr<GgufWriter>> writer = GgufWriter::Create(path, metadata, alignment);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Begin(plan).ok());
    for (size_t i = plan.size(); i-- > 0;) {  // any order
        const Status status = (*writer)->Write(plan[i].name, data[i]);
        ASSERT_TRUE(status.ok()) << status.ToString();
    }
    ASSERT_TRUE((*writer)->Finish().ok());

    std::unique_ptr<GgufReader> reader = OpenOrDie(path);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->version(), 3u);
    EXPECT_EQ(reader->header().alignment, alignment);
    GgufMetadata expected = metadata;
    if (alignment != kGgufDefaultAlignment) expected.emplace_back("general.alignment", GgufValue::U32(alignment));
    ExpectSameMetadata(reader->metadata(), expected);

    const std::string file = ReadFile(path);
    const GgufHeader& header = reader->header();
    EXPECT_EQ(header.data_offset % alignment, 0u);
    ASSERT_EQ(reader->tensors().size(), plan.size());
    uint64_t expected_offset = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        const TensorInfo& info = reader->tensors()[i];
        EXPECT_EQ(info.name, plan[i].name);
        EXPECT_EQ(info.dtype, plan[i].dtype);
        EXPECT_EQ(info.shape, plan[i].shape);
        EXPECT_EQ(info.nbytes, plan[i].nbytes);
        EXPECT_EQ(header.tensor_offsets[i], expected_offset) << info.name;  // consecutive, padded
        Result<TensorData> bytes = reader->Read(info);
        ASSERT_TRUE(bytes.ok());
        EXPECT_TRUE(std::equal(bytes->bytes().begin(), bytes->bytes().end(), data[i].begin(), data[i].end()));
        const uint64_t end = header.data_offset + expected_offset + info.nbytes;
        expected_offset += (info.nbytes + alignment - 1) / alignment * alignment;
        for (uint64_t pos = end; pos < header.data_offset + expected_offset; ++pos) {
            ASSERT_EQ(file[pos], '\0') << "padding after " << info.name;
        }
    }
    EXPECT_EQ(file.size(), header.data_offset + expected_offset);
}

INSTANTIATE_TEST_SUITE_P(Alignment, GgufRoundTripTest, ::testing::Values(32u, 64u));

// Little-endian byte strings for hand-built files.
class Bytes {
public:
    Bytes& U8(uint8_t v) { return Raw(std::string(1, static_cast<char>(v))); }
    Bytes& U32(uint32_t v) { return Le(v, 4); }
    Bytes& U64(uint64_t v) { return Le(v, 8); }
    Bytes& Str(std::string_view s) { return U64(s.size()).Raw(s); }
    Bytes& Raw(std::string_view s) {
        s_.append(s);
        return *this;
    }
    Bytes& PadTo(size_t alignment) {
        while (s_.size() % alignment != 0) s_.push_back('\0');
        return *this;
    }
    const std::string& str() const { return s_; }

private:
    Bytes& Le(uint64_t v, int n) {
        for (int i = 0; i < n; ++i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
        return *this;
    }
    std::string s_;
};

TEST(GgufWriterTest, BytesMatchAHandBuiltFile) {
    TempDir dir;
    const std::string path = dir.File("small.gguf");
    GgufMetadata md = {{"general.architecture", GgufValue::String("llama")}, {"x", GgufValue::U32(7)}};
    auto writer = GgufWriter::Create(path, md);
    ASSERT_TRUE(writer.ok());
    const TensorInfo t = Planned("t", DType::kF32, {2, 3});  // ne = [3, 2]
    ASSERT_TRUE((*writer)->Begin({t}).ok());
    const std::vector<std::byte> data = PatternBytes(24, 9);
    ASSERT_TRUE((*writer)->Write("t", data).ok());
    ASSERT_TRUE((*writer)->Finish().ok());

    Bytes expected;
    expected.Raw("GGUF").U32(3).U64(1).U64(2);
    expected.Str("general.architecture").U32(8).Str("llama");
    expected.Str("x").U32(4).U32(7);
    expected.Str("t").U32(2).U64(3).U64(2).U32(0).U64(0);
    expected.PadTo(32).Raw(std::string(reinterpret_cast<const char*>(data.data()), data.size())).PadTo(32);
    EXPECT_EQ(ReadFile(path), expected.str());
}

TEST(GgufWriterTest, RewritingGoldenFilesIsByteIdentical) {
    // Same metadata (order and types), same tensors in the same order, alignment 32: llama.cpp's
    // writer and ours must agree byte for byte.
    TempDir dir;
    for (const GoldenVariant& variant : Variants()) {
        SCOPED_TRACE(variant.name);
        std::unique_ptr<GgufReader> reader = OpenOrDie(GoldenPath(variant.name));
        ASSERT_NE(reader, nullptr);
        const std::string out = dir.File(variant.name + ".gguf");
        auto writer = GgufWriter::Create(out, reader->metadata(), reader->header().alignment);
        ASSERT_TRUE(writer.ok()) << writer.status().ToString();
        ASSERT_TRUE((*writer)->Begin(reader->tensors()).ok());
        for (const TensorInfo& info : reader->tensors()) {
            Result<TensorData> data = reader->Read(info);
            ASSERT_TRUE(data.ok());
            ASSERT_TRUE((*writer)->Write(info.name, data->bytes()).ok());
        }
        ASSERT_TRUE((*writer)->Finish().ok());
        const std::string golden = ReadFile(GoldenPath(variant.name));
        const std::string ours = ReadFile(out);
        ASSERT_EQ(ours.size(), golden.size());
        const auto mismatch = std::mismatch(ours.begin(), ours.end(), golden.begin());
        EXPECT_TRUE(mismatch.first == ours.end()) << "first difference at byte " << (mismatch.first - ours.begin());
    }
}

TEST(GgufWriterTest, UsageErrorsNameTheTensor) {
    TempDir dir;
    const std::string path = dir.File("bad.gguf");
    auto writer = GgufWriter::Create(path, {});
    ASSERT_TRUE(writer.ok());
    GgufWriter& w = **writer;
    const std::vector<std::byte> small(4);
    EXPECT_EQ(w.Write("a", small).code(), StatusCode::kInvalidArgument);  // before Begin
    ASSERT_TRUE(w.Begin({Planned("a", DType::kF32, {1}), Planned("b", DType::kF32, {2})}).ok());
    EXPECT_EQ(w.Begin({}).code(), StatusCode::kInvalidArgument);

    Status status = w.Write("zzz", small);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(status.message(), "\"zzz\"") && Contains(status.message(), "not in the plan"))
        << status.message();
    status = w.Write("b", small);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(status.message(), "\"b\"") && Contains(status.message(), "needs 8 bytes, got 4"))
        << status.message();
    ASSERT_TRUE(w.Write("a", small).ok());
    EXPECT_EQ(w.Write("a", small).code(), StatusCode::kInvalidArgument);

    status = w.Finish();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(status.message(), "\"b\"") && Contains(status.message(), "never written")) << status.message();
    EXPECT_TRUE(Contains(status.message(), path)) << status.message();
    writer->reset();  // destroyed without a successful Finish: nothing is left behind
    EXPECT_TRUE(tenpak::testing::ListDir(dir.path()).empty());
}

TEST(GgufWriterTest, DestroyWithoutFinishLeavesNoFile) {
    TempDir dir;
    {
        auto writer = GgufWriter::Create(dir.File("x.gguf"), {{"k", GgufValue::U8(1)}});
        ASSERT_TRUE(writer.ok());
        ASSERT_TRUE((*writer)->Begin({Planned("a", DType::kF32, {1})}).ok());
        ASSERT_TRUE((*writer)->Write("a", PatternBytes(4, 0)).ok());
        EXPECT_FALSE(tenpak::testing::ListDir(dir.path()).empty());  // the temporary file
    }
    EXPECT_TRUE(tenpak::testing::ListDir(dir.path()).empty());
}

TEST(GgufWriterTest, RejectsBadAlignmentMetadataAndPlans) {
    TempDir dir;
    const std::string path = dir.File("w.gguf");
    for (uint32_t alignment : {0u, 3u, 48u}) {
        auto writer = GgufWriter::Create(path, {}, alignment);
        ASSERT_FALSE(writer.ok());
        EXPECT_EQ(writer.status().code(), StatusCode::kInvalidArgument);
        EXPECT_TRUE(Contains(writer.status().message(), "power of two")) << writer.status().message();
    }
    auto dup = GgufWriter::Create(path, {{"k", GgufValue::U8(1)}, {"k", GgufValue::U8(2)}});
    EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
    auto mixed = GgufWriter::Create(path, {{"k", GgufValue::MakeArray(GgufType::kU32, {GgufValue::String("x")})}});
    EXPECT_EQ(mixed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(mixed.status().message(), "\"k\"")) << mixed.status().message();
    auto conflict = GgufWriter::Create(path, {{"general.alignment", GgufValue::U32(32)}}, 64);
    EXPECT_EQ(conflict.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(GgufWriter::Create(path, {{"general.alignment", GgufValue::U32(64)}}, 64).ok());

    auto writer = GgufWriter::Create(path, {});
    ASSERT_TRUE(writer.ok());
    EXPECT_EQ((*writer)->Begin({Planned(std::string(64, 'n'), DType::kF32, {1})}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*writer)->Begin({Planned("five", DType::kF32, {1, 1, 1, 1, 1})}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*writer)->Begin({Planned("u8", DType::kU8, {4})}).code(), StatusCode::kUnsupported);
    TensorInfo wrong = Planned("w", DType::kF32, {4});
    wrong.nbytes = 3;
    EXPECT_EQ((*writer)->Begin({wrong}).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE((*writer)->Begin({Planned(std::string(63, 'n'), DType::kF32, {1})}).ok());
}

// ---------------------------------------------------------------------------------------------
// Hostile input, built byte by byte. Each case changes one thing in a small valid file.

struct TensorSpec {
    std::string name;
    std::vector<uint64_t> ne;  // innermost first, as on disk
    uint32_t ggml_type = 0;
    uint64_t offset = 0;
};

struct FileSpec {
    uint32_t magic = kGgufMagic;
    uint32_t version = 3;
    std::optional<uint64_t> tensor_count;  // overrides the real count
    std::optional<uint64_t> kv_count;
    std::vector<std::string> kvs;  // encoded key, type and value
    std::vector<TensorSpec> tensors;
    size_t pad_to = 32;
    size_t data_bytes = 96;
};

std::string Kv(std::string_view key, GgufType type, const Bytes& value) {
    return Bytes().Str(key).U32(static_cast<uint32_t>(type)).Raw(value.str()).str();
}

FileSpec BaseSpec() {
    FileSpec spec;
    spec.kvs.push_back(Kv("general.architecture", GgufType::kString, Bytes().Str("llama")));
    spec.kvs.push_back(
        Kv("tokenizer.ggml.tokens", GgufType::kArray, Bytes().U32(8).U64(3).Str("<unk>").Str("<s>").Str("</s>")));
    spec.kvs.push_back(Kv("llama.block_count", GgufType::kU32, Bytes().U32(5)));
    spec.tensors = {{"blk.0.attn_q.weight", {16}, 0, 0}, {"output.weight", {4, 2}, 0, 64}};  // 64 + 32 bytes
    return spec;
}

std::string Build(const FileSpec& spec) {
    Bytes b;
    b.U32(spec.magic).U32(spec.version);
    b.U64(spec.tensor_count.value_or(spec.tensors.size())).U64(spec.kv_count.value_or(spec.kvs.size()));
    for (const std::string& kv : spec.kvs) b.Raw(kv);
    for (const TensorSpec& t : spec.tensors) {
        b.Str(t.name).U32(static_cast<uint32_t>(t.ne.size()));
        for (uint64_t ne : t.ne) b.U64(ne);
        b.U32(t.ggml_type).U64(t.offset);
    }
    b.PadTo(spec.pad_to);
    b.Raw(std::string(spec.data_bytes, '\x5a'));
    return b.str();
}

// Opens `bytes` from a file and checks the error's code and that its message names the file and
// each of `parts`.
void ExpectOpenError(const std::string& bytes, StatusCode code, const std::vector<std::string>& parts) {
    TempDir dir;
    const std::string path = dir.File("hostile.gguf");
    WriteFile(path, bytes);
    Result<std::unique_ptr<GgufReader>> reader = GgufReader::Open(path);
    ASSERT_FALSE(reader.ok()) << "opened a bad file";
    const std::string& message = reader.status().message();
    EXPECT_EQ(reader.status().code(), code) << message;
    EXPECT_TRUE(Contains(message, path)) << message;
    for (const std::string& part : parts) EXPECT_TRUE(Contains(message, part)) << "no '" << part << "' in: " << message;
}

TEST(GgufParseErrorTest, BaseFileIsValid) {
    TempDir dir;
    WriteFile(dir.File("ok.gguf"), Build(BaseSpec()));
    std::unique_ptr<GgufReader> reader = OpenOrDie(dir.File("ok.gguf"));
    ASSERT_NE(reader, nullptr);
    ASSERT_EQ(reader->tensors().size(), 2u);
    EXPECT_EQ(reader->tensors()[1].shape, (std::vector<int64_t>{2, 4}));
    EXPECT_EQ(reader->metadata().size(), 3u);
}

TEST(GgufParseErrorTest, NotAGgufFile) {
    FileSpec spec = BaseSpec();
    spec.magic = 0x58554747;  // "GGUX"
    ExpectOpenError(Build(spec), StatusCode::kInvalidArgument, {"not a GGUF file", "\"GGUX\""});
    ExpectOpenError(std::string("PK\x03\x04 zip", 8), StatusCode::kInvalidArgument, {"\"PK\\x03\\x04\""});
    ExpectOpenError("GG", StatusCode::kInvalidArgument, {"not a GGUF file", "\"GG\""});
    ExpectOpenError("", StatusCode::kInvalidArgument, {"not a GGUF file"});
}

TEST(GgufParseErrorTest, UnsupportedVersions) {
    for (uint32_t version : {0u, 1u, 4u}) {
        FileSpec spec = BaseSpec();
        spec.version = version;
        ExpectOpenError(Build(spec), StatusCode::kUnsupported, {"GGUF version " + std::to_string(version)});
    }
    FileSpec big_endian = BaseSpec();
    big_endian.version = 0x03000000;
    ExpectOpenError(Build(big_endian), StatusCode::kUnsupported, {"big-endian"});
}

TEST(GgufParseErrorTest, HugeCountsAreCorruptionNotAllocations) {
    FileSpec spec = BaseSpec();
    spec.tensor_count = uint64_t{1} << 60;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"tensor_count", "1152921504606846976"});

    spec = BaseSpec();
    spec.kv_count = UINT64_MAX;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"metadata_kv_count"});

    spec = BaseSpec();
    spec.kvs[1] = Kv("tokenizer.ggml.tokens", GgufType::kArray, Bytes().U32(8).U64(uint64_t{1} << 62).Str("a"));
    ExpectOpenError(Build(spec), StatusCode::kCorruption,
                    {"\"tokenizer.ggml.tokens\"", "array count", "4611686018427387904"});

    spec = BaseSpec();  // an inner array of a nested array
    spec.kvs[1] = Kv("nested", GgufType::kArray, Bytes().U32(9).U64(1).U32(0).U64(uint64_t{1} << 62));
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"nested\"", "array count"});
}

TEST(GgufParseErrorTest, MetadataItemLimit) {
    // 2^24 + 1 one-byte items that are really there: the bytes fit, the item limit does not.
    constexpr uint64_t kItems = (uint64_t{1} << 24) + 1;
    FileSpec spec = BaseSpec();
    spec.kvs.push_back(Kv("big", GgufType::kArray, Bytes().U32(0).U64(kItems).Raw(std::string(kItems, '\1'))));
    Result<GgufHeader> header = ParseGgufHeader(AsBytes(Build(spec)), "big.gguf");
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.status().code(), StatusCode::kResourceExhausted);
    EXPECT_TRUE(Contains(header.status().message(), "big.gguf") && Contains(header.status().message(), "\"big\""))
        << header.status().message();
}

TEST(GgufParseErrorTest, LengthsPastTheEnd) {
    FileSpec spec = BaseSpec();
    spec.kvs[0] = Kv("general.name", GgufType::kString, Bytes().U64(1000).Raw("short"));
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"general.name\"", "length 1000"});

    spec = BaseSpec();
    spec.kvs[0] = Bytes().U64(uint64_t{1} << 40).Raw("key").str();
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"key of metadata entry #0", "1099511627776"});

    spec = BaseSpec();
    spec.tensors[1].name = "";
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"tensor info #1", "empty name"});
}

TEST(GgufParseErrorTest, BadValues) {
    FileSpec spec = BaseSpec();
    spec.kvs[2] = Kv("llama.block_count", static_cast<GgufType>(13), Bytes().U32(5));
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"llama.block_count\"", "unknown value type 13"});

    spec = BaseSpec();
    spec.kvs[2] = Kv("list", GgufType::kArray, Bytes().U32(42).U64(1).U32(5));
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"list\"", "unknown value type 42"});

    spec = BaseSpec();
    spec.kvs[2] = Kv("flag", GgufType::kBool, Bytes().U8(2));
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"flag\"", "bool byte 2"});

    spec = BaseSpec();
    spec.kvs.push_back(spec.kvs[0]);
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"general.architecture\"", "appears twice"});
}

TEST(GgufParseErrorTest, ArrayNestingDepthLimit) {
    auto nested = [](int depth) {
        Bytes value;
        for (int level = 1; level < depth; ++level) value.U32(9).U64(1);  // array of one array ...
        value.U32(0).U64(1).U8(7);                                        // ... of one u8
        FileSpec spec = BaseSpec();
        spec.kvs.push_back(Kv("deep", GgufType::kArray, value));
        return Build(spec);
    };
    Result<GgufHeader> eight = ParseGgufHeader(AsBytes(nested(8)), "eight.gguf");
    ASSERT_TRUE(eight.ok()) << eight.status().ToString();
    const GgufValue* value = FindGgufKey(eight->metadata, "deep");
    for (int level = 1; level < 8; ++level) value = &value->AsArray()->items.at(0);
    EXPECT_EQ(value->AsArray()->items.at(0).AsUInt(), 7u);
    ExpectOpenError(nested(9), StatusCode::kUnsupported, {"\"deep\"", "nests arrays 9 deep"});
}

TEST(GgufParseErrorTest, BadTensorInfos) {
    FileSpec spec = BaseSpec();
    spec.tensors[0].ne = {1, 1, 1, 1, 16};
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"blk.0.attn_q.weight\"", "n_dims 5"});

    spec = BaseSpec();
    spec.tensors[1].ggml_type = 99;
    ExpectOpenError(Build(spec), StatusCode::kUnsupported, {"\"output.weight\"", "ggml type 99"});
    spec.tensors[1].ggml_type = 16;
    ExpectOpenError(Build(spec), StatusCode::kUnsupported, {"\"output.weight\"", "IQ2_XXS"});

    spec = BaseSpec();
    spec.tensors[1].ne = {16, 2};
    spec.tensors[1].ggml_type = 8;  // Q8_0 rows must be multiples of 32
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "block size 32"});

    spec = BaseSpec();
    spec.tensors[0].ne = {uint64_t{1} << 63};
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"blk.0.attn_q.weight\"", "ne[0]"});

    spec = BaseSpec();
    spec.tensors[0].ne = {uint64_t{1} << 40, uint64_t{1} << 40};
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"blk.0.attn_q.weight\"", "overflows"});

    spec = BaseSpec();
    spec.tensors[1].name = std::string(64, 'x');
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"tensor info #1", "64 bytes"});
    spec.tensors[1].name = std::string(63, 'x');
    EXPECT_TRUE(ParseGgufHeader(AsBytes(Build(spec)), "63.gguf").ok());

    spec = BaseSpec();
    spec.tensors[1].name = spec.tensors[0].name;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"blk.0.attn_q.weight\"", "appears twice"});
}

TEST(GgufParseErrorTest, BadOffsets) {
    FileSpec spec = BaseSpec();
    spec.tensors[1].offset = 80;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "offset 80", "alignment 32"});

    spec = BaseSpec();
    spec.tensors[1].offset = uint64_t{1} << 40;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "past the end"});
    spec.tensors[1].offset = UINT64_MAX - 31;  // aligned, and offset + size overflows
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "past the end"});
    spec = BaseSpec();
    spec.data_bytes = 95;  // last tensor one byte short
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "past the end"});

    spec = BaseSpec();
    spec.tensors[1].offset = 32;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "overlaps", "\"blk.0.attn_q.weight\""});
    spec.tensors[1].offset = 0;
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"overlaps"});
}

TEST(GgufParseErrorTest, Alignment) {
    for (uint32_t alignment : {0u, 3u, 48u}) {
        FileSpec spec = BaseSpec();
        spec.kvs.push_back(Kv("general.alignment", GgufType::kU32, Bytes().U32(alignment)));
        ExpectOpenError(Build(spec), StatusCode::kCorruption,
                        {"\"general.alignment\" is " + std::to_string(alignment), "power of two"});
    }
    FileSpec spec = BaseSpec();
    spec.kvs.push_back(Kv("general.alignment", GgufType::kU64, Bytes().U64(32)));
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"general.alignment\"", "must be u32"});

    spec = BaseSpec();
    spec.kvs.push_back(Kv("general.alignment", GgufType::kU32, Bytes().U32(64)));
    spec.pad_to = 64;
    spec.tensors[1].offset = 64;
    Result<GgufHeader> header = ParseGgufHeader(AsBytes(Build(spec)), "a64.gguf");
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    EXPECT_EQ(header->alignment, 64u);
    EXPECT_EQ(header->data_offset % 64, 0u);
    spec.tensors[1].offset = 32;  // aligned to 32 but not to 64
    ExpectOpenError(Build(spec), StatusCode::kCorruption, {"\"output.weight\"", "alignment 64"});
}

TEST(GgufParseErrorTest, TruncatedGoldenFileNeverParses) {
    const std::string golden = ReadFile(GoldenPath("f32"));
    ASSERT_TRUE(ParseGgufHeader(AsBytes(golden), "whole.gguf").ok());
    std::vector<size_t> cuts;
    for (size_t cut = 0; cut < 64; ++cut) cuts.push_back(cut);
    for (size_t cut = 64; cut < kGoldenDataOffset + 64; cut += 7) cuts.push_back(cut);
    for (size_t cut = kGoldenDataOffset - 40; cut < kGoldenDataOffset + 1; ++cut) cuts.push_back(cut);
    for (size_t cut : {golden.size() / 2, golden.size() - 256, golden.size() - 1}) cuts.push_back(cut);
    for (size_t cut : cuts) {
        const std::span<const std::byte> prefix = AsBytes(golden).first(cut);
        Result<GgufHeader> header = ParseGgufHeader(prefix, "cut.gguf");
        ASSERT_FALSE(header.ok()) << "a prefix of " << cut << " bytes parsed";
        const StatusCode expected = cut < 4 ? StatusCode::kInvalidArgument : StatusCode::kCorruption;
        ASSERT_EQ(header.status().code(), expected) << cut << ": " << header.status().message();
        ASSERT_TRUE(Contains(header.status().message(), "cut.gguf")) << header.status().message();
    }
    // Through a real file, the messages name the path and where the file ends.
    ExpectOpenError(golden.substr(0, 3000), StatusCode::kCorruption, {"\"tokenizer.ggml.tokens\"", "array count"});
    ExpectOpenError(golden.substr(0, 13000), StatusCode::kCorruption, {"tensor"});
    ExpectOpenError(golden.substr(0, golden.size() - 1), StatusCode::kCorruption,
                    {"\"blk.4.ffn_norm.weight\"", "past the end"});
}

}  // namespace
}  // namespace tenpak::io
