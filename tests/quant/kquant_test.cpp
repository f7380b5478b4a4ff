// The k-quant encoders (src/quant/ggml_kquants.cpp, llama.cpp's quantize_row_q4_K_ref / q6_K_ref):
// weights that are exactly representable come back as their codes; Gaussian weights meet error
// bounds that order the types as llama.cpp's do (Q6_K < Q4_K < Q4_0); the result packs into GGUF
// blocks that core's reader dequantizes to the same values; the pool's size changes nothing; and bad
// shapes or values are refused by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "quant/kquant_search.h"
#include "quant/kquants.h"
#include "quantizer_test_util.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/dequantize.h"
#include "tenpak/core/half.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quant {
namespace {

using quantformat::QuantizedTensor;

float F16(float x) {
    return F16ToF32Ref(F32ToF16Ref(x));
}

double RelativeRmse(const std::vector<float>& w, const QuantizedTensor& q) {
    std::vector<float> back(w.size());
    quantformat::Dequantize(q, back);
    double err = 0.0;
    double ref = 0.0;
    for (size_t i = 0; i < w.size(); ++i) {
        err += (back[i] - w[i]) * static_cast<double>(back[i] - w[i]);
        ref += w[i] * static_cast<double>(w[i]);
    }
    return std::sqrt(err / ref);
}

// Rows of super-blocks whose groups hold values scale * q + min with q over all of 0..15 in every
// group: make_qkx2_quants fits them (its first pass exactly, up to rounding), so the codes come back as
// q. The scales and minimums are whole multiples of 1/63 of their super-block's largest, so the 6-bit
// codes llama.cpp derives from them are exact too, and the values come back within the F16 rounding
// of the two super-block factors.
TEST(KQuantTest, Q4_KRecoversExactlyRepresentableGroups) {
    const int64_t rows = 3;
    const int64_t cols = 512;
    const int scale_codes[8] = {63, 21, 9, 7, 3, 1, 42, 18};
    const int min_codes[8] = {0, 63, 10, 20, 33, 1, 5, 60};  // 0: a group with no negative part
    std::vector<float> w(static_cast<size_t>(rows * cols));
    std::vector<uint8_t> codes(w.size());
    std::mt19937 rng(5);
    for (int64_t g = 0; g < rows * cols / 32; ++g) {
        const float scale = 0.0001f * static_cast<float>(scale_codes[g % 8]);
        const float min = -0.0002f * static_cast<float>(min_codes[g % 8]);
        std::vector<uint8_t> q(32);
        for (int i = 0; i < 32; ++i) q[i] = static_cast<uint8_t>(i % 16);
        std::shuffle(q.begin(), q.end(), rng);
        for (int i = 0; i < 32; ++i) {
            const size_t at = static_cast<size_t>(g * 32 + i);
            codes[at] = q[i];
            w[at] = scale * static_cast<float>(q[i]) + min;
        }
    }
    ThreadPool pool(2);
    Result<QuantizedTensor> q = QuantizeKQuant(KQuant::kQ4_K, w, rows, cols, pool);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_EQ(q->codes, codes);
    ASSERT_TRUE(q->super_blocks.has_value());
    for (size_t g = 0; g < q->super_blocks->scale_codes.size(); ++g) {
        EXPECT_EQ(q->super_blocks->scale_codes[g], scale_codes[g % 8]) << g;
        EXPECT_EQ(q->super_blocks->min_codes[g], min_codes[g % 8]) << g;
    }
    for (float d : q->super_blocks->d) EXPECT_EQ(d, F16(d));  // stored as F16
    std::vector<float> back(w.size());
    quantformat::Dequantize(*q, back);
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(back[i], w[i], 1e-4f) << i;
}

// The same for Q6_K: values scale * (q - 32) with q over 0..63 in every group of 16, each group
// holding q = 0 (-32, its value of largest magnitude, so make_qx_quants' first scale fits exactly and
// no other fits better). The group scales are 1, 2, 4 and 8 times a unit, so the signed scale codes
// (-128 / largest x scale) are exact: -16, -32, -64, -128.
TEST(KQuantTest, Q6_KRecoversExactlyRepresentableGroups) {
    const int64_t rows = 2;
    const int64_t cols = 256;
    std::vector<float> w(static_cast<size_t>(rows * cols));
    std::vector<uint8_t> codes(w.size());
    std::mt19937 rng(6);
    std::uniform_int_distribution<int> any(1, 63);
    for (int64_t g = 0; g < rows * cols / 16; ++g) {
        const float scale = 0.0005f * static_cast<float>(1 << (g % 4));
        for (int i = 0; i < 16; ++i) {
            const size_t at = static_cast<size_t>(g * 16 + i);
            codes[at] = static_cast<uint8_t>(i == 3 ? 0 : any(rng));
            w[at] = scale * static_cast<float>(static_cast<int>(codes[at]) - 32);
        }
    }
    ThreadPool pool(1);
    Result<QuantizedTensor> q = QuantizeKQuant(KQuant::kQ6_K, w, rows, cols, pool);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_EQ(q->codes, codes);
    for (size_t g = 0; g < q->super_blocks->scale_codes.size(); ++g) {
        EXPECT_EQ(q->super_blocks->scale_codes[g], -16 * (1 << (g % 4))) << g;
    }
    std::vector<float> back(w.size());
    quantformat::Dequantize(*q, back);
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(back[i], w[i], 1e-4f) << i;
}

// TroubleMatrix (Gaussian weights with outliers, all-zero rows, one-signed rows, a single value) and
// plain Gaussian weights. Measured relative RMSE: TroubleMatrix Q6_K 0.0135, Q4_K 0.0288, Q4_0
// 0.0604; Gaussian Q6_K 0.0176, Q4_K 0.0713, Q4_0 0.0852 (two more bits, a quarter of the error;
// Q4_K's fitted scales and minimums beat Q4_0 at the same 4.5 bits per weight). Bounds about 1.25x
// the measurements. An all-zero super-block is written as zeros, as llama.cpp does.
TEST(KQuantTest, ErrorBoundsOrderTheTypes) {
    const int64_t rows = 44;
    const int64_t cols = 512;
    const std::vector<float> w = testing::TroubleMatrix(rows, cols, 9);
    ThreadPool pool(2);
    Result<QuantizedTensor> q4k = QuantizeKQuant(KQuant::kQ4_K, w, rows, cols, pool);
    Result<QuantizedTensor> q6k = QuantizeKQuant(KQuant::kQ6_K, w, rows, cols, pool);
    ASSERT_TRUE(q4k.ok() && q6k.ok());
    QuantOptions legacy = DefaultOptions(Method::kGgufQ4_0);
    Result<std::unique_ptr<Quantizer>> q40 = MakeQuantizer(legacy);
    ASSERT_TRUE(q40.ok());
    Result<QuantizedTensor> q4_0 = (*q40)->Quantize(w, rows, cols, pool);
    ASSERT_TRUE(q4_0.ok());
    const double e6 = RelativeRmse(w, *q6k);
    const double e4 = RelativeRmse(w, *q4k);
    const double e40 = RelativeRmse(w, *q4_0);
    std::printf("[ relative RMSE ] Q6_K %.4f, Q4_K %.4f, Q4_0 %.4f\n", e6, e4, e40);
    std::vector<float> g(16 * 512);
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (float& v : g) v = normal(rng);
    auto g6 = QuantizeKQuant(KQuant::kQ6_K, g, 16, 512, pool);
    auto g4 = QuantizeKQuant(KQuant::kQ4_K, g, 16, 512, pool);
    auto g40 = (*q40)->Quantize(g, 16, 512, pool);
    ASSERT_TRUE(g6.ok() && g4.ok() && g40.ok());
    const double n6 = RelativeRmse(g, *g6);
    const double n4 = RelativeRmse(g, *g4);
    const double n40 = RelativeRmse(g, *g40);
    std::printf("[ gaussian RMSE ] Q6_K %.4f, Q4_K %.4f, Q4_0 %.4f\n", n6, n4, n40);
    EXPECT_LT(n6, 0.022);
    EXPECT_LT(n4, 0.089);
    EXPECT_LT(n4, n40);
    EXPECT_LT(e6, 0.017);
    EXPECT_LT(e4, 0.036);
    EXPECT_LT(e6, e4);
    EXPECT_LT(e4, e40);
    // Row 3 of TroubleMatrix is all zeros: its super-blocks are zeros throughout.
    const size_t zero_block = 3 * cols / 256;
    EXPECT_EQ(q6k->super_blocks->d[zero_block], 0.0f);
    for (size_t i = 0; i < 256; ++i) EXPECT_EQ(q6k->codes[zero_block * 256 + i], 0) << i;
}

TEST(KQuantTest, PacksIntoBlocksCoreReadsAndIgnoresThePoolSize) {
    const int64_t rows = 6;
    const int64_t cols = 768;
    const std::vector<float> w = testing::TroubleMatrix(rows, cols, 13);
    for (KQuant type : {KQuant::kQ4_K, KQuant::kQ6_K}) {
        ThreadPool one(1);
        ThreadPool two(2);
        Result<QuantizedTensor> a = QuantizeKQuant(type, w, rows, cols, one);
        Result<QuantizedTensor> b = QuantizeKQuant(type, w, rows, cols, two);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(a->codes, b->codes);
        EXPECT_EQ(a->super_blocks->scale_codes, b->super_blocks->scale_codes);
        const quantformat::Layout layout =
            type == KQuant::kQ4_K ? quantformat::Layout::kGgufQ4_K : quantformat::Layout::kGgufQ6_K;
        Result<std::vector<quantformat::PackedTensor>> packed = quantformat::Pack(layout, *a);
        ASSERT_TRUE(packed.ok()) << packed.status().ToString();
        std::vector<float> ours(w.size());
        std::vector<float> core(w.size());
        quantformat::Dequantize(*a, ours);
        ASSERT_TRUE(DequantizeToF32((*packed)[0].dtype, (*packed)[0].bytes, core).ok());
        for (size_t i = 0; i < w.size(); ++i) {
            ASSERT_EQ(std::bit_cast<uint32_t>(ours[i]), std::bit_cast<uint32_t>(core[i])) << i;
        }
    }
}

TEST(KQuantTest, BadShapesAndValuesAreRefusedByName) {
    ThreadPool pool(1);
    std::vector<float> w(2 * 384, 0.01f);
    Result<QuantizedTensor> q = QuantizeKQuant(KQuant::kQ4_K, w, 2, 384, pool);
    ASSERT_FALSE(q.ok());
    EXPECT_NE(q.status().message().find("Q4_K needs the input size 384 to be a multiple of its super-block of 256"),
              std::string::npos)
        << q.status().message();
    w.assign(2 * 256, 0.01f);
    w[256 + 7] = std::numeric_limits<float>::quiet_NaN();
    q = QuantizeKQuant(KQuant::kQ6_K, w, 2, 256, pool);
    ASSERT_FALSE(q.ok());
    EXPECT_NE(q.status().message().find("NaN at row 1, column 7"), std::string::npos) << q.status().message();
    q = QuantizeKQuant(KQuant::kQ6_K, w, 3, 256, pool);
    EXPECT_FALSE(q.ok());
}

}  // namespace
}  // namespace tenpak::quant

namespace tenpak::quant {
namespace {

// The batched searches the encoders run against the scalar transcriptions, bit for bit: scale,
// minimum and every code, on groups of many kinds (Gaussian at scales 1e-6 .. 1e2, one-signed, with
// outliers, with repeated values and ties, all equal, all zero) side by side in every combination,
// with Q4_K's parameters and Q5_K's and Q2_K's (other levels, steps and group sizes).
TEST(KQuantSearchTest, BatchedSearchesEqualTheScalarOnes) {
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> kind(0, 6);
    constexpr int kLanes = kquant::kGroupLanes;
    int groups = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        float x[kLanes * 32];
        for (int g = 0; g < kLanes; ++g) {
            const int k = kind(rng);
            const float scale = std::pow(10.0f, static_cast<float>(static_cast<int>(rng() % 9)) - 6.0f);
            for (int i = 0; i < 32; ++i) {
                float v = normal(rng) * scale;
                if (k == 1) v = std::fabs(v);
                if (k == 2) v = -std::fabs(v);
                if (k == 3 && i % 11 == 0) v *= 40.0f;
                if (k == 4) v = std::round(v / scale * 2.0f) * scale / 2.0f;  // ties and repeats
                if (k == 5) v = (trial % 2 ? -1.0f : 1.0f) * scale;          // all equal (flat when negative)
                if (k == 6) v = 0.0f;
                x[g * 32 + i] = v;
            }
        }
        const struct {
            int n, nmax;
            float rmin, rdelta;
            int nstep;
        } params[] = {{32, 15, -1.0f, 0.1f, 20}, {32, 31, -0.5f, 0.1f, 15}, {16, 3, -0.5f, 0.1f, 15}};
        for (const auto& p : params) {
            // The groups of this size, one after the other, with Q4_K's weights.
            float weights[kLanes * 32];
            for (int g = 0; g < kLanes; ++g) {
                float sum_x2 = 0;
                for (int i = 0; i < p.n; ++i) sum_x2 += x[g * p.n + i] * x[g * p.n + i];
                const float av_x = std::sqrt(sum_x2 / static_cast<float>(p.n));
                for (int i = 0; i < p.n; ++i) weights[g * p.n + i] = av_x + std::fabs(x[g * p.n + i]);
            }
            uint8_t l_batched[kLanes * 32];
            float scales[kLanes];
            float mins[kLanes];
            kquant::Qkx2Groups(p.n, p.nmax, x, weights, l_batched, scales, mins, p.rmin, p.rdelta, p.nstep);
            for (int g = 0; g < kLanes; ++g) {
                uint8_t l_scalar[32];
                uint8_t laux[32];
                float min_scalar = 0;
                const float s1 = kquant::Qkx2Scalar(p.n, p.nmax, x + g * p.n, weights + g * p.n, l_scalar,
                                                    &min_scalar, laux, p.rmin, p.rdelta, p.nstep);
                ASSERT_EQ(std::bit_cast<uint32_t>(s1), std::bit_cast<uint32_t>(scales[g])) << trial << " " << g;
                ASSERT_EQ(std::bit_cast<uint32_t>(min_scalar), std::bit_cast<uint32_t>(mins[g])) << trial << " " << g;
                ASSERT_TRUE(std::equal(l_scalar, l_scalar + p.n, l_batched + g * p.n)) << trial << " " << g;
                ++groups;
            }
        }
        for (int n : {16, 32}) {
            int8_t q_scalar[32];
            int8_t q_batched[32];
            const float a = kquant::QxScalar(n, 32, x, q_scalar);
            const float b = kquant::QxBatched(n, 32, x, q_batched);
            ASSERT_EQ(std::bit_cast<uint32_t>(a), std::bit_cast<uint32_t>(b)) << trial;
            ASSERT_TRUE(std::equal(q_scalar, q_scalar + n, q_batched)) << trial;
        }
    }
    EXPECT_EQ(groups, 3000 * 3 * kLanes);
}

}  // namespace
}  // namespace tenpak::quant

namespace tenpak::quant {
namespace {

// Stored weights cast one super-block at a time give the tensor QuantizeKQuant gives for their F32
// cast, for F16, BF16 and F32; the first non-finite stored weight is named.
TEST(KQuantTest, StoredWeightsGiveTheSameTensorsAsTheirCast) {
    const int64_t rows = 5;
    const int64_t cols = 512;
    const std::vector<float> w = testing::TroubleMatrix(rows, cols, 21);
    ThreadPool pool(2);
    for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
        const size_t elem = Traits(dtype).block_bytes;
        std::vector<std::byte> stored(w.size() * elem);
        ASSERT_TRUE(CastTensor(DType::kF32, std::as_bytes(std::span(w)), dtype, stored, w.size()).ok());
        std::vector<float> cast(w.size());
        ASSERT_TRUE(CastTensor(dtype, stored, DType::kF32, std::as_writable_bytes(std::span(cast)), w.size()).ok());
        for (KQuant type : {KQuant::kQ4_K, KQuant::kQ6_K}) {
            Result<QuantizedTensor> a = QuantizeKQuantStored(type, dtype, stored, rows, cols, pool);
            Result<QuantizedTensor> b = QuantizeKQuant(type, cast, rows, cols, pool);
            ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString();
            EXPECT_EQ(a->codes, b->codes) << DTypeName(dtype);
            EXPECT_EQ(a->super_blocks->scale_codes, b->super_blocks->scale_codes);
            EXPECT_EQ(a->scales, b->scales);
        }
        // The first NaN, in row-major order, is the one named (one in a later row too).
        std::vector<float> poisoned = w;
        poisoned[3 * cols + 300] = std::numeric_limits<float>::quiet_NaN();
        poisoned[4 * cols + 2] = std::numeric_limits<float>::infinity();
        ASSERT_TRUE(CastTensor(DType::kF32, std::as_bytes(std::span(poisoned)), dtype, stored, w.size()).ok());
        Result<QuantizedTensor> bad = QuantizeKQuantStored(KQuant::kQ4_K, dtype, stored, rows, cols, pool);
        ASSERT_FALSE(bad.ok());
        EXPECT_NE(bad.status().message().find("NaN at row 3, column 300"), std::string::npos) << bad.status().message();
    }
}

}  // namespace
}  // namespace tenpak::quant
