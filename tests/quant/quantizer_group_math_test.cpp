// The shared arithmetic of the blockwise quantizers (src/quant/group_math.h): each function
// against the obvious scalar code, on the values where tricks go wrong (ties, signed zeros, the
// ends of the ranges, NaN and Inf).
#include "quant/group_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tenpak::quant {
namespace {

TEST(QuantizerGroupMathTest, RoundHalfEvenIsNearbyint) {
    std::vector<float> values = {0.0f,        -0.0f,       0.5f,        -0.5f,       1.5f,  -1.5f, 2.5f,
                                 -2.5f,       0.49999997f, 7.5f,        8.5f,        -7.5f, -8.5f, 127.5f,
                                 -127.5f,     255.5f,      1e-30f,      -1e-30f,     3e6f,  -3e6f, 4194303.5f,
                                 -4194303.5f, 4194303.0f,  0.50000006f, -0.50000006f};
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> wide(-300.0f, 300.0f);
    for (int i = 0; i < 100000; ++i) values.push_back(wide(rng));
    for (int k = -600; k <= 600; ++k) values.push_back(static_cast<float>(k) / 2.0f);  // every tie up to 300
    for (float v : values) {
        ASSERT_EQ(RoundHalfEven(v), std::nearbyint(v)) << v;
    }
}

TEST(QuantizerGroupMathTest, GroupStatsAreTheMinAndMax) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (size_t n : {1, 2, 7, 31, 32, 33, 128, 4096}) {
        std::vector<float> x(n);
        for (float& v : x) v = normal(rng);
        const GroupStats s = FindGroupStats(x.data(), n);
        EXPECT_EQ(s.min, *std::min_element(x.begin(), x.end())) << n;
        EXPECT_EQ(s.max, *std::max_element(x.begin(), x.end())) << n;
        float absmax = 0.0f;
        for (float v : x) absmax = std::max(absmax, std::fabs(v));
        EXPECT_EQ(s.absmax(), absmax);
        EXPECT_TRUE(s.finite());
    }
    const std::vector<float> extremes = {FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN, 1e-45f, -1e-45f};
    const GroupStats e = FindGroupStats(extremes.data(), extremes.size());
    EXPECT_EQ(e.min, -FLT_MAX);
    EXPECT_EQ(e.max, FLT_MAX);
    // Signed zeros: min -0, max +0, absmax +0.
    const std::vector<float> zeros = {0.0f, -0.0f, 0.0f};
    const GroupStats z = FindGroupStats(zeros.data(), zeros.size());
    EXPECT_TRUE(std::signbit(z.min));
    EXPECT_FALSE(std::signbit(z.max));
    EXPECT_FALSE(std::signbit(z.absmax()));
    EXPECT_EQ(z.absmax(), 0.0f);
    const std::vector<float> negative = {-3.0f, -0.5f, -2.0f};
    EXPECT_EQ(FindGroupStats(negative.data(), 3).absmax(), 3.0f);
    EXPECT_EQ(FindGroupStats(negative.data(), 3).max, -0.5f);
}

TEST(QuantizerGroupMathTest, GroupStatsRevealNanAndInf) {
    const float kSpecial[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                              std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::signaling_NaN()};
    for (float special : kSpecial) {
        for (size_t at : {0, 5, 63}) {
            std::vector<float> x(64, 0.25f);
            x[at] = special;
            EXPECT_FALSE(FindGroupStats(x.data(), x.size()).finite()) << special << " at " << at;
        }
    }
}

TEST(QuantizerGroupMathTest, OrderedBitsKeepsTheOrderAndIsItsOwnInverse) {
    const std::vector<float> sorted = {-std::numeric_limits<float>::infinity(),
                                       -FLT_MAX,
                                       -1.0f,
                                       -FLT_MIN,
                                       -1e-45f,
                                       -0.0f,
                                       0.0f,
                                       1e-45f,
                                       FLT_MIN,
                                       1.0f,
                                       FLT_MAX,
                                       std::numeric_limits<float>::infinity()};
    for (size_t i = 0; i < sorted.size(); ++i) {
        const int32_t key = OrderedBits(std::bit_cast<int32_t>(sorted[i]));
        EXPECT_EQ(OrderedBits(key), std::bit_cast<int32_t>(sorted[i]));
        if (i > 0) {
            EXPECT_LT(OrderedBits(std::bit_cast<int32_t>(sorted[i - 1])), key) << sorted[i];
        }
    }
}

// The binary searches against counting the midpoints below x, on every midpoint, its neighbours
// and random values.
TEST(QuantizerGroupMathTest, NearestSearchesCountTheMidpointsBelow) {
    float mid16[15];
    float mid8[7];
    for (int i = 0; i < 15; ++i) mid16[i] = -0.9f + 0.11f * static_cast<float>(i) + 0.001f * static_cast<float>(i * i);
    for (int i = 0; i < 7; ++i) mid8[i] = 0.01f + 0.13f * static_cast<float>(i);
    std::vector<float> probes;
    for (float m : mid16) probes.insert(probes.end(), {m, std::nextafter(m, -2.0f), std::nextafter(m, 2.0f)});
    for (float m : mid8) probes.insert(probes.end(), {m, std::nextafter(m, -2.0f), std::nextafter(m, 2.0f)});
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> uniform(-1.2f, 1.2f);
    for (int i = 0; i < 10000; ++i) probes.push_back(uniform(rng));
    for (float x : probes) {
        int count16 = 0;
        for (float m : mid16) count16 += x > m ? 1 : 0;
        int count8 = 0;
        for (float m : mid8) count8 += x > m ? 1 : 0;
        ASSERT_EQ(NearestOf16(mid16, x), static_cast<float>(count16)) << x;
        const Index8Bits bits = NearestOf8(mid8, x);
        ASSERT_EQ(bits.b2 * 4.0f + bits.b1 * 2.0f + bits.b0, static_cast<float>(count8)) << x;
    }
}

}  // namespace
}  // namespace tenpak::quant
