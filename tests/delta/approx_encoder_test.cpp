// The budgeted delta's encoders one by one, on matrices with known structure: each finds the
// structure (a rank, a support), stays within the error bound it is given, decodes what it encoded,
// and refuses bytes that do not fit.
#include "delta/approx_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tenpak::delta {
namespace {

std::vector<float> Gaussian(size_t n, float sigma, uint32_t seed) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = normal(random);
    return v;
}

// rows x cols of rank `rank`: a sum of `rank` outer products of Gaussian vectors.
std::vector<float> LowRank(int64_t rows, int64_t cols, int rank, uint32_t seed) {
    const std::vector<float> b = Gaussian(static_cast<size_t>(rows * rank), 0.05f, seed);
    const std::vector<float> a = Gaussian(static_cast<size_t>(rank * cols), 0.05f, seed + 1);
    std::vector<float> d(static_cast<size_t>(rows * cols));
    for (int64_t i = 0; i < rows; ++i) {
        for (int k = 0; k < rank; ++k) {
            for (int64_t j = 0; j < cols; ++j) {
                d[static_cast<size_t>(i * cols + j)] += b[static_cast<size_t>(i * rank + k)] * a[static_cast<size_t>(k * cols + j)];
            }
        }
    }
    return d;
}

double Norm(std::span<const float> d) {
    return std::sqrt(SquaredNorm(d));
}

// Encodes within `relative` of d's norm, decodes, and checks the bound on what came back.
std::optional<Approximation> RoundTrip(const char* encoder, std::span<const float> d, int64_t rows, int64_t cols,
                                       double relative) {
    const ApproxEncoder* e = FindApproxEncoder(encoder);
    EXPECT_NE(e, nullptr) << encoder;
    const double bound = relative * Norm(d);
    std::optional<Approximation> a = e->Encode(d, rows, cols, bound);
    if (!a) return a;
    EXPECT_EQ(a->encoder, encoder);
    std::vector<float> decoded(d.size());
    EXPECT_TRUE(e->Decode(a->params, a->bytes, rows, cols, decoded).ok());
    EXPECT_LE(std::sqrt(SquaredDistance(d, decoded)), bound) << encoder;
    return a;
}

TEST(ApproxEncoderTest, LowRankFindsTheExactRank) {
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{256, 384}, {384, 256}}) {
        const std::vector<float> d = LowRank(rows, cols, 6, 3);
        std::optional<Approximation> a = RoundTrip("lowrank", d, rows, cols, 0.01);
        ASSERT_TRUE(a.has_value()) << rows << " x " << cols;
        EXPECT_EQ(a->params["rank"], 6);
        EXPECT_EQ(a->bytes.size(), 6 * 4 + 6 * (rows + cols) * 2);
    }
}

TEST(ApproxEncoderTest, LowRankGivesUpOnFullRankNoiseAtATightBudget) {
    const std::vector<float> d = Gaussian(256 * 256, 0.01f, 5);
    EXPECT_FALSE(FindApproxEncoder("lowrank")->Encode(d, 256, 256, 0.05 * Norm(d)).has_value());
    // A loose one is met with some rank below the full one.
    std::optional<Approximation> a = RoundTrip("lowrank", d, 256, 256, 0.9);
    ASSERT_TRUE(a.has_value());
    EXPECT_LT(a->params["rank"].get<int>(), 128);
}

TEST(ApproxEncoderTest, SparseKeepsExactlyTheSupport) {
    std::vector<float> d(200 * 300, 0.0f);
    const std::vector<float> noise = Gaussian(d.size(), 1e-6f, 9);
    for (size_t i = 0; i < d.size(); ++i) d[i] = noise[i];
    for (size_t i = 17; i < d.size(); i += 997) d[i] = (i % 2 == 0 ? 1.0f : -1.0f) * static_cast<float>(i % 7 + 1);
    const size_t support = (d.size() - 17 + 996) / 997;
    std::optional<Approximation> a = RoundTrip("sparse", d, 200, 300, 0.001);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->params["count"], support);
}

TEST(ApproxEncoderTest, SignIsExactForAConstantMagnitudePerRow) {
    std::vector<float> d(64 * 96);
    const std::vector<float> signs = Gaussian(d.size(), 1.0f, 4);
    for (size_t i = 0; i < d.size(); ++i) d[i] = (signs[i] >= 0 ? 1.0f : -1.0f) * 0.01f * static_cast<float>(i / 96 + 1);
    std::optional<Approximation> a = RoundTrip("sign", d, 64, 96, 1e-5);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->bytes.size(), 64 * 96 / 8 + 64 * 4);
    // Gaussian changes are not: about sqrt(1 - 2/pi) = 0.60 of their norm is lost.
    const std::vector<float> g = Gaussian(64 * 96, 0.01f, 6);
    EXPECT_FALSE(FindApproxEncoder("sign")->Encode(g, 64, 96, 0.5 * Norm(g)).has_value());
    EXPECT_TRUE(RoundTrip("sign", g, 64, 96, 0.7).has_value());
}

TEST(ApproxEncoderTest, Int8AndInt4MeetTheirBoundsAndInt8IsTighter) {
    const std::vector<float> d = Gaussian(128 * 256, 0.01f, 8);
    // Relative errors of symmetric round-to-nearest on Gaussian values: about 1% at 8 bits, 15% at 4.
    EXPECT_TRUE(RoundTrip("int8", d, 128, 256, 0.02).has_value());
    EXPECT_FALSE(FindApproxEncoder("int4")->Encode(d, 128, 256, 0.02 * Norm(d)).has_value());
    std::optional<Approximation> a = RoundTrip("int4", d, 128, 256, 0.25);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->params["group_size"], 128);
    // Columns that 128 does not divide: one group per row.
    const std::vector<float> odd = Gaussian(16 * 100, 0.01f, 10);
    std::optional<Approximation> b = RoundTrip("int8", odd, 16, 100, 0.05);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->params["group_size"], 100);
}

TEST(ApproxEncoderTest, BytesThatDoNotFitTheShapeAreCorruption) {
    const std::vector<float> d = LowRank(64, 64, 2, 12);
    std::vector<float> out(d.size());
    for (const std::unique_ptr<ApproxEncoder>& e : ApproxEncoders()) {
        std::optional<Approximation> a = e->Encode(d, 64, 64, 0.9 * Norm(d));
        ASSERT_TRUE(a.has_value()) << e->name();
        // Parameters that make no sense (sign has none to get wrong).
        EXPECT_EQ(e->Decode(nlohmann::json::object({{"rank", -1}, {"count", "x"}, {"group_size", 0}}), a->bytes, 64, 64, out).ok(),
                  e->name() == "sign")
            << e->name();
        std::vector<float> smaller(32 * 64);
        Status other_shape = e->Decode(a->params, a->bytes, 32, 64, smaller);
        EXPECT_EQ(other_shape.code(), StatusCode::kCorruption) << e->name();
        a->bytes.pop_back();
        Status cut = e->Decode(a->params, a->bytes, 64, 64, out);
        EXPECT_EQ(cut.code(), StatusCode::kCorruption) << e->name();
    }
}

}  // namespace
}  // namespace tenpak::delta
