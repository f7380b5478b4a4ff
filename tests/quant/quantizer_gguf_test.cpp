// The GGUF encoders against llama.cpp itself: shared/data/stories260K/gguf holds the same weights
// as F32 and as Q8_0 / Q4_0 written by llama.cpp c392e50's tools (its README says how). Each
// quantized tensor of the mix files is re-quantized here from the F32 file's tensor of the same
// name, packed into GGML blocks exactly as a GGUF writer would (tenpak/core/ggml_blocks.h), and
// compared byte for byte with the file. Also: what rtn's zero-point floor costs on these weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "quant/blockwise.h"
#include "quantizer_test_util.h"
#include "tenpak/core/ggml_blocks.h"
#include "tenpak/core/half.h"
#include "tenpak/io/gguf.h"
#include "tenpak/quant/quantizer.h"
#include "test_util.h"

namespace tenpak::quant {
namespace {

using quantformat::QuantizedTensor;

std::string GoldenPath(const std::string& variant) {
    return tenpak::testing::SharedData("stories260K/gguf/stories260K-" + variant + ".gguf");
}

std::unique_ptr<io::GgufReader> OpenOrDie(const std::string& path) {
    Result<std::unique_ptr<io::GgufReader>> reader = io::GgufReader::Open(path);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::move(reader).value() : nullptr;
}

// The F16 bits a GGUF writer stores for one of our scales (which are F16 values already).
uint16_t F16Bits(float scale) {
    const uint16_t bits = F32ToF16Ref(scale);
    const float back = F16ToF32Ref(bits);
    EXPECT_TRUE(back == scale || (std::isnan(back) && std::isnan(scale))) << scale << " is not an F16 value";
    return bits;
}

// Packs codes and scales into llama.cpp's blocks (shared/formats.md E.2).
std::vector<std::byte> PackQ8_0(const QuantizedTensor& q) {
    const size_t blocks = q.codes.size() / kGgmlBlockElems;
    std::vector<std::byte> out(blocks * sizeof(BlockQ8_0));
    for (size_t b = 0; b < blocks; ++b) {
        BlockQ8_0 block{};
        EXPECT_EQ(q.zeros[b], 128.0f);
        block.d = F16Bits(q.scales[b]);
        for (size_t j = 0; j < kGgmlBlockElems; ++j) {
            block.qs[j] = static_cast<int8_t>(static_cast<int>(q.codes[b * kGgmlBlockElems + j]) - 128);
        }
        std::memcpy(out.data() + b * sizeof(BlockQ8_0), &block, sizeof(BlockQ8_0));
    }
    return out;
}

std::vector<std::byte> PackQ4_0(const QuantizedTensor& q) {
    const size_t blocks = q.codes.size() / kGgmlBlockElems;
    constexpr size_t kHalf = kGgmlBlockElems / 2;
    std::vector<std::byte> out(blocks * sizeof(BlockQ4_0));
    for (size_t b = 0; b < blocks; ++b) {
        BlockQ4_0 block{};
        EXPECT_EQ(q.zeros[b], 8.0f);
        block.d = F16Bits(q.scales[b]);
        const uint8_t* codes = q.codes.data() + b * kGgmlBlockElems;
        for (size_t j = 0; j < kHalf; ++j) block.qs[j] = static_cast<uint8_t>(codes[j] | (codes[j + kHalf] << 4));
        std::memcpy(out.data() + b * sizeof(BlockQ4_0), &block, sizeof(BlockQ4_0));
    }
    return out;
}

TEST(QuantizerGgufTest, Q8_0AndQ4_0MatchLlamaCppByteForByte) {
    std::unique_ptr<io::GgufReader> f32 = OpenOrDie(GoldenPath("f32"));
    ASSERT_NE(f32, nullptr);
    ThreadPool pool(2);
    std::map<std::string, int> compared;  // "<variant> <type>" -> tensors
    for (const std::string variant : {"q8_0-mix", "q4_0-mix"}) {
        std::unique_ptr<io::GgufReader> mix = OpenOrDie(GoldenPath(variant));
        ASSERT_NE(mix, nullptr);
        for (const io::TensorInfo& info : mix->tensors()) {
            if (info.dtype != DType::kQ8_0 && info.dtype != DType::kQ4_0) continue;
            const bool q8 = info.dtype == DType::kQ8_0;
            const io::TensorInfo* source = f32->Find(info.name);
            ASSERT_NE(source, nullptr) << info.name;
            ASSERT_EQ(source->dtype, DType::kF32) << info.name;
            ASSERT_EQ(source->shape, info.shape) << info.name;
            ASSERT_EQ(info.shape.size(), 2u) << info.name;
            const int64_t rows = info.shape[0];
            const int64_t cols = info.shape[1];

            Result<io::TensorData> weights = f32->Read(*source);
            ASSERT_TRUE(weights.ok()) << weights.status().ToString();
            Result<std::unique_ptr<Quantizer>> quantizer =
                MakeQuantizer(DefaultOptions(q8 ? Method::kGgufQ8_0 : Method::kGgufQ4_0));
            ASSERT_TRUE(quantizer.ok());
            Result<QuantizedTensor> q = (*quantizer)->Quantize(weights->as<float>(), rows, cols, pool);
            ASSERT_TRUE(q.ok()) << info.name << ": " << q.status().ToString();
            const std::vector<std::byte> ours = q8 ? PackQ8_0(*q) : PackQ4_0(*q);

            Result<io::TensorData> stored = mix->Read(info);
            ASSERT_TRUE(stored.ok()) << stored.status().ToString();
            ASSERT_EQ(ours.size(), stored->size()) << info.name;
            const size_t block_bytes = q8 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
            size_t differing = 0;
            size_t first = ours.size();
            for (size_t at = 0; at < ours.size(); at += block_bytes) {
                if (std::memcmp(ours.data() + at, stored->data() + at, block_bytes) != 0) {
                    if (differing++ == 0) first = at / block_bytes;
                }
            }
            EXPECT_EQ(differing, 0u) << variant << " " << info.name << ": " << differing << " of "
                                     << ours.size() / block_bytes << " blocks differ, the first is block " << first;
            ++compared[variant + (q8 ? " Q8_0" : " Q4_0")];
        }
    }
    for (const auto& [what, count] : compared) std::printf("compared %s: %d tensors\n", what.c_str(), count);
    // q8_0-mix: every 2-D tensor but ffn_down (5 layers x 6 + token_embd + output); q4_0-mix: the
    // same as Q4_0 except output.weight, which is Q8_0.
    EXPECT_EQ(compared["q8_0-mix Q8_0"], 32);
    EXPECT_EQ(compared["q4_0-mix Q4_0"], 31);
    EXPECT_EQ(compared["q4_0-mix Q8_0"], 1);
}

// rtn's zero-point floor (asymmetric zero >= 1, for GPTQ v1) on real trained weights: the groups it
// changes and the mean squared error with and without it.
TEST(QuantizerGgufTest, RtnZeroFloorOnStories260K) {
    std::unique_ptr<io::GgufReader> f32 = OpenOrDie(GoldenPath("f32"));
    ASSERT_NE(f32, nullptr);
    ThreadPool pool(2);
    for (int bits : {2, 3, 4, 8}) {
        for (int64_t group : {32, 64, -1}) {
            double error_floor = 0.0;
            double error_gptq = 0.0;
            int64_t changed = 0;
            int64_t groups = 0;
            for (const io::TensorInfo& info : f32->tensors()) {
                if (info.shape.size() != 2) continue;
                const int64_t rows = info.shape[0];
                const int64_t cols = info.shape[1];
                const int64_t g = group == -1 ? cols : group;
                if (cols % g != 0) continue;
                Result<io::TensorData> data = f32->Read(info);
                ASSERT_TRUE(data.ok());
                const std::span<const float> w = data->as<float>();
                Result<QuantizedTensor> a = RunBlockwise(*MakeRtnCodec(bits, false, true), w, rows, cols, g, pool);
                Result<QuantizedTensor> b = RunBlockwise(*MakeRtnCodec(bits, false, false), w, rows, cols, g, pool);
                ASSERT_TRUE(a.ok() && b.ok());
                const std::vector<float> back_a = testing::DequantizeAll(*a);
                const std::vector<float> back_b = testing::DequantizeAll(*b);
                for (size_t i = 0; i < w.size(); ++i) {
                    error_floor += (w[i] - back_a[i]) * static_cast<double>(w[i] - back_a[i]);
                    error_gptq += (w[i] - back_b[i]) * static_cast<double>(w[i] - back_b[i]);
                }
                for (size_t i = 0; i < a->zeros.size(); ++i) changed += a->zeros[i] != b->zeros[i] ? 1 : 0;
                groups += static_cast<int64_t>(a->zeros.size());
            }
            std::printf("rtn asym %d-bit group %3lld: zero floored in %lld of %lld groups, MSE ratio %.6f\n", bits,
                        static_cast<long long>(group), static_cast<long long>(changed), static_cast<long long>(groups),
                        error_floor / error_gptq);
            EXPECT_LE(error_floor, error_gptq * 1.01) << bits << " bits, group " << group;
        }
    }
}

}  // namespace
}  // namespace tenpak::quant
