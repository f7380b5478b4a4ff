// AWQ (src/quant/awq.h): each piece against a direct scalar transcription of AutoAWQ's code
// (pseudo_quantize_tensor, the w_mean / scale formulas, _compute_best_clip), the scale search
// against a loss we script, the quality bar on a generated layer, and bad input.
#include "quant/awq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "calibration_layer_util.h"
#include "quant/group_math.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {
namespace {

using quantformat::QuantizedTensor;

// ---- Scalar references, written from AutoAWQ's Python (formats.md F.2, C.1) with std::nearbyint
// (round half to even in the default rounding mode) for torch.round, plus our F16 scale.

struct RefGroup {
    std::vector<uint8_t> codes;
    std::vector<float> dequant;
    float scale = 0.0f;
    float zero = 0.0f;
};

RefGroup RefPseudoQuantize(std::span<const float> w, int bits) {
    const float max_int = static_cast<float>((1 << bits) - 1);
    const float max_val = *std::max_element(w.begin(), w.end());
    const float min_val = *std::min_element(w.begin(), w.end());
    RefGroup ref;
    ref.scale = RoundToF16(std::max(max_val - min_val, 1e-5f) / max_int);
    ref.zero = std::clamp(-std::nearbyint(min_val / ref.scale), 0.0f, max_int);
    for (float v : w) {
        const float q = std::clamp(std::nearbyint(v / ref.scale) + ref.zero, 0.0f, max_int);
        ref.codes.push_back(static_cast<uint8_t>(q));
        ref.dequant.push_back((q - ref.zero) * ref.scale);
    }
    return ref;
}

// mean over the sampled tokens of (sum_j x[t, j] * (q[j] - w[j]))^2 for one group, in double.
double RefClipError(std::span<const float> x, int64_t cols, int64_t col0, const std::vector<int64_t>& sampled,
                    std::span<const float> q, std::span<const float> w) {
    double sum = 0.0;
    for (int64_t t : sampled) {
        double dot = 0.0;
        for (size_t j = 0; j < w.size(); ++j) dot += static_cast<double>(x[t * cols + col0 + j]) * (q[j] - w[j]);
        sum += dot * dot;
    }
    return sum / static_cast<double>(sampled.size());
}

std::vector<float> Clamped(std::span<const float> w, float bound) {
    std::vector<float> out(w.begin(), w.end());
    for (float& v : out) v = std::clamp(v, -bound, bound);
    return out;
}

double RefClipErrorAtBound(std::span<const float> x, int64_t cols, int64_t col0, const std::vector<int64_t>& sampled,
                           std::span<const float> w, float bound, int bits) {
    return RefClipError(x, cols, col0, sampled, RefPseudoQuantize(Clamped(w, bound), bits).dequant, w);
}

std::vector<float> RandomMatrix(int64_t rows, int64_t cols, float stddev, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, stddev);
    std::vector<float> m(static_cast<size_t>(rows * cols));
    for (float& v : m) v = normal(rng);
    return m;
}

std::vector<float> Dequantized(const QuantizedTensor& q) {
    std::vector<float> out(static_cast<size_t>(q.rows * q.cols));
    quantformat::Dequantize(q, out);
    return out;
}

// ---- The quantizer.

TEST(AwqCodecTest, MatchesPseudoQuantizeTensor) {
    constexpr int64_t kGroup = 32;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    std::vector<std::vector<float>> groups;
    auto add = [&](auto value) {
        std::vector<float> g(kGroup);
        for (int64_t i = 0; i < kGroup; ++i) g[i] = value(i);
        groups.push_back(g);
    };
    add([&](int64_t) { return normal(rng); });                     // both signs
    add([&](int64_t) { return 0.5f + 0.5f * uniform(rng); });      // all positive: zero clamps to 0
    add([&](int64_t) { return -2.0f - uniform(rng); });            // all negative: zero clamps to maxq
    add([&](int64_t) { return 0.3f; });                            // all equal: range clamped to 1e-5
    add([&](int64_t) { return 0.0f; });                            // all zero
    add([&](int64_t) { return 1e-7f * (uniform(rng) - 0.5f); });   // range below 1e-5
    add([&](int64_t) { return 1000.0f + 1e-3f * uniform(rng); });  // narrow, far from 0: w / scale > 2^22
    // Ties at 4 bits: min -1.5, max 2.25 give scale 0.25 (exact in F16) and zero 6; the other
    // values sit at (k + 1/2) * scale and must round to even.
    add([&](int64_t i) { return i == 0 ? -1.5f : (i == 1 ? 2.25f : 0.25f * static_cast<float>(i % 13 - 6) + 0.125f); });

    std::vector<float> w;
    for (const auto& g : groups) w.insert(w.end(), g.begin(), g.end());
    const auto rows = static_cast<int64_t>(groups.size());
    ThreadPool pool(2);
    for (int bits : {3, 4, 8}) {
        Result<QuantizedTensor> q = RunBlockwise(*MakeAwqCodec(bits), w, rows, kGroup, kGroup, pool);
        ASSERT_TRUE(q.ok()) << q.status().ToString();
        ASSERT_TRUE(quantformat::Validate(*q).ok());
        EXPECT_FALSE(q->symmetric);
        const std::vector<float> dequant = Dequantized(*q);
        for (int64_t r = 0; r < rows; ++r) {
            const RefGroup ref = RefPseudoQuantize(groups[r], bits);
            EXPECT_EQ(q->scales[r], ref.scale) << "group " << r << ", bits " << bits;
            EXPECT_EQ(q->zeros[r], ref.zero) << "group " << r << ", bits " << bits;
            EXPECT_FALSE(std::signbit(q->zeros[r])) << "group " << r;
            for (int64_t i = 0; i < kGroup; ++i) {
                ASSERT_EQ(q->codes[r * kGroup + i], ref.codes[i])
                    << "group " << r << ", value " << i << ", bits " << bits;
                ASSERT_EQ(dequant[r * kGroup + i], ref.dequant[i]) << "group " << r << ", value " << i;
            }
        }
    }
}

TEST(AwqCodecTest, AllPositiveGroupDiffersFromGptqQuantizer) {
    // GPTQ's min/max quantizer widens the range to contain 0 (scale = max / maxq); AWQ's takes the
    // group's own range (scale = (max - min) / maxq) and clamps the zero point to 0.
    const std::vector<float> w = {0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 0.55f, 0.65f};
    ThreadPool pool(1);
    Result<QuantizedTensor> awq = RunBlockwise(*MakeAwqCodec(4), w, 1, 8, 8, pool);
    Result<QuantizedTensor> gptq = RunBlockwise(*MakeRtnCodec(4, /*symmetric=*/false), w, 1, 8, 8, pool);
    ASSERT_TRUE(awq.ok() && gptq.ok());
    EXPECT_EQ(awq->scales[0], RoundToF16(0.5f / 15.0f));
    EXPECT_EQ(awq->zeros[0], 0.0f);
    EXPECT_EQ(gptq->scales[0], RoundToF16(1.0f / 15.0f));
    // The AWQ grid then ends at 15 * scale ~ 0.5: every value clamps to the top code.
    for (uint8_t code : awq->codes) EXPECT_EQ(code, 15);
}

// ---- Channel magnitude.

TEST(AwqChannelMagnitudeTest, MatchesNaiveMeanOverBatches) {
    constexpr int64_t kCols = 37;
    const std::vector<float> a = RandomMatrix(5, kCols, 2.0f, 1);
    const std::vector<float> b = RandomMatrix(9, kCols, 0.5f, 2);
    ChannelMagnitude magnitude(kCols);
    ASSERT_TRUE(magnitude.Add(a.data(), 5).ok());
    ASSERT_TRUE(magnitude.Add(b.data(), 9).ok());
    EXPECT_EQ(magnitude.tokens(), 14);
    const std::vector<float> mean = magnitude.Mean();
    for (int64_t c = 0; c < kCols; ++c) {
        double sum = 0.0;
        for (int64_t t = 0; t < 5; ++t) sum += std::fabs(static_cast<double>(a[t * kCols + c]));
        for (int64_t t = 0; t < 9; ++t) sum += std::fabs(static_cast<double>(b[t * kCols + c]));
        EXPECT_EQ(mean[c], static_cast<float>(sum / 14.0)) << c;
    }
}

TEST(AwqChannelMagnitudeTest, NanIsNamedAndChangesNothing) {
    constexpr int64_t kCols = 8;
    const std::vector<float> a = RandomMatrix(3, kCols, 1.0f, 3);
    std::vector<float> b = RandomMatrix(4, kCols, 1.0f, 4);
    b[2 * kCols + 5] = std::numeric_limits<float>::quiet_NaN();
    b[3 * kCols + 1] = std::numeric_limits<float>::infinity();
    ChannelMagnitude magnitude(kCols);
    ASSERT_TRUE(magnitude.Add(a.data(), 3).ok());
    const std::vector<float> before = magnitude.Mean();
    const Status status = magnitude.Add(b.data(), 4);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    // Tokens count over every batch: the NaN is token 3 + 2.
    EXPECT_NE(status.message().find("NaN at token 5, column 5"), std::string::npos) << status.message();
    EXPECT_EQ(magnitude.tokens(), 3);
    EXPECT_EQ(magnitude.Mean(), before);
}

// ---- Scale search pieces.

TEST(AwqScaleTest, FakeQuantizeScaledIsTheStoredTensorDividedByS) {
    constexpr int64_t kRows = 6;
    constexpr int64_t kCols = 256;
    const std::vector<float> w = RandomMatrix(kRows, kCols, 0.02f, 5);
    std::mt19937 rng(6);
    std::uniform_real_distribution<float> uniform(0.25f, 4.0f);
    std::vector<float> s(kCols);
    for (float& v : s) v = uniform(rng);
    AwqOptions options;
    options.group_size = 64;

    std::vector<float> scaled(w.size());
    for (int64_t i = 0; i < kRows * kCols; ++i) scaled[i] = w[i] * s[i % kCols];
    ThreadPool one(1);
    Result<QuantizedTensor> q = RunBlockwise(*MakeAwqCodec(4), scaled, kRows, kCols, 64, one);
    ASSERT_TRUE(q.ok());
    const std::vector<float> stored = Dequantized(*q);

    for (size_t threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> fake = w;
        FakeQuantizeScaled(fake, kRows, kCols, s, options, pool);
        for (int64_t i = 0; i < kRows * kCols; ++i) ASSERT_EQ(fake[i], stored[i] / s[i % kCols]) << i;
    }
}

TEST(AwqScaleTest, WeightMeanHandExample) {
    // Two linears stacked (1 + 2 rows), 4 columns, groups of 2. Per row and group |w| / (max + 1e-6):
    //   [1, -2 | 3, 0]          -> [0.5, 1 | 1, 0]
    //   [0.5, 0.5 | -4, 2]      -> [1, 1 | 1, 0.5]
    //   [0, 0 | 0, 0]           -> [0, 0 | 0, 0]
    // averaged over the 3 rows.
    const std::vector<float> a = {1.0f, -2.0f, 3.0f, 0.0f};
    const std::vector<float> b = {0.5f, 0.5f, -4.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const ScaleGroup group{{a, b}, {1, 2}, 4};
    ThreadPool pool(2);
    const std::vector<float> w_mean = AwqWeightMean(group, 2, pool);
    const std::vector<float> expected = {1.5f / 3.0f, 2.0f / 3.0f, 2.0f / 3.0f, 0.5f / 3.0f};
    ASSERT_EQ(w_mean.size(), expected.size());
    for (size_t c = 0; c < expected.size(); ++c) EXPECT_NEAR(w_mean[c], expected[c], 1e-5f) << c;
}

TEST(AwqScaleTest, ScalesAreNormalisedSoMaxTimesMinIsOne) {
    const std::vector<float> x_mean = {1.0f, 4.0f, 0.25f, 0.0f};
    const std::vector<float> w_mean = {0.5f, 0.5f, 1.0f, 0.2f};
    const std::vector<float> s = AwqScalesForRatio(x_mean, w_mean, 0.5f, /*duo_scaling=*/true);
    // x^0.5 / (w^0.5 + 1e-4), clamped to >= 1e-4 (the dead channel), over sqrt(max * min).
    std::vector<double> raw(4);
    for (size_t c = 0; c < 4; ++c) {
        raw[c] = std::max(std::sqrt(double{x_mean[c]}) / (std::sqrt(double{w_mean[c]}) + 1e-4), 1e-4);
    }
    const double norm =
        std::sqrt(*std::max_element(raw.begin(), raw.end()) * *std::min_element(raw.begin(), raw.end()));
    for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(s[c], raw[c] / norm, 1e-6 * raw[c] / norm) << c;
    EXPECT_NEAR(*std::max_element(s.begin(), s.end()) * *std::min_element(s.begin(), s.end()), 1.0f, 1e-6f);

    // Without duo_scaling, ratio 0 gives x^0 = 1 everywhere.
    for (float v : AwqScalesForRatio(x_mean, w_mean, 0.0f, /*duo_scaling=*/false)) EXPECT_EQ(v, 1.0f);
    // With it, ratio 0 is 1 / (w_mean + 1e-4), normalised.
    const std::vector<float> s0 = AwqScalesForRatio(x_mean, w_mean, 0.0f, /*duo_scaling=*/true);
    EXPECT_NEAR(s0[0] / s0[2], (1.0f + 1e-4f) / (0.5f + 1e-4f), 1e-5f);
}

// A scaling group of two linears sharing 128 inputs, and its x_mean.
struct TwoLinears {
    std::vector<float> a = RandomMatrix(4, 128, 0.02f, 7);
    std::vector<float> b = RandomMatrix(6, 128, 0.05f, 8);
    std::vector<float> x_mean;
    ScaleGroup group{{a, b}, {4, 6}, 128};
    TwoLinears() {
        std::mt19937 rng(9);
        std::uniform_real_distribution<float> uniform(0.1f, 3.0f);
        for (int c = 0; c < 128; ++c) x_mean.push_back(uniform(rng) * (c % 32 == 5 ? 30.0f : 1.0f));
    }
};

TEST(AwqScaleTest, SearchScalesPicksTheFirstArgminOfTheLoss) {
    const TwoLinears linears;
    AwqOptions options;
    ThreadPool pool(2);
    // Scripted losses: the minimum 0.5 at grid points 7 and 12; the first must win.
    std::vector<std::vector<std::vector<float>>> seen;
    const ModuleLoss loss = [&](const std::vector<std::vector<float>>& candidates) -> Result<double> {
        const size_t call = seen.size();
        seen.push_back(candidates);
        return call == 7 || call == 12 ? 0.5 : 1.0 + static_cast<double>(call);
    };
    Result<ScaleSearchResult> result = SearchScales(linears.group, linears.x_mean, options, loss, pool);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(seen.size(), 20u);
    ASSERT_EQ(result->losses.size(), 20u);
    EXPECT_EQ(result->loss, 0.5);
    EXPECT_EQ(result->ratio, 7.0f / 20.0f);
    const std::vector<float> w_mean = AwqWeightMean(linears.group, options.group_size, pool);
    const std::vector<float> expected = AwqScalesForRatio(linears.x_mean, w_mean, 7.0f / 20.0f, true);
    EXPECT_EQ(result->scales, expected);

    // What the loss saw at grid point 7: every linear fake-quantized with those scales.
    std::vector<float> a = linears.a;
    std::vector<float> b = linears.b;
    FakeQuantizeScaled(a, 4, 128, expected, options, pool);
    FakeQuantizeScaled(b, 6, 128, expected, options, pool);
    ASSERT_EQ(seen[7].size(), 2u);
    EXPECT_EQ(seen[7][0], a);
    EXPECT_EQ(seen[7][1], b);
}

TEST(AwqScaleTest, SearchScalesReportsLossErrorsAndAllNonFiniteLosses) {
    const TwoLinears linears;
    ThreadPool pool(1);
    int calls = 0;
    const ModuleLoss failing = [&](const std::vector<std::vector<float>>&) -> Result<double> {
        if (++calls == 3) return Status::Internal("forward failed");
        return 1.0;
    };
    Result<ScaleSearchResult> failed = SearchScales(linears.group, linears.x_mean, AwqOptions{}, failing, pool);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
    EXPECT_NE(failed.status().message().find("ratio 0.1"), std::string::npos) << failed.status().message();
    EXPECT_NE(failed.status().message().find("forward failed"), std::string::npos);

    const ModuleLoss nan = [](const std::vector<std::vector<float>>&) -> Result<double> {
        return std::numeric_limits<double>::quiet_NaN();
    };
    Result<ScaleSearchResult> none = SearchScales(linears.group, linears.x_mean, AwqOptions{}, nan, pool);
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.status().message().find("finite loss"), std::string::npos) << none.status().message();
}

TEST(AwqScaleTest, SearchScalesRefusesBadInputs) {
    TwoLinears linears;
    ThreadPool pool(1);
    const ModuleLoss loss = [](const std::vector<std::vector<float>>&) -> Result<double> { return 1.0; };

    const std::vector<float> short_mean(linears.x_mean.begin(), linears.x_mean.end() - 1);
    Result<ScaleSearchResult> r = SearchScales(linears.group, short_mean, AwqOptions{}, loss, pool);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("127 channels for 128"), std::string::npos) << r.status().message();

    std::vector<float> nan_mean = linears.x_mean;
    nan_mean[17] = std::numeric_limits<float>::quiet_NaN();
    r = SearchScales(linears.group, nan_mean, AwqOptions{}, loss, pool);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("input channel 17"), std::string::npos) << r.status().message();

    linears.b[2 * 128 + 99] = -std::numeric_limits<float>::infinity();
    r = SearchScales(linears.group, linears.x_mean, AwqOptions{}, loss, pool);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("-Inf at row 2, column 99 of linear 1"), std::string::npos)
        << r.status().message();
}

// ---- Clipping search.

TEST(AwqClipTest, MatchesBruteForceTranscription) {
    constexpr int64_t kRows = 32;
    constexpr int64_t kCols = 128;
    constexpr int64_t kTokens = 41;
    AwqOptions options;
    options.group_size = 32;
    options.clip_tokens = 16;  // stride 41 / 16 = 2: tokens 0, 2, ..., 40
    std::vector<float> w = RandomMatrix(kRows, kCols, 0.02f, 10);
    for (int64_t r = 0; r < kRows; r += 2) w[r * kCols + (r * 7) % kCols] = 0.15f;  // outliers worth clipping
    std::mt19937 rng(12);
    std::student_t_distribution<float> heavy(3.0f);
    std::vector<float> x(static_cast<size_t>(kTokens * kCols));
    for (float& v : x) v = heavy(rng);
    std::vector<int64_t> sampled;
    for (int64_t t = 0; t < kTokens; t += 2) sampled.push_back(t);

    // AutoAWQ's loop: bounds amax * (1 - i / 20) for i < 10, strictly smaller error wins.
    std::vector<float> expected = w;
    std::vector<double> best_errors;
    int clipped = 0;
    for (int64_t r = 0; r < kRows; ++r) {
        for (int64_t c0 = 0; c0 < kCols; c0 += 32) {
            const std::span<const float> group(w.data() + r * kCols + c0, 32);
            float amax = 0.0f;
            for (float v : group) amax = std::max(amax, std::fabs(v));
            float best_bound = amax;
            double best = std::numeric_limits<double>::infinity();
            for (int i = 0; i < 10; ++i) {
                const float bound = amax * static_cast<float>(1.0 - i / 20.0);
                const double err = RefClipErrorAtBound(x, kCols, c0, sampled, group, bound, 4);
                if (err < best) {
                    best = err;
                    best_bound = bound;
                }
            }
            clipped += best_bound < amax ? 1 : 0;
            best_errors.push_back(best);
            const std::vector<float> clamped = Clamped(group, best_bound);
            std::copy(clamped.begin(), clamped.end(), expected.begin() + r * kCols + c0);
        }
    }
    ASSERT_GT(clipped, 0) << "the test matrix should make some groups clip";

    std::vector<float> reference_result;
    for (size_t threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> ours = w;
        ASSERT_TRUE(SearchAndApplyClip(ours, kRows, kCols, x, kTokens, options, pool).ok());
        if (reference_result.empty()) reference_result = ours;
        EXPECT_EQ(ours, reference_result) << "depends on the thread count";
        // Where the choice differs from the brute force (possible only on a near tie of the two
        // error forms), ours must be as good to rounding.
        size_t index = 0;
        size_t differing = 0;
        for (int64_t r = 0; r < kRows; ++r) {
            for (int64_t c0 = 0; c0 < kCols; c0 += 32, ++index) {
                const auto begin = r * kCols + c0;
                if (std::equal(ours.begin() + begin, ours.begin() + begin + 32, expected.begin() + begin)) continue;
                ++differing;
                const std::span<const float> group(w.data() + begin, 32);
                float bound = 0.0f;
                for (int64_t j = 0; j < 32; ++j) bound = std::max(bound, std::fabs(ours[begin + j]));
                const double err = RefClipErrorAtBound(x, kCols, c0, sampled, group, bound, 4);
                EXPECT_LE(err, best_errors[index] * (1.0 + 1e-5)) << "row " << r << ", column " << c0;
            }
        }
        EXPECT_LE(differing, best_errors.size() / 10) << "near ties should be rare";
    }
}

TEST(AwqClipTest, NoShrinkLeavesWeightsAlone) {
    std::vector<float> w = RandomMatrix(4, 64, 0.02f, 13);
    const std::vector<float> x = RandomMatrix(8, 64, 1.0f, 14);
    AwqOptions options;
    options.group_size = 32;
    options.max_shrink = 0.0;
    ThreadPool pool(1);
    const std::vector<float> before = w;
    ASSERT_TRUE(SearchAndApplyClip(w, 4, 64, x, 8, options, pool).ok());
    EXPECT_EQ(w, before);
}

// ---- A whole linear: the quality bar, on a smaller version of its generated layer.
// Measured (seed 2024): AWQ 0.081 x asymmetric RTN's held-out error (0.090 x on the earlier generator
// with independent channels; seeds 1-3 there: 0.068-0.135 x). Clipping gives about a tenth of the gain.

TEST(AwqLinearTest, HeldOutErrorAtMostHalfOfAsymmetricRtn) {
    constexpr int64_t kRows = 256;
    constexpr int64_t kCols = 512;
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(kRows, kCols, 256, 512, 2024);
    ThreadPool pool(2);
    AwqOptions options;  // 4 bits, g128, AutoAWQ's defaults
    Result<AwqLinearResult> awq =
        AwqQuantizeLinear(layer.w, kRows, kCols, layer.calib, layer.calib_tokens, options, pool);
    ASSERT_TRUE(awq.ok()) << awq.status().ToString();
    ASSERT_TRUE(quantformat::Validate(awq->tensor).ok());
    EXPECT_EQ(awq->tensor.group_size, 128);
    const std::vector<float>& s = awq->search.scales;
    ASSERT_EQ(s.size(), static_cast<size_t>(kCols));
    // The layer computes dequant(W * s) applied to x / s: in the original basis, dequant / s.
    std::vector<float> awq_w = Dequantized(awq->tensor);
    for (int64_t i = 0; i < kRows * kCols; ++i) awq_w[i] /= s[i % kCols];

    QuantOptions rtn_options = DefaultOptions(Method::kRtn);
    rtn_options.symmetric = false;
    Result<std::unique_ptr<Quantizer>> rtn = MakeQuantizer(rtn_options);
    ASSERT_TRUE(rtn.ok());
    Result<QuantizedTensor> rtn_q = (*rtn)->Quantize(layer.w, kRows, kCols, pool);
    ASSERT_TRUE(rtn_q.ok());
    const std::vector<float> rtn_w = Dequantized(*rtn_q);

    const double awq_error =
        testing::RelativeOutputError(layer.w, awq_w, kRows, kCols, layer.held_out, layer.held_out_tokens);
    const double rtn_error =
        testing::RelativeOutputError(layer.w, rtn_w, kRows, kCols, layer.held_out, layer.held_out_tokens);
    std::cout << "held-out relative output error: awq " << awq_error << " (ratio " << awq->search.ratio
              << "), rtn asym " << rtn_error << ", awq / rtn " << awq_error / rtn_error << "\n";
    RecordProperty("awq_error", std::to_string(awq_error));
    RecordProperty("rtn_error", std::to_string(rtn_error));
    EXPECT_LE(awq_error, 0.5 * rtn_error);
}

// ---- Bad input.

TEST(AwqErrorsTest, NanInCalibrationInputsIsNamed) {
    const std::vector<float> w = RandomMatrix(4, 128, 0.02f, 15);
    std::vector<float> x = RandomMatrix(6, 128, 1.0f, 16);
    x[3 * 128 + 10] = std::numeric_limits<float>::quiet_NaN();
    ThreadPool pool(1);
    Result<AwqLinearResult> r = AwqQuantizeLinear(w, 4, 128, x, 6, AwqOptions{}, pool);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("NaN at token 3, column 10"), std::string::npos) << r.status().message();

    std::vector<float> clip_w = w;
    const Status clip = SearchAndApplyClip(clip_w, 4, 128, x, 6, AwqOptions{}, pool);
    ASSERT_FALSE(clip.ok());
    EXPECT_NE(clip.message().find("NaN at token 3, column 10"), std::string::npos) << clip.message();
    EXPECT_EQ(clip_w, w);
}

TEST(AwqErrorsTest, GroupSizesAreRefusedWithTheChoices) {
    const std::vector<float> w = RandomMatrix(2, 192, 0.02f, 17);
    const std::vector<float> x = RandomMatrix(4, 192, 1.0f, 18);
    ThreadPool pool(1);
    AwqOptions options;  // g128 does not divide 192
    Result<AwqLinearResult> r = AwqQuantizeLinear(w, 2, 192, x, 4, options, pool);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("192 is not a multiple of the AWQ group size 128"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("32, 64 or 128"), std::string::npos);
    EXPECT_NE(r.status().message().find("32, 64 divide 192"), std::string::npos);

    options.group_size = 100;
    const Status bad_size = ValidateAwqOptions(options, 200);
    ASSERT_FALSE(bad_size.ok());
    EXPECT_NE(bad_size.message().find("group size 100 is not supported: choose 32, 64 or 128"), std::string::npos)
        << bad_size.message();

    options.group_size = 64;
    options.bits = 5;
    EXPECT_NE(ValidateAwqOptions(options, 192).message().find("choose 2, 3, 4 or 8"), std::string::npos);
}

}  // namespace
}  // namespace tenpak::quant
