// GPTQ (src/quant/gptq.cpp) against a plain double-precision implementation of the reference
// algorithm (shared/formats.md F.1) written here with simple loops: no lazy batches, an explicit
// Cholesky and inverse. Plus the quality bar on a generated layer (GPTQ against rtn on held-out
// tokens), the Hessian accumulator against X^T X, and the failure paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "calibration_layer_util.h"
#include "quant/blockwise.h"
#include "quant/gptq.h"
#include "quant/group_math.h"
#include "quantizer_test_util.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {
namespace {

using quantformat::QuantizedTensor;
using Matrix = std::vector<double>;  // row-major, size known from context

// ---------------------------------------------------------------------------------------------
// The scalar reference.

// Lower Cholesky factor of the n x n symmetric matrix a (a = L L^T); false if a is not positive
// definite.
bool CholeskyLower(const Matrix& a, int64_t n, Matrix& l) {
    l.assign(static_cast<size_t>(n * n), 0.0);
    for (int64_t j = 0; j < n; ++j) {
        double diag = a[j * n + j];
        for (int64_t k = 0; k < j; ++k) diag -= l[j * n + k] * l[j * n + k];
        if (!(diag > 0.0)) return false;
        l[j * n + j] = std::sqrt(diag);
        for (int64_t i = j + 1; i < n; ++i) {
            double s = a[i * n + j];
            for (int64_t k = 0; k < j; ++k) s -= l[i * n + k] * l[j * n + k];
            l[i * n + j] = s / l[j * n + j];
        }
    }
    return true;
}

// a^-1 from a = L L^T, by solving L L^T x = e_i for every column.
Matrix InverseFromCholesky(const Matrix& l, int64_t n) {
    Matrix inv(static_cast<size_t>(n * n));
    std::vector<double> y(static_cast<size_t>(n));
    for (int64_t col = 0; col < n; ++col) {
        for (int64_t i = 0; i < n; ++i) {  // L y = e_col
            double s = i == col ? 1.0 : 0.0;
            for (int64_t k = 0; k < i; ++k) s -= l[i * n + k] * y[k];
            y[i] = s / l[i * n + i];
        }
        for (int64_t i = n - 1; i >= 0; --i) {  // L^T x = y
            double s = y[i];
            for (int64_t k = i + 1; k < n; ++k) s -= l[k * n + i] * inv[k * n + col];
            inv[i * n + col] = s / l[i * n + i];
        }
    }
    return inv;
}

struct Reference {
    std::vector<uint8_t> codes;  // [rows][cols], original order
    std::vector<float> w_hat;    // what the codes stand for
    std::vector<float> scales;   // [rows][groups]
    std::vector<float> zeros;
    std::vector<int32_t> g_idx;
    double loss = 0.0;
};

GroupParams FitRow(const GroupCodec& codec, const std::vector<float>& values) {
    return codec.Fit(values, FindGroupStats(values.data(), values.size()));
}

// F.1 steps 1-9 on one column at a time, in double. The one concession to the lazy batches: a
// group's parameters are fitted from W as it stood at the start of the current block of
// `block_size` columns, because that is what the reference reads there (F.1 step 7).
Reference ReferenceGptq(const std::vector<float>& w_in, int64_t rows, int64_t cols, const std::vector<float>& h_in,
                        const GptqOptions& opt) {
    const std::unique_ptr<GroupCodec> codec = MakeRtnCodec(opt.bits, opt.symmetric);
    Matrix w(w_in.begin(), w_in.end());
    Matrix h(h_in.begin(), h_in.end());
    for (int64_t c = 0; c < cols; ++c) {  // dead inputs
        if (h[c * cols + c] != 0.0) continue;
        h[c * cols + c] = 1.0;
        for (int64_t r = 0; r < rows; ++r) w[r * cols + c] = 0.0;
    }
    const int64_t g_size = opt.group_size > 0 ? opt.group_size : cols;
    const int64_t groups = cols / g_size;
    const bool dynamic = opt.group_size > 0 && !opt.static_groups;
    std::vector<GroupParams> params(static_cast<size_t>(rows * groups));
    if (!dynamic) {  // fixed up front, original column order
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t g = 0; g < groups; ++g) {
                std::vector<float> values(static_cast<size_t>(g_size));
                for (int64_t j = 0; j < g_size; ++j) values[j] = static_cast<float>(w[r * cols + g * g_size + j]);
                params[r * groups + g] = FitRow(*codec, values);
            }
        }
    }
    std::vector<int64_t> perm(static_cast<size_t>(cols));
    std::iota(perm.begin(), perm.end(), 0);
    if (opt.act_order) {
        std::stable_sort(perm.begin(), perm.end(),
                         [&](int64_t a, int64_t b) { return h[a * cols + a] > h[b * cols + b]; });
    }
    Matrix wp(w.size());
    Matrix hp(h.size());
    double mean_diag = 0.0;
    for (int64_t c = 0; c < cols; ++c) mean_diag += h[c * cols + c] / static_cast<double>(cols);
    for (int64_t i = 0; i < cols; ++i) {
        for (int64_t j = 0; j < cols; ++j) hp[i * cols + j] = h[perm[i] * cols + perm[j]];
        hp[i * cols + i] += opt.damp * mean_diag;
        for (int64_t r = 0; r < rows; ++r) wp[r * cols + i] = w[r * cols + perm[i]];
    }
    Matrix l;
    EXPECT_TRUE(CholeskyLower(hp, cols, l));
    Matrix l_inv;
    EXPECT_TRUE(CholeskyLower(InverseFromCholesky(l, cols), cols, l_inv));
    auto u = [&](int64_t i, int64_t j) { return l_inv[j * cols + i]; };  // U = L_inv^T

    Reference ref;
    ref.codes.resize(w.size());
    ref.w_hat.resize(w.size());
    Matrix seen;  // W at the start of the current block
    for (int64_t c = 0; c < cols; ++c) {
        if (c % opt.block_size == 0) seen = wp;
        const int64_t group = dynamic ? c / g_size : perm[c] / g_size;
        for (int64_t r = 0; r < rows; ++r) {
            if (dynamic && c % g_size == 0) {
                std::vector<float> values(static_cast<size_t>(g_size));
                for (int64_t j = 0; j < g_size; ++j) values[j] = static_cast<float>(seen[r * cols + c + j]);
                params[r * groups + group] = FitRow(*codec, values);
            }
            const GroupParams& p = params[r * groups + group];
            const float value = static_cast<float>(wp[r * cols + c]);
            uint8_t code = 0;
            codec->Encode(std::span<const float>(&value, 1), p, &code);
            const double q = static_cast<double>(p.scale) * (code - static_cast<double>(p.zero));
            const double err = (wp[r * cols + c] - q) / u(c, c);
            ref.loss += err * err / 2.0;
            for (int64_t j = c + 1; j < cols; ++j) wp[r * cols + j] -= err * u(c, j);
            ref.codes[r * cols + perm[c]] = code;
            ref.w_hat[r * cols + perm[c]] = p.scale * (static_cast<float>(code) - p.zero);
        }
    }
    for (const GroupParams& p : params) {
        ref.scales.push_back(p.scale);
        ref.zeros.push_back(p.zero);
    }
    if (opt.act_order && dynamic) {
        ref.g_idx.resize(static_cast<size_t>(cols));
        for (int64_t c = 0; c < cols; ++c) ref.g_idx[perm[c]] = static_cast<int32_t>(c / g_size);
    }
    return ref;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

// 2/n X^T X in double, rounded to F32 (x: [tokens, cols]).
std::vector<float> NaiveHessian(const std::vector<float>& x, int64_t tokens, int64_t cols) {
    std::vector<float> h(static_cast<size_t>(cols * cols));
    for (int64_t i = 0; i < cols; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            double s = 0.0;
            for (int64_t t = 0; t < tokens; ++t) s += static_cast<double>(x[t * cols + i]) * x[t * cols + j];
            h[i * cols + j] = static_cast<float>(2.0 * s / static_cast<double>(tokens));
        }
    }
    return h;
}

GptqResult QuantizeOrDie(const std::vector<float>& w, int64_t rows, int64_t cols, std::vector<float> h,
                         const GptqOptions& options, size_t threads = 1) {
    ThreadPool pool(threads);
    Result<GptqResult> result = GptqQuantize(w, rows, cols, std::move(h), options, pool);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok()) return {};
    const Status valid = quantformat::Validate(result->tensor);
    EXPECT_TRUE(valid.ok()) << valid.ToString();
    return std::move(result).value();
}

Status QuantizeStatus(const std::vector<float>& w, int64_t rows, int64_t cols, std::vector<float> h,
                      const GptqOptions& options) {
    ThreadPool pool(1);
    return GptqQuantize(w, rows, cols, std::move(h), options, pool).status();
}

std::vector<float> IdentityHessian(int64_t cols) {
    std::vector<float> h(static_cast<size_t>(cols * cols), 0.0f);
    for (int64_t c = 0; c < cols; ++c) h[c * cols + c] = 1.0f;
    return h;
}

// ---------------------------------------------------------------------------------------------
// Against the scalar reference.

struct Case {
    int64_t rows;
    int64_t cols;
    int bits;
    int64_t group_size;
    bool symmetric;
    bool act_order;
    bool static_groups;
    int64_t block_size;
};

std::string Describe(const Case& c) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%lldx%lld bits %d group %lld %s act_order %d static %d block %lld",
                  static_cast<long long>(c.rows), static_cast<long long>(c.cols), c.bits,
                  static_cast<long long>(c.group_size), c.symmetric ? "sym" : "asym", c.act_order, c.static_groups,
                  static_cast<long long>(c.block_size));
    return buf;
}

// Codes may only differ where the F32 and double paths put a weight on different sides of a
// rounding boundary; see the test's comment for the bound.
void ExpectMatchesReference(const Case& c, uint32_t seed, int64_t dead_every = 0) {
    SCOPED_TRACE(Describe(c));
    const int64_t tokens = 2 * c.cols;  // full rank: the reference needs no retries
    testing::CalibrationLayer layer = testing::MakeCalibrationLayer(c.rows, c.cols, tokens, 0, seed);
    if (dead_every > 0) {
        for (int64_t t = 0; t < tokens; ++t) {
            for (int64_t col = 3; col < c.cols; col += dead_every) layer.calib[t * c.cols + col] = 0.0f;
        }
    }
    const std::vector<float> h = NaiveHessian(layer.calib, tokens, c.cols);
    GptqOptions opt;
    opt.bits = c.bits;
    opt.group_size = c.group_size;
    opt.symmetric = c.symmetric;
    opt.act_order = c.act_order;
    opt.static_groups = c.static_groups;
    opt.block_size = c.block_size;
    const Reference ref = ReferenceGptq(layer.w, c.rows, c.cols, h, opt);
    const GptqResult got = QuantizeOrDie(layer.w, c.rows, c.cols, h, opt);
    const std::vector<float> w_hat = testing::DequantizeAll(got.tensor);

    ASSERT_EQ(got.tensor.codes.size(), ref.codes.size());
    int64_t differing = 0;
    for (size_t i = 0; i < ref.codes.size(); ++i) differing += got.tensor.codes[i] != ref.codes[i];
    EXPECT_EQ(differing, 0);
    if (differing == 0) {
        EXPECT_EQ(w_hat, ref.w_hat);
        EXPECT_EQ(got.tensor.scales, ref.scales);
        EXPECT_EQ(got.tensor.zeros, ref.zeros);
        EXPECT_NEAR(got.loss, ref.loss, 1e-4 * ref.loss + 1e-9);
    }
    EXPECT_EQ(got.tensor.g_idx, ref.g_idx);
    EXPECT_EQ(got.tensor.group_size, c.group_size > 0 ? c.group_size : c.cols);
    EXPECT_TRUE(got.warnings.empty());
    EXPECT_EQ(got.damp_used, opt.damp);
    if (dead_every > 0) {
        for (int64_t r = 0; r < c.rows; ++r) {
            for (int64_t col = 3; col < c.cols; col += dead_every) EXPECT_EQ(w_hat[r * c.cols + col], 0.0f);
        }
    }
}

TEST(GptqTest, MatchesScalarReference) {
    const Case cases[] = {
        // rows cols bits group sym act static block
        {16, 64, 4, 32, true, false, false, 128},
        {16, 64, 4, 32, false, false, false, 128},
        {16, 64, 4, -1, true, false, false, 128},
        {16, 64, 4, -1, true, true, false, 128},
        {33, 96, 4, 32, true, false, false, 128},
        {33, 96, 4, 32, true, true, false, 128},
        {33, 96, 4, 32, false, true, false, 128},
        {33, 96, 4, 32, true, true, true, 128},
        {33, 96, 4, 32, false, false, true, 128},
        {33, 96, 2, 32, true, true, false, 128},
        {33, 96, 3, 32, false, false, false, 128},
        {33, 96, 8, 32, true, false, false, 128},
        {33, 96, 8, 32, false, true, false, 128},
        // Blocks smaller than the matrix: the trailing sgemm, and groups fitted inside a block.
        {33, 96, 4, 32, true, false, false, 64},
        {33, 96, 4, 32, false, true, false, 64},
        {33, 128, 3, 64, true, true, false, 32},
        {33, 96, 4, 32, true, true, true, 40},
        {33, 96, 2, -1, false, false, false, 48},
        {33, 128, 4, 64, true, true, false, 128},
        {33, 128, 4, 128, true, true, false, 128},
    };
    uint32_t seed = 10;
    for (const Case& c : cases) ExpectMatchesReference(c, seed++);
}

TEST(GptqTest, DeadInputsGetZeroWeightsAndMatchTheReference) {
    ExpectMatchesReference({16, 64, 4, 32, true, false, false, 128}, 3, /*dead_every=*/9);
    ExpectMatchesReference({33, 96, 4, 32, false, true, false, 64}, 4, /*dead_every=*/7);
}

// ---------------------------------------------------------------------------------------------
// Quality: the test, scaled down (256 out x 512 in, 256 calibration tokens, so H is
// rank-deficient; 512 held-out tokens).

struct QualityErrors {
    double rtn = 0.0;
    double gptq = 0.0;
    double gptq_act_order = 0.0;
};

// Relative output errors on `x` of rtn (4-bit g128 sym, the same codec) and GPTQ (4-bit g128 sym,
// H from the calibration tokens) without and with act-order.
QualityErrors MeasureQuality(const testing::CalibrationLayer& layer, const std::vector<float>& x, int64_t tokens) {
    HessianAccumulator acc(layer.cols);
    EXPECT_TRUE(acc.Add(layer.calib.data(), layer.calib_tokens).ok());
    const std::vector<float> h = acc.Take();
    const QuantizedTensor rtn =
        testing::QuantizeOrDie(testing::Options(Method::kRtn, 4, 128, true), layer.w, layer.rows, layer.cols);
    GptqOptions opt;
    const GptqResult plain = QuantizeOrDie(layer.w, layer.rows, layer.cols, h, opt, 2);
    opt.act_order = true;
    const GptqResult act = QuantizeOrDie(layer.w, layer.rows, layer.cols, h, opt, 2);
    auto error = [&](const QuantizedTensor& q) {
        return testing::RelativeOutputError(layer.w, testing::DequantizeAll(q), layer.rows, layer.cols, x, tokens);
    };
    QualityErrors e{error(rtn), error(plain.tensor), error(act.tensor)};
    std::printf("relative output error: rtn %.3e, gptq %.3e (%.3f x rtn), gptq act-order %.3e (%.3f x rtn)\n", e.rtn,
                e.gptq, e.gptq / e.rtn, e.gptq_act_order, e.gptq_act_order / e.rtn);
    return e;
}

// What GPTQ minimises: the output error on the tokens its Hessian comes from. Measured (seed 2024):
// 0.095 x rtn without act-order, 0.008 x with.
TEST(GptqTest, BeatsRtnOnTheCalibrationTokens) {
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(256, 512, 256, 512, 2024);
    const QualityErrors e = MeasureQuality(layer, layer.calib, layer.calib_tokens);
    EXPECT_LE(e.gptq, 0.5 * e.rtn);
    EXPECT_LE(e.gptq_act_order, 0.25 * e.rtn);
}

// The bounds, on held-out tokens (256 calibration tokens for 512 inputs: the Hessian is
// rank-deficient, as in the 2048 for 4096): <= 0.5 x rtn without act-order, <= 0.25 x with.
// Measured with seed 2024: 0.157 x and 0.023 x; seeds 1-3: 0.160-0.165 x and 0.020-0.245 x (act-order
// is worse than plain GPTQ for two of them, within the bound). On an earlier generator whose
// channels were independent (a diagonal Hessian) GPTQ did not beat rtn on held-out tokens at all
// (1.7 x; 0.35 x with act-order): calibration pays through the correlations between channels,
// which a transformer's hidden states have and calibration_layer_util.h now models.
TEST(GptqTest, HalvesRtnErrorOnHeldOutTokens) {
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(256, 512, 256, 512, 2024);
    const QualityErrors e = MeasureQuality(layer, layer.held_out, layer.held_out_tokens);
    EXPECT_LE(e.gptq, 0.5 * e.rtn);
    EXPECT_LE(e.gptq_act_order, 0.25 * e.rtn);
}

// ---------------------------------------------------------------------------------------------
// The Hessian accumulator.

TEST(GptqHessianTest, EqualsTwoOverNXtXWhateverTheBatches) {
    constexpr int64_t kCols = 40;
    constexpr int64_t kTokens = 50;
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(1, kCols, kTokens, 0, 5);
    const std::vector<float> naive = NaiveHessian(layer.calib, kTokens, kCols);
    const std::vector<std::vector<int64_t>> splits = {
        {50}, {1, 49}, {17, 17, 16}, {0, 25, 0, 25}, {10, 10, 10, 10, 10}};
    for (const std::vector<int64_t>& split : splits) {
        HessianAccumulator acc(kCols);
        int64_t at = 0;
        for (int64_t n : split) {
            ASSERT_TRUE(acc.Add(layer.calib.data() + at * kCols, n).ok());
            at += n;
        }
        EXPECT_EQ(acc.tokens(), kTokens);
        const std::vector<float> h = acc.Take();
        ASSERT_EQ(h.size(), naive.size());
        for (int64_t i = 0; i < kCols; ++i) {
            for (int64_t j = 0; j < kCols; ++j) {
                const float scale = std::sqrt(naive[i * kCols + i] * naive[j * kCols + j]);
                EXPECT_NEAR(h[i * kCols + j], naive[i * kCols + j], 1e-5f * scale) << i << ", " << j;
                EXPECT_EQ(h[i * kCols + j], h[j * kCols + i]);
            }
        }
        EXPECT_EQ(acc.tokens(), 0);  // Take empties it
        EXPECT_EQ(acc.Take(), std::vector<float>(kCols * kCols, 0.0f));
    }
}

TEST(GptqHessianTest, NamesTheTokenAndColumnOfANonFiniteInput) {
    constexpr int64_t kCols = 8;
    std::vector<float> x(4 * kCols, 1.0f);
    HessianAccumulator acc(kCols);
    ASSERT_TRUE(acc.Add(x.data(), 4).ok());
    const std::vector<float> bad_value[] = {{NAN}, {INFINITY}};
    for (const std::vector<float>& bad : bad_value) {
        std::vector<float> y = x;
        y[2 * kCols + 5] = bad[0];
        const Status s = acc.Add(y.data(), 4);
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
        EXPECT_NE(s.message().find("token 2 column 5"), std::string::npos) << s.ToString();
    }
    EXPECT_EQ(acc.tokens(), 4);  // unchanged
    EXPECT_EQ(acc.Take(), std::vector<float>(kCols * kCols, 2.0f));
}

// ---------------------------------------------------------------------------------------------
// Failure paths and properties.

TEST(GptqTest, RankDeficientHessianIsDamped) {
    // 8 tokens for 64 inputs: H is only semi-definite. The default dampening makes it definite;
    // with none, a failed factorization raises it (a warning) instead of failing.
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(16, 64, 8, 0, 6);
    const std::vector<float> h = NaiveHessian(layer.calib, 8, 64);
    GptqOptions opt;
    opt.group_size = 32;
    const GptqResult damped = QuantizeOrDie(layer.w, 16, 64, h, opt);
    EXPECT_TRUE(damped.warnings.empty());
    opt.damp = 0.0;
    const GptqResult undamped = QuantizeOrDie(layer.w, 16, 64, h, opt);
    if (!undamped.warnings.empty()) {  // F32 rounding may leave H just definite enough
        EXPECT_NE(undamped.warnings[0].find("dampening raised to 0.01"), std::string::npos) << undamped.warnings[0];
        EXPECT_EQ(undamped.damp_used, 0.01);
    }
}

TEST(GptqTest, IndefiniteHessianRaisesDampeningWithAWarning) {
    constexpr int64_t kCols = 32;
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(8, kCols, 0, 0, 7);
    // The identity with one 2x2 block [[1, 1.05], [1.05, 1]] (eigenvalues 2.05 and -0.05): the mean
    // diagonal is 1, so dampening 0.01 leaves it indefinite and 0.1 makes it definite.
    std::vector<float> h = IdentityHessian(kCols);
    h[0 * kCols + 1] = h[1 * kCols + 0] = 1.05f;
    const GptqResult result = QuantizeOrDie(layer.w, 8, kCols, h, GptqOptions{.group_size = 32});
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_NE(result.warnings[0].find("dampening raised to 0.1"), std::string::npos) << result.warnings[0];
    EXPECT_DOUBLE_EQ(result.damp_used, 0.1);

    // Eigenvalue -99: no dampening within the limit helps.
    h[0 * kCols + 1] = h[1 * kCols + 0] = 100.0f;
    const Status s = QuantizeStatus(layer.w, 8, kCols, h, GptqOptions{.group_size = 32});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("not positive definite"), std::string::npos) << s.ToString();
}

TEST(GptqTest, NamesTheRowAndColumnOfANonFiniteWeightOrHessianEntry) {
    constexpr int64_t kRows = 4;
    constexpr int64_t kCols = 32;
    std::vector<float> w(kRows * kCols, 0.01f);
    w[2 * kCols + 7] = NAN;
    Status s = QuantizeStatus(w, kRows, kCols, IdentityHessian(kCols), GptqOptions{.group_size = 32});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("weight row 2 column 7"), std::string::npos) << s.ToString();

    w[2 * kCols + 7] = 0.01f;
    std::vector<float> h = IdentityHessian(kCols);
    h[5 * kCols + 9] = INFINITY;
    s = QuantizeStatus(w, kRows, kCols, h, GptqOptions{.group_size = 32});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("Hessian row 5 column 9"), std::string::npos) << s.ToString();
}

TEST(GptqTest, RefusesBadOptionsListingTheSupportedOnes) {
    constexpr int64_t kCols = 64;
    const std::vector<float> w(4 * kCols, 0.01f);
    const std::vector<GptqOptions> bad = {{.bits = 5}, {.bits = 1}, {.group_size = 16}, {.group_size = 0}};
    for (const GptqOptions& opt : bad) {
        const Status s = QuantizeStatus(w, 4, kCols, IdentityHessian(kCols), opt);
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
        EXPECT_NE(s.message().find("bits 2, 3, 4 or 8; group_size 32, 64, 128 or -1"), std::string::npos)
            << s.ToString();
    }
    EXPECT_EQ(QuantizeStatus(w, 4, kCols, IdentityHessian(kCols), {.group_size = 128}).code(),
              StatusCode::kInvalidArgument);  // 64 columns are not a multiple of 128
    EXPECT_EQ(QuantizeStatus(w, 4, kCols, IdentityHessian(kCols), {.damp = -0.1}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(QuantizeStatus(w, 4, kCols, IdentityHessian(kCols), {.block_size = 0}).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(QuantizeStatus(w, 4, kCols, IdentityHessian(kCols - 1), {.group_size = 32}).code(),
              StatusCode::kInvalidArgument);  // H of the wrong size
    EXPECT_EQ(QuantizeStatus(w, 5, kCols, IdentityHessian(kCols), {.group_size = 32}).code(),
              StatusCode::kInvalidArgument);  // W of the wrong size
}

TEST(GptqTest, ResultDoesNotDependOnTheThreadCount) {
    // More rows than one row tile (256), so both the tiles and the pool's chunks are exercised.
    constexpr int64_t kRows = 300;
    constexpr int64_t kCols = 256;
    const testing::CalibrationLayer layer = testing::MakeCalibrationLayer(kRows, kCols, 128, 0, 8);
    const std::vector<float> h = NaiveHessian(layer.calib, 128, kCols);
    GptqOptions opt;
    opt.group_size = 32;
    opt.act_order = true;
    opt.block_size = 64;
    const GptqResult one = QuantizeOrDie(layer.w, kRows, kCols, h, opt, 1);
    const GptqResult two = QuantizeOrDie(layer.w, kRows, kCols, h, opt, 2);
    EXPECT_EQ(one.tensor.codes, two.tensor.codes);
    EXPECT_EQ(one.tensor.scales, two.tensor.scales);
    EXPECT_EQ(one.tensor.zeros, two.tensor.zeros);
    EXPECT_EQ(one.tensor.g_idx, two.tensor.g_idx);
    EXPECT_EQ(one.loss, two.loss);
}

}  // namespace
}  // namespace tenpak::quant
