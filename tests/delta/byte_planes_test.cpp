// The lossless delta transform against a plain reference: differences and planes invert exactly for
// every word size, and the planes put the most significant bytes first.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tenpak/core/half.h"
#include "tenpak/delta/byte_planes.h"

namespace tenpak {
namespace {

std::vector<std::byte> RandomBytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::byte> bytes(n);
    for (std::byte& b : bytes) b = static_cast<std::byte>(rng() & 0xff);
    return bytes;
}

TEST(BytePlanesTest, DifferencesInvertForEveryWordSizeAndKind) {
    for (size_t word : {1u, 2u, 4u, 8u}) {
        for (delta::Difference kind : {delta::Difference::kXor, delta::Difference::kSubtract}) {
            const std::vector<std::byte> base = RandomBytes(word * 257, 1);
            const std::vector<std::byte> fine = RandomBytes(word * 257, 2);
            std::vector<std::byte> diff(fine.size()), back(fine.size());
            delta::Diff(base, fine, word, kind, diff);
            delta::Undiff(base, diff, word, kind, back);
            EXPECT_EQ(back, fine) << word << " " << delta::DifferenceName(kind);
        }
    }
}

TEST(BytePlanesTest, SubtractionIsModularPerWordAndXorIsBitwise) {
    const uint16_t base[] = {0x0001, 0xffff, 0x3c00};
    const uint16_t fine[] = {0x0000, 0x0001, 0x3c01};
    uint16_t diff[3];
    delta::Diff(std::as_bytes(std::span(base)), std::as_bytes(std::span(fine)), 2, delta::Difference::kSubtract,
                std::as_writable_bytes(std::span(diff)));
    EXPECT_EQ(diff[0], 0xffff);  // 0 - 1
    EXPECT_EQ(diff[1], 0x0002);  // 1 - 0xffff
    EXPECT_EQ(diff[2], 0x0001);
    delta::Diff(std::as_bytes(std::span(base)), std::as_bytes(std::span(fine)), 2, delta::Difference::kXor,
                std::as_writable_bytes(std::span(diff)));
    EXPECT_EQ(diff[1], 0xfffe);
    EXPECT_EQ(diff[2], 0x0001);
}

TEST(BytePlanesTest, PlanesPutHighBytesFirstAndJoinBack) {
    const uint32_t words[] = {0x11223344, 0xaabbccdd};
    std::vector<std::byte> planes(8), back(8);
    delta::SplitPlanes(std::as_bytes(std::span(words)), 4, planes);
    const uint8_t expected[] = {0x11, 0xaa, 0x22, 0xbb, 0x33, 0xcc, 0x44, 0xdd};
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(static_cast<uint8_t>(planes[i]), expected[i]) << i;
    delta::JoinPlanes(planes, 4, back);
    EXPECT_EQ(std::memcmp(back.data(), words, 8), 0);
    for (size_t word : {1u, 2u, 8u}) {
        const std::vector<std::byte> data = RandomBytes(word * 99, 3);
        std::vector<std::byte> split(data.size()), joined(data.size());
        delta::SplitPlanes(data, word, split);
        delta::JoinPlanes(split, word, joined);
        EXPECT_EQ(joined, data) << word;
    }
}

TEST(BytePlanesTest, ASmallFineTuneLeavesTheHighPlaneOfAnF16DifferenceMostlyZero) {
    std::mt19937 rng(4);
    std::normal_distribution<float> weight(0.0f, 0.02f), nudge(0.0f, 0.0002f);
    const size_t n = 4096;
    std::vector<uint16_t> base(n), fine(n);
    for (size_t i = 0; i < n; ++i) {
        const float w = weight(rng);
        base[i] = F32ToF16Ref(w);
        fine[i] = F32ToF16Ref(w + nudge(rng));
    }
    std::vector<std::byte> diff(2 * n), planes(2 * n);
    delta::Diff(std::as_bytes(std::span(base)), std::as_bytes(std::span(fine)), 2, delta::Difference::kXor, diff);
    delta::SplitPlanes(diff, 2, planes);
    size_t high_zeros = 0, low_zeros = 0;
    for (size_t i = 0; i < n; ++i) {
        high_zeros += planes[i] == std::byte{0};
        low_zeros += planes[n + i] == std::byte{0};
    }
    // Sign, exponent and the top two mantissa bits rarely change (86% zeros with this seed); the low
    // mantissa byte changes almost always. Interleaved, the zeros would be scattered across both.
    EXPECT_GT(high_zeros, n * 3 / 4);
    EXPECT_LT(low_zeros, n / 4);
}

}  // namespace
}  // namespace tenpak
