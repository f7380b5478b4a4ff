// bitsandbytes layouts: 4-bit (nibble order, quant_map, the JSON state byte for byte, double quant)
// and 8-bit (int8 codes, SCB, the 0-d weight_format), from shared/formats.md D.1 and D.2.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "layout_test_util.h"
#include "quantformat/bnb_quant_state_internal.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quantformat {
namespace {

using testing::Bytes;
using testing::Find;
using testing::FindMutable;
using testing::Floats;
using testing::LookupOf;

constexpr char kNf4State[] = "weight.quant_state.bitsandbytes__nf4";
constexpr char kFp4State[] = "weight.quant_state.bitsandbytes__fp4";

QuantizedTensor Table4(int64_t rows, int64_t cols, int64_t blocksize, Scheme scheme) {
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = 4;
    q.scheme = scheme;
    q.group_size = blocksize;
    q.codes.assign(static_cast<size_t>(rows * cols), 0);
    q.scales.assign(static_cast<size_t>(q.groups()), 1.0f);
    return q;
}

std::string Text(const PackedTensor& tensor) {
    const std::vector<uint8_t> bytes = Bytes(tensor);
    return std::string(bytes.begin(), bytes.end());
}

void SetText(PackedTensor& tensor, const std::string& text) {
    tensor.bytes = testing::ToBytes(std::vector<uint8_t>(text.begin(), text.end()));
    tensor.shape = {static_cast<int64_t>(text.size())};
}

Status UnpackBnb4(const std::vector<PackedTensor>& tensors, int64_t rows, int64_t cols) {
    return Unpack(Layout::kBnb4, rows, cols, LayoutParams{}, LookupOf(tensors)).status();
}

// N = 2, K = 4, codes 1..8: element 2i in the high nibble -> bytes 0x12 0x34 0x56 0x78.
TEST(Bnb4LayoutTest, Nf4ByHand) {
    QuantizedTensor q = Table4(2, 4, 64, Scheme::kNf4);
    for (size_t i = 0; i < 8; ++i) q.codes[i] = static_cast<uint8_t>(i + 1);
    q.scales = {2.5f};
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb4, q, "bfloat16");
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 4u);
    EXPECT_EQ((*packed)[0].suffix, "weight");
    EXPECT_EQ((*packed)[1].suffix, "weight.absmax");
    EXPECT_EQ((*packed)[2].suffix, "weight.quant_map");
    EXPECT_EQ((*packed)[3].suffix, kNf4State);

    const PackedTensor& weight = Find(*packed, "weight");
    EXPECT_EQ(weight.dtype, DType::kU8);
    EXPECT_EQ(weight.shape, (std::vector<int64_t>{4, 1}));
    EXPECT_EQ(Bytes(weight), (std::vector<uint8_t>{0x12, 0x34, 0x56, 0x78}));
    const PackedTensor& absmax = Find(*packed, "weight.absmax");
    EXPECT_EQ(absmax.dtype, DType::kF32);
    EXPECT_EQ(absmax.shape, (std::vector<int64_t>{1}));
    EXPECT_EQ(Floats(absmax), (std::vector<float>{2.5f}));
    const PackedTensor& quant_map = Find(*packed, "weight.quant_map");
    EXPECT_EQ(quant_map.shape, (std::vector<int64_t>{16}));
    EXPECT_EQ(Floats(quant_map), std::vector<float>(Nf4Table().begin(), Nf4Table().end()));
    const PackedTensor& state = Find(*packed, kNf4State);
    EXPECT_EQ(state.dtype, DType::kU8);
    const std::string json = R"({"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [2, 4]})";
    EXPECT_EQ(Text(state), json);
    EXPECT_EQ(state.shape, (std::vector<int64_t>{static_cast<int64_t>(json.size())}));

    Result<QuantizedTensor> back = Unpack(Layout::kBnb4, 2, 4, LayoutParams{}, LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// An odd element count pads the last byte's low nibble with zero: codes A, B, C -> 0xAB 0xC0.
TEST(Bnb4LayoutTest, Fp4OddCountByHand) {
    QuantizedTensor q = Table4(1, 3, 32, Scheme::kFp4);
    q.codes = {0xA, 0xB, 0xC};
    q.scales = {0.75f};
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb4, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    EXPECT_EQ(Find(*packed, "weight").shape, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(Bytes(Find(*packed, "weight")), (std::vector<uint8_t>{0xAB, 0xC0}));
    EXPECT_EQ(Floats(Find(*packed, "weight.quant_map")), std::vector<float>(Fp4Table().begin(), Fp4Table().end()));
    EXPECT_EQ(Text(Find(*packed, kFp4State)),
              R"({"quant_type": "fp4", "blocksize": 32, "dtype": "float16", "shape": [1, 3]})");
    Result<QuantizedTensor> back = Unpack(Layout::kBnb4, 1, 3, LayoutParams{}, LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// Double quant: N = 4, K = 64, blocksize 64 -> 4 blocks, one nested block. The file keeps the codes
// and the nested statistics; the JSON gains the nested keys in as_dict's order, with offset 0.1f
// printed as Python prints the double 0.100000001490116119384765625.
TEST(Bnb4LayoutTest, DoubleQuantByHand) {
    QuantizedTensor q = Table4(4, 64, 64, Scheme::kNf4);
    for (size_t i = 0; i < q.codes.size(); ++i) q.codes[i] = static_cast<uint8_t>(i % 16);
    DoubleQuant dq;
    dq.codes = {255, 127, 128, 0};  // DynamicMap8: 1.0, 0.0, the smallest positive, the most negative
    dq.nested_absmax = {2.0f};
    dq.offset = 0.1f;
    for (size_t b = 0; b < 4; ++b) {
        const float product = DynamicMap8()[dq.codes[b]] * 2.0f;
        q.scales[b] = product + 0.1f;
    }
    q.double_quant = dq;
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb4, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 6u);
    const char* order[] = {
        "weight", "weight.absmax", "weight.quant_map", "weight.nested_absmax", "weight.nested_quant_map", kNf4State};
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ((*packed)[i].suffix, order[i]);
    const PackedTensor& absmax = Find(*packed, "weight.absmax");
    EXPECT_EQ(absmax.dtype, DType::kU8);
    EXPECT_EQ(Bytes(absmax), (std::vector<uint8_t>{255, 127, 128, 0}));
    EXPECT_EQ(Floats(Find(*packed, "weight.nested_absmax")), (std::vector<float>{2.0f}));
    EXPECT_EQ(Floats(Find(*packed, "weight.nested_quant_map")),
              std::vector<float>(DynamicMap8().begin(), DynamicMap8().end()));
    EXPECT_EQ(Text(Find(*packed, kNf4State)),
              R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [4, 64], )"
              R"("nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.10000000149011612})");
    EXPECT_EQ(q.scales[0], 2.1f);
    EXPECT_EQ(q.scales[1], 0.1f);

    Result<QuantizedTensor> back = Unpack(Layout::kBnb4, 4, 64, LayoutParams{}, LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

TEST(Bnb4LayoutTest, DoubleQuantScalesMustMatchTheCodes) {
    QuantizedTensor q = Table4(4, 64, 64, Scheme::kNf4);
    DoubleQuant dq;
    dq.codes = {255, 255, 255, 255};
    dq.nested_absmax = {2.0f};
    dq.offset = 0.5f;
    q.double_quant = dq;
    q.scales = {2.5f, 2.5f, 2.5f, 2.75f};  // the last is not 1.0 * 2 + 0.5
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb4, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("absmax 2.75 of block 3 is not its double quantization 2.5"),
              std::string::npos)
        << packed.status().message();
}

TEST(Bnb4LayoutTest, RandomRoundTrips) {
    std::mt19937 rng(2024);
    for (int64_t blocksize : {32, 64, 256, 4096}) {
        for (bool double_quant : {false, true}) {
            for (auto [rows, cols] : {std::pair<int64_t, int64_t>{16, 64}, {7, 33}, {64, 300}}) {
                const QuantizedTensor q =
                    testing::RandomTensor(Layout::kBnb4, rows, cols, 4, blocksize, rng, false, double_quant);
                SCOPED_TRACE("blocksize " + std::to_string(blocksize) + " " + std::to_string(rows) + "x" +
                             std::to_string(cols) + (double_quant ? " dq" : ""));
                testing::ExpectSameTensor(q, testing::RoundTrip(Layout::kBnb4, q, LayoutParams{}));
            }
        }
    }
}

TEST(Bnb4LayoutTest, CanHoldListsTheRules) {
    EXPECT_TRUE(CanHold(Layout::kBnb4, 4, 64, 4, 64, Scheme::kNf4).ok());
    EXPECT_TRUE(CanHold(Layout::kBnb4, 4, 64, 4, 4096, Scheme::kFp4).ok());
    const Status group = CanHold(Layout::kBnb4, 4, 64, 4, 128 + 1, Scheme::kNf4);
    EXPECT_EQ(group.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(group.message().find("bitsandbytes has no group size"), std::string::npos) << group.message();
    EXPECT_NE(group.message().find("32, 64, 128, 256, 512, 1024, 2048 or 4096"), std::string::npos);
    EXPECT_FALSE(CanHold(Layout::kBnb4, 4, 64, 4, -1, Scheme::kNf4).ok());
    EXPECT_FALSE(CanHold(Layout::kBnb4, 4, 64, 4, 16, Scheme::kNf4).ok());
    EXPECT_FALSE(CanHold(Layout::kBnb4, 4, 64, 4, 8192, Scheme::kNf4).ok());
    EXPECT_FALSE(CanHold(Layout::kBnb4, 4, 64, 4, 64, Scheme::kAffine).ok());
    QuantizedTensor q = Table4(2, 4, 64, Scheme::kNf4);
    const Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb4, q, "int8");
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("\"int8\""), std::string::npos) << packed.status().message();
}

class Bnb4BadInputTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937 rng(3);
        q_ = testing::RandomTensor(Layout::kBnb4, 8, 64, 4, 64, rng, false, /*double_quant=*/true);
        q_.scheme = Scheme::kNf4;
        Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb4, q_);
        ASSERT_TRUE(packed.ok());
        packed_ = std::move(packed).value();
    }
    // Replaces the JSON state and returns Unpack's message.
    std::string WithJson(const std::string& json) {
        SetText(FindMutable(packed_, kNf4State), json);
        const Status status = UnpackBnb4(packed_, 8, 64);
        EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
        EXPECT_NE(status.message().find(kNf4State), std::string::npos) << status.message();
        return status.message();
    }
    QuantizedTensor q_;
    std::vector<PackedTensor> packed_;
};

TEST_F(Bnb4BadInputTest, BadJson) {
    const std::string nested = R"(, "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.5})";
    const std::string head = R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [8, 64])";
    EXPECT_NE(WithJson("{not json").find("not valid JSON"), std::string::npos);
    EXPECT_NE(WithJson("[1, 2]").find("expected an object"), std::string::npos);
    EXPECT_NE(WithJson(R"({"blocksize": 64})").find("\"quant_type\" is missing"), std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "fp4", "blocksize": 64, "dtype": "float16", "shape": [8, 64])" + nested)
                  .find("disagrees with the tensor name"),
              std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "int4", "blocksize": 64, "dtype": "float16", "shape": [8, 64])" + nested)
                  .find("expected \"nf4\" or \"fp4\""),
              std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "nf4", "blocksize": 100, "dtype": "float16", "shape": [8, 64])" + nested)
                  .find("\"blocksize\" is 100, expected a power of two 32..4096"),
              std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "nf4", "blocksize": 64.0, "dtype": "float16", "shape": [8, 64])" + nested)
                  .find("not an integer"),
              std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "nf4", "blocksize": 64, "dtype": "int8", "shape": [8, 64])" + nested)
                  .find("\"dtype\" is \"int8\""),
              std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [64, 8])" + nested)
                  .find("shape [64, 8], expected the layer's [8, 64]"),
              std::string::npos);
    EXPECT_NE(WithJson(R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [8])" + nested)
                  .find("expected [N, K]"),
              std::string::npos);
    EXPECT_NE(WithJson(head + R"(, "nested_blocksize": 256})").find("needs all of"), std::string::npos);
    EXPECT_NE(WithJson(head + R"(, "nested_blocksize": 256, "nested_dtype": "float16", "nested_offset": 0.5})")
                  .find("\"nested_dtype\" is \"float16\""),
              std::string::npos);
    EXPECT_NE(WithJson(head + R"(, "nested_blocksize": 0, "nested_dtype": "float32", "nested_offset": 0.5})")
                  .find("\"nested_blocksize\" is 0"),
              std::string::npos);
    EXPECT_NE(WithJson(head + R"(, "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": "x"})")
                  .find("not a number"),
              std::string::npos);
    EXPECT_NE(WithJson(head + R"(, "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 1e300})")
                  .find("not finite"),
              std::string::npos);
}

TEST_F(Bnb4BadInputTest, StateWithoutNestedKeysNeedsF32Absmax) {
    // The stored absmax holds double-quant U8 codes, which a state without nested keys contradicts.
    SetText(FindMutable(packed_, kNf4State),
            R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [8, 64]})");
    const Status status = UnpackBnb4(packed_, 8, 64);
    EXPECT_NE(status.message().find("'weight.absmax': dtype U8, expected F32"), std::string::npos) << status.message();
}

TEST_F(Bnb4BadInputTest, StateTensorProblems) {
    // Both states present.
    std::vector<PackedTensor> both = packed_;
    PackedTensor fp4 = Find(packed_, kNf4State);
    fp4.suffix = kFp4State;
    both.push_back(fp4);
    Status status = UnpackBnb4(both, 8, 64);
    EXPECT_NE(status.message().find("has both"), std::string::npos) << status.message();
    // Neither.
    testing::Remove(both, kNf4State);
    testing::Remove(both, kFp4State);
    status = UnpackBnb4(both, 8, 64);
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
    EXPECT_NE(status.message().find(kNf4State), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(kFp4State), std::string::npos) << status.message();
    // A 2-D state.
    FindMutable(packed_, kNf4State).shape = {1, static_cast<int64_t>(Find(packed_, kNf4State).bytes.size())};
    status = UnpackBnb4(packed_, 8, 64);
    EXPECT_NE(status.message().find("expected [length]"), std::string::npos) << status.message();
}

TEST_F(Bnb4BadInputTest, TensorProblemsAreNamed) {
    std::vector<PackedTensor> copy = packed_;
    FindMutable(copy, "weight.quant_map").bytes[3] = std::byte{0};  // -1.0 loses its sign and exponent
    Status status = UnpackBnb4(copy, 8, 64);
    EXPECT_NE(status.message().find("'weight.quant_map': entry 0"), std::string::npos) << status.message();

    copy = packed_;
    FindMutable(copy, "weight.nested_quant_map").bytes[4 * 200 + 3] = std::byte{0};
    status = UnpackBnb4(copy, 8, 64);
    EXPECT_NE(status.message().find("'weight.nested_quant_map': entry 200"), std::string::npos) << status.message();

    copy = packed_;
    testing::Remove(copy, "weight.nested_absmax");
    status = UnpackBnb4(copy, 8, 64);
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
    EXPECT_NE(status.message().find("'weight.nested_absmax'"), std::string::npos) << status.message();

    copy = packed_;
    FindMutable(copy, "weight").shape = {256};
    status = UnpackBnb4(copy, 8, 64);
    EXPECT_NE(status.message().find("'weight': shape [256], expected [256, 1]"), std::string::npos) << status.message();

    copy = packed_;
    FindMutable(copy, "weight").dtype = DType::kBF16;  // bnb_4bit_quant_storage=bfloat16
    status = UnpackBnb4(copy, 8, 64);
    EXPECT_NE(status.message().find("only bnb_4bit_quant_storage uint8"), std::string::npos) << status.message();

    copy = packed_;
    FindMutable(copy, "weight.absmax").bytes.pop_back();
    status = UnpackBnb4(copy, 8, 64);
    EXPECT_NE(status.message().find("'weight.absmax': 7 bytes, expected 8"), std::string::npos) << status.message();
}

TEST(Bnb4QuantStateTest, PythonFloatRepr) {
    using internal::PythonFloatRepr;
    EXPECT_EQ(PythonFloatRepr(0.0), "0.0");
    EXPECT_EQ(PythonFloatRepr(-0.0), "-0.0");
    EXPECT_EQ(PythonFloatRepr(0.5), "0.5");
    EXPECT_EQ(PythonFloatRepr(123.0), "123.0");
    EXPECT_EQ(PythonFloatRepr(-2.25), "-2.25");
    EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
    EXPECT_EQ(PythonFloatRepr(0.00012), "0.00012");
    EXPECT_EQ(PythonFloatRepr(1e-05), "1e-05");
    EXPECT_EQ(PythonFloatRepr(1.5e-07), "1.5e-07");
    EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
    EXPECT_EQ(PythonFloatRepr(1234567890123456.0), "1234567890123456.0");
    EXPECT_EQ(PythonFloatRepr(1.5e300), "1.5e+300");
    EXPECT_EQ(PythonFloatRepr(static_cast<double>(0.1f)), "0.10000000149011612");
}

TEST(Bnb4QuantStateTest, ParseAcceptsWhatFormatWrites) {
    internal::Bnb4QuantState state;
    state.quant_type = "fp4";
    state.blocksize = 128;
    state.dtype = "float32";
    state.rows = 3;
    state.cols = 5;
    state.nested = true;
    state.nested_offset = 1.0e-6f;
    const std::string json = internal::FormatBnb4QuantState(state);
    Result<internal::Bnb4QuantState> parsed = internal::ParseBnb4QuantState(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->quant_type, "fp4");
    EXPECT_EQ(parsed->blocksize, 128);
    EXPECT_EQ(parsed->dtype, "float32");
    EXPECT_EQ(parsed->rows, 3);
    EXPECT_EQ(parsed->cols, 5);
    EXPECT_TRUE(parsed->nested);
    EXPECT_EQ(parsed->nested_blocksize, 256);
    EXPECT_EQ(parsed->nested_offset, 1.0e-6f);
    // Unknown keys are ignored; integers beyond int64 are refused.
    EXPECT_TRUE(internal::ParseBnb4QuantState(
                    R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [1, 2], "x": null})")
                    .ok());
    EXPECT_FALSE(internal::ParseBnb4QuantState(
                     R"({"quant_type": "nf4", "blocksize": 18446744073709551615, "dtype": "float16", "shape": [1, 2]})")
                     .ok());
    EXPECT_FALSE(
        internal::ParseBnb4QuantState(R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [-1, 2]})")
            .ok());
}

// N = 2, K = 3; codes 0, 128, 255, 1, 127, 200 are stored as code - 128: -128, 0, 127, -127, -1, 72.
TEST(Bnb8LayoutTest, ByHand) {
    QuantizedTensor q;
    q.rows = 2;
    q.cols = 3;
    q.bits = 8;
    q.scheme = Scheme::kInt8Absmax;
    q.group_size = 3;
    q.codes = {0, 128, 255, 1, 127, 200};
    q.scales = {1.5f, 3.0f};
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb8, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 3u);
    const PackedTensor& weight = (*packed)[0];
    EXPECT_EQ(weight.suffix, "weight");
    EXPECT_EQ(weight.dtype, DType::kI8);
    EXPECT_EQ(weight.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(Bytes(weight), (std::vector<uint8_t>{0x80, 0x00, 0x7F, 0x81, 0xFF, 0x48}));
    const PackedTensor& scb = (*packed)[1];
    EXPECT_EQ(scb.suffix, "SCB");
    EXPECT_EQ(scb.dtype, DType::kF32);
    EXPECT_EQ(scb.shape, (std::vector<int64_t>{2}));
    EXPECT_EQ(Floats(scb), (std::vector<float>{1.5f, 3.0f}));
    const PackedTensor& format = (*packed)[2];
    EXPECT_EQ(format.suffix, "weight_format");
    EXPECT_EQ(format.dtype, DType::kU8);
    EXPECT_TRUE(format.shape.empty());  // a 0-d tensor: safetensors "shape": []
    EXPECT_EQ(Bytes(format), (std::vector<uint8_t>{0}));

    Result<QuantizedTensor> back = Unpack(Layout::kBnb8, 2, 3, LayoutParams{}, LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

TEST(Bnb8LayoutTest, RandomRoundTripsAndRules) {
    std::mt19937 rng(8);
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {5, 7}, {64, 256}}) {
        const QuantizedTensor q = testing::RandomTensor(Layout::kBnb8, rows, cols, 8, cols, rng);
        testing::ExpectSameTensor(q, testing::RoundTrip(Layout::kBnb8, q, LayoutParams{}));
    }
    EXPECT_TRUE(CanHold(Layout::kBnb8, 4, 64, 8, -1, Scheme::kInt8Absmax).ok());
    EXPECT_TRUE(CanHold(Layout::kBnb8, 4, 64, 8, 64, Scheme::kInt8Absmax).ok());
    const Status group = CanHold(Layout::kBnb8, 4, 64, 8, 32, Scheme::kInt8Absmax);
    EXPECT_NE(group.message().find("bitsandbytes 8-bit has no group size"), std::string::npos) << group.message();
    EXPECT_FALSE(CanHold(Layout::kBnb8, 4, 64, 4, -1, Scheme::kInt8Absmax).ok());
    EXPECT_FALSE(CanHold(Layout::kBnb8, 4, 64, 8, -1, Scheme::kAffine).ok());
}

TEST(Bnb8LayoutTest, BadInputNamesTheTensor) {
    std::mt19937 rng(9);
    const QuantizedTensor q = testing::RandomTensor(Layout::kBnb8, 4, 8, 8, 8, rng);
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kBnb8, q);
    ASSERT_TRUE(packed.ok());

    std::vector<PackedTensor> copy = *packed;
    FindMutable(copy, "weight_format").bytes[0] = std::byte{2};  // col_turing
    Status status = Unpack(Layout::kBnb8, 4, 8, LayoutParams{}, LookupOf(copy)).status();
    EXPECT_EQ(status.code(), StatusCode::kUnsupported);
    EXPECT_NE(status.message().find("'weight_format': format 2, expected 0"), std::string::npos) << status.message();

    copy = *packed;
    FindMutable(copy, "weight_format").shape = {1};
    status = Unpack(Layout::kBnb8, 4, 8, LayoutParams{}, LookupOf(copy)).status();
    EXPECT_NE(status.message().find("'weight_format': shape [1], expected []"), std::string::npos) << status.message();

    copy = *packed;
    testing::Remove(copy, "SCB");
    status = Unpack(Layout::kBnb8, 4, 8, LayoutParams{}, LookupOf(copy)).status();
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
    EXPECT_NE(status.message().find("'SCB'"), std::string::npos) << status.message();

    copy = *packed;
    FindMutable(copy, "weight").dtype = DType::kU8;
    status = Unpack(Layout::kBnb8, 4, 8, LayoutParams{}, LookupOf(copy)).status();
    EXPECT_NE(status.message().find("'weight': dtype U8, expected I8"), std::string::npos) << status.message();

    status = Unpack(Layout::kBnb8, 8, 4, LayoutParams{}, LookupOf(*packed)).status();
    EXPECT_NE(status.message().find("'weight': shape [4, 8], expected [8, 4]"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace tenpak::quantformat
