// EncodeNearestOf16 (src/quant/nearest16.h): the scalar loop against counting the midpoints below
// each scaled weight, and the AVX-512 twin against the scalar loop, byte for byte, on the table's
// midpoints and their neighbours, the bucket edges, signed zeros, values beyond the table's ends,
// and every run length up to a few vectors (the masked tail). Both of the vector kernel's ways are
// driven: NF4's table (bucket lookup) and a table with midpoints too close for buckets (search).
#include "quant/nearest16.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "tenpak/core/cpu_features.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {
namespace {

// Sorted, with two midpoints 0.02 apart: closer than a bucket is wide.
std::array<float, 16> CrowdedTable() {
    std::array<float, 16> t{};
    for (int i = 0; i < 16; ++i) t[i] = -1.0f + 0.1f * static_cast<float>(i);
    t[8] = t[7] + 0.02f;
    t[9] = t[8] + 0.02f;
    return t;
}

// Weights whose scaled values (inv = 1) land on, just below and just above every midpoint and
// every bucket edge, plus zeros, the ends of [-1, 1], values beyond them, and random ones.
std::vector<float> Probes(const Nearest16Table& table) {
    std::vector<float> x;
    auto around = [&x](float v) { x.insert(x.end(), {v, std::nextafter(v, -4.0f), std::nextafter(v, 4.0f)}); };
    for (float m : table.mid) around(m);
    for (int b = 0; b <= 32; ++b) around(-1.0f + static_cast<float>(b) / 16.0f);
    x.insert(x.end(), {0.0f, -0.0f, 1.5f, -1.5f, 1e-30f, -1e-30f, 3e38f, -3e38f});
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> uniform(-1.1f, 1.1f);
    for (int i = 0; i < 5000; ++i) x.push_back(uniform(rng));
    return x;
}

const float kInverses[] = {1.0f, 0.37f, 3.0f, 0.0f, 1.0000001f};

TEST(Nearest16Test, Nf4TableUsesBucketsAndACrowdedOneDoesNot) {
    EXPECT_TRUE(Nearest16Table(quantformat::Nf4Table()).buckets_exact);
    EXPECT_FALSE(Nearest16Table(CrowdedTable()).buckets_exact);
}

TEST(Nearest16Test, ScalarCountsTheMidpointsBelow) {
    for (const Nearest16Table& table : {Nearest16Table(quantformat::Nf4Table()), Nearest16Table(CrowdedTable())}) {
        const std::vector<float> x = Probes(table);
        for (float inv : kInverses) {
            std::vector<uint8_t> codes(x.size());
            EncodeNearestOf16Scalar(x.data(), x.size(), inv, table, codes.data());
            for (size_t i = 0; i < x.size(); ++i) {
                int below = 0;
                for (float m : table.mid) below += x[i] * inv > m ? 1 : 0;
                ASSERT_EQ(codes[i], below) << "x " << x[i] << " inv " << inv;
            }
        }
    }
}

TEST(Nearest16Test, Avx512MatchesTheScalarLoop) {
    if (!IsaSupported(Isa::kAvx512)) GTEST_SKIP() << "this CPU has no AVX-512";
    for (const Nearest16Table& table : {Nearest16Table(quantformat::Nf4Table()), Nearest16Table(CrowdedTable())}) {
        const std::vector<float> x = Probes(table);
        for (float inv : kInverses) {
            std::vector<uint8_t> want(x.size());
            std::vector<uint8_t> got(x.size());
            EncodeNearestOf16Scalar(x.data(), x.size(), inv, table, want.data());
            EncodeNearestOf16Avx512(x.data(), x.size(), inv, table, got.data());
            ASSERT_EQ(got, want) << "inv " << inv << " buckets " << table.buckets_exact;
        }
        // Every length 0..64 at an odd offset: whole vectors, the masked tail, nothing written past n.
        for (size_t n = 0; n <= 64; ++n) {
            std::vector<uint8_t> want(n + 1, 0xAB);
            std::vector<uint8_t> got(n + 1, 0xAB);
            EncodeNearestOf16Scalar(x.data() + 3, n, 0.9f, table, want.data());
            EncodeNearestOf16Avx512(x.data() + 3, n, 0.9f, table, got.data());
            ASSERT_EQ(got, want) << "n " << n;
            ASSERT_EQ(got[n], 0xAB) << "n " << n;
        }
    }
}

}  // namespace
}  // namespace tenpak::quant
