// Tests of the packed-weight products (tenpak/kernels/packed.h).
//
// DequantizeRows and PackedMatVecRef, the spec, are checked against small examples worked out by
// hand (bytes written out, values computed in the comments). Every decode table this CPU can run
// (the reference table included) is then checked against PackedMatVecRef on random matrices: 2-, 4-
// and 8-bit codes, affine (with and without offsets) and lookup tables, groups of 32, 64 and 128
// columns and whole rows (cols not a multiple of the 32-column block), with and without act-order,
// odd row counts, codes at an odd address, pools of 1 and 2 threads (whose results must be equal
// bit for bit). PackedMatMul is checked against PackedMatVecRef token by token, on a shape that
// ends in a partial dequantization tile. y starts as NaN (every entry must be written) and is
// followed by guards (none may be written); buffers have exact sizes so that ASan sees over-reads.
#include "tenpak/kernels/packed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/matrix_internal.h"
#include "kernels/packed_internal.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak {

// Lets GoogleTest print "avx2" for a failing parameter. Static: no clash with other test files.
[[maybe_unused]] static void PrintTo(Isa isa, std::ostream* os) {
    *os << IsaName(isa);
}

namespace kernels {
namespace {

// Tolerance of a decode result against PackedMatVecRef, relative to S = sum_c |value(r, c) x'[c]|:
// |got - want| <= kPackedSlack * sqrt(n) * u * S, u = 2^-24, n = cols.
//
// Why: every table computes each value exactly as the reference does (one rounding: fma(scale,
// code, offset) or table[code] * scale; UnitVectorsPickOneColumn checks it bit for bit), and adds
// the products value * x' with one fma each, in several partial sums where the reference goes left
// to right (and sgemm in blocks of its own, for prefill). So the two differ by summation order
// only, and each is within n u S of the exact sum (Higham, "Accuracy and Stability of Numerical
// Algorithms", 2nd ed., section 4.2); independent roundings grow like sqrt(n) u S in practice,
// hence the bound of kernels_test.cpp's dots, 4 sqrt(n) u S. The worst case seen here (all-positive
// data, where partial sums only grow, PackedErrorIsFarBelowTheBound) is about a quarter of it. It
// is tight enough to see a lost or doubled term at the longest rows: one term is about S / n,
// 9.1e-5 S at n = 11008, where the tolerance is 2.5e-5 S.
constexpr double kPackedSlack = 4.0;
constexpr double kU = 0x1p-24;
// Bound on the worst error seen over the tolerance (0.26 on this machine, every table); a kernel
// that loses accuracy moves it up.
constexpr double kWorstSeenBound = 0.4;

constexpr uint32_t kSeed = 20261127;  // any fixed value: mt19937's output is specified

// ---- Hand-computed examples -------------------------------------------------------------------

PackedMatrix Affine(int bits, int64_t rows, int64_t cols, int64_t group, const std::vector<uint8_t>& codes,
                    const std::vector<float>& scales, const std::vector<float>& offsets) {
    PackedMatrix w;
    w.rows = rows;
    w.cols = cols;
    w.bits = bits;
    w.group = group;
    w.codes = codes.data();
    w.scales = scales.data();
    w.offsets = offsets.empty() ? nullptr : offsets.data();
    return w;
}

std::vector<float> Dequantized(const PackedMatrix& w, int64_t row_begin, int64_t row_end) {
    std::vector<float> out(static_cast<size_t>((row_end - row_begin) * w.cols));
    DequantizeRows(w, row_begin, row_end, out.data());
    return out;
}

TEST(PackedDequantizeTest, FourBitAffineByHand) {
    // Two rows of 4 columns, one group per row. Column 2j is the low nibble of byte j.
    //   row 0: 0x21 0x43 -> codes 1 2 3 4;  scale 0.5, offset -1 -> -0.5 0 0.5 1
    //   row 1: 0xF0 0x8A -> codes 0 15 10 8; scale 2, offset 3   -> 3 33 23 19
    const std::vector<uint8_t> codes = {0x21, 0x43, 0xF0, 0x8A};
    const std::vector<float> scales = {0.5f, 2.0f};
    const std::vector<float> offsets = {-1.0f, 3.0f};
    const PackedMatrix w = Affine(4, 2, 4, 4, codes, scales, offsets);
    EXPECT_EQ(Dequantized(w, 0, 2), (std::vector<float>{-0.5f, 0.0f, 0.5f, 1.0f, 3.0f, 33.0f, 23.0f, 19.0f}));
    EXPECT_EQ(Dequantized(w, 1, 2), (std::vector<float>{3.0f, 33.0f, 23.0f, 19.0f}));
    EXPECT_TRUE(Dequantized(w, 1, 1).empty());
}

TEST(PackedDequantizeTest, TwoBitAffineByHand) {
    // One row of 8 columns; column 4j + i is bits 2i .. 2i+1 of byte j.
    //   0xE4 = 0b11'10'01'00 -> codes 0 1 2 3;  0x1B = 0b00'01'10'11 -> codes 3 2 1 0
    //   scale 0.25, offset -0.5 -> -0.5 -0.25 0 0.25  0.25 0 -0.25 -0.5
    const std::vector<uint8_t> codes = {0xE4, 0x1B};
    const std::vector<float> scales = {0.25f};
    const std::vector<float> offsets = {-0.5f};
    EXPECT_EQ(Dequantized(Affine(2, 1, 8, 8, codes, scales, offsets), 0, 1),
              (std::vector<float>{-0.5f, -0.25f, 0.0f, 0.25f, 0.25f, 0.0f, -0.25f, -0.5f}));
}

TEST(PackedDequantizeTest, EightBitAffineByHand) {
    // One row of 4 columns, one code per byte: 0 128 255 1, scale 0.5, offset -64 -> -64 0 63.5 -63.5.
    // Without offsets (nullptr: all 0), scale 0.5 -> 0 64 127.5 0.5.
    const std::vector<uint8_t> codes = {0, 128, 255, 1};
    const std::vector<float> scales = {0.5f};
    EXPECT_EQ(Dequantized(Affine(8, 1, 4, 4, codes, scales, {-64.0f}), 0, 1),
              (std::vector<float>{-64.0f, 0.0f, 63.5f, -63.5f}));
    EXPECT_EQ(Dequantized(Affine(8, 1, 4, 4, codes, scales, {}), 0, 1),
              (std::vector<float>{0.0f, 64.0f, 127.5f, 0.5f}));
}

TEST(PackedDequantizeTest, FourBitTableByHand) {
    // table[i] = (i - 7) / 8. One row of 4 columns:
    //   0x0F -> codes 15 0 -> 1 -0.875;  0x97 -> codes 7 9 -> 0 0.25;  times scale 2: 2 -1.75 0 0.5
    std::vector<float> table(16);
    for (size_t i = 0; i < 16; ++i) table[i] = (static_cast<float>(i) - 7.0f) / 8.0f;
    const std::vector<uint8_t> codes = {0x0F, 0x97};
    const std::vector<float> scales = {2.0f};
    PackedMatrix w = Affine(4, 1, 4, 4, codes, scales, {});
    w.table = table.data();
    EXPECT_EQ(Dequantized(w, 0, 1), (std::vector<float>{2.0f, -1.75f, 0.0f, 0.5f}));
}

TEST(PackedDequantizeTest, GroupsTakeTheirOwnScale) {
    // One row of 64 8-bit codes, all 3, in two groups of 32: scales 1 and -2, offsets 0.5 and 4
    // -> 32 x 3.5, then 32 x -2.
    const std::vector<uint8_t> codes(64, 3);
    const std::vector<float> scales = {1.0f, -2.0f};
    const std::vector<float> offsets = {0.5f, 4.0f};
    std::vector<float> want(32, 3.5f);
    want.resize(64, -2.0f);
    EXPECT_EQ(Dequantized(Affine(8, 1, 64, 32, codes, scales, offsets), 0, 1), want);
}

TEST(PackedDequantizeTest, ProductsByHand) {
    // The 4-bit example above (rows -0.5 0 0.5 1 and 3 33 23 19) with x = 1 10 100 1000:
    //   y0 = -0.5 + 0 + 50 + 1000 = 1049.5, y1 = 3 + 330 + 2300 + 19000 = 21633.
    // With column_order 3 2 1 0 (stored column c multiplies x[3 - c]):
    //   y0 = -500 + 0 + 5 + 1 = -494, y1 = 3000 + 3300 + 230 + 19 = 6549.
    // Every intermediate is an integer or a half below 2^24: exact in any order.
    const std::vector<uint8_t> codes = {0x21, 0x43, 0xF0, 0x8A};
    const std::vector<float> scales = {0.5f, 2.0f};
    const std::vector<float> offsets = {-1.0f, 3.0f};
    const std::vector<float> x = {1.0f, 10.0f, 100.0f, 1000.0f};
    const std::vector<int32_t> reversed = {3, 2, 1, 0};
    PackedMatrix w = Affine(4, 2, 4, 4, codes, scales, offsets);
    ThreadPool pool(1);
    for (bool ordered : {false, true}) {
        w.column_order = ordered ? reversed.data() : nullptr;
        const std::vector<float> want =
            ordered ? std::vector<float>{-494.0f, 6549.0f} : std::vector<float>{1049.5f, 21633.0f};
        std::vector<float> y(2);
        PackedMatVecRef(w, x.data(), y.data());
        EXPECT_EQ(y, want) << "reference, ordered " << ordered;
        for (Isa isa : SupportedIsas()) {
            std::fill(y.begin(), y.end(), 0.0f);
            PackedMatVecWith(PackedKernelsFor(isa), w, x.data(), y.data(), pool);
            EXPECT_EQ(y, want) << IsaName(isa) << ", ordered " << ordered;
        }
    }
}

TEST(PackedMatrixTest, StreamedBytesCountsCodesScalesAndOffsets) {
    PackedMatrix w;
    w.rows = 4096;
    w.cols = 4096;
    w.bits = 4;
    w.group = 128;
    const float dummy = 0;
    w.offsets = &dummy;
    // 4096 * 4096 / 2 bytes of codes + 4096 * 32 groups * 4 bytes, twice (scales and offsets).
    EXPECT_EQ(w.StreamedBytes(), size_t{8388608} + 2 * size_t{524288});
    w.offsets = nullptr;
    EXPECT_EQ(w.StreamedBytes(), size_t{8388608} + size_t{524288});
    w.bits = 8;
    w.group = 4096;
    EXPECT_EQ(w.StreamedBytes(), size_t{16777216} + size_t{16384});
}

TEST(PackedMatrixTest, CheckRejectsInconsistentMatrices) {
    const std::vector<uint8_t> codes(64);
    const std::vector<float> scales(4);
    const std::vector<int32_t> bad_order = {0, 1, 2, 64};
    const PackedMatrix good = Affine(4, 2, 64, 32, codes, scales, {});
    CheckPackedMatrix(good);
    PackedMatrix w = good;
    w.bits = 3;
    EXPECT_DEATH(CheckPackedMatrix(w), "bits");
    w = good;
    w.group = 48;  // neither a multiple of 32 nor cols
    EXPECT_DEATH(CheckPackedMatrix(w), "group");
    w = good;
    w.group = 128;  // cols not a multiple of it
    EXPECT_DEATH(CheckPackedMatrix(w), "group");
    w = good;
    w.cols = 6;
    w.group = 6;
    w.bits = 2;  // 2-bit rows must be whole bytes
    EXPECT_DEATH(CheckPackedMatrix(w), "cols");
    w = good;
    w.cols = 4;
    w.group = 4;
    w.column_order = bad_order.data();  // 64 is past the last column
    EXPECT_DEATH(CheckPackedMatrix(w), "column_order");
    w = good;
    w.scales = nullptr;
    EXPECT_DEATH(CheckPackedMatrix(w), "scales");
}

// ---- Random matrices --------------------------------------------------------------------------

enum class Kind { kAffine, kAffineNoOffsets, kTable };

const char* KindName(Kind kind) {
    return kind == Kind::kAffine ? "affine" : kind == Kind::kAffineNoOffsets ? "affine-no-offsets" : "table";
}

struct Shape {
    int64_t rows;
    int64_t cols;
    int64_t group;  // 0: cols
    bool ordered;
};

std::string Describe(int bits, Kind kind, const Shape& s) {
    return std::to_string(bits) + "-bit " + KindName(kind) + " " + std::to_string(s.rows) + "x" +
           std::to_string(s.cols) + " group " + std::to_string(s.group == 0 ? s.cols : s.group) +
           (s.ordered ? " act-order" : "");
}

// Signs of the random data. Mixed signs are the usual case; with every value and x positive the
// partial sums only grow, which is the hardest case for rounding.
enum class Signs { kMixed, kPositive };

// A random packed matrix with its own storage. Codes sit one byte past an allocation of exactly
// the bytes needed (odd address; ASan sees any read past the end).
class RandomPacked {
public:
    RandomPacked(std::mt19937& rng, int bits, Kind kind, const Shape& shape, Signs signs = Signs::kMixed)
        : code_bytes_(std::make_unique<uint8_t[]>(1 + static_cast<size_t>(shape.rows * shape.cols * bits / 8))) {
        w_.rows = shape.rows;
        w_.cols = shape.cols;
        w_.bits = bits;
        w_.group = shape.group == 0 ? shape.cols : shape.group;
        const size_t code_count = static_cast<size_t>(shape.rows * shape.cols * bits / 8);
        std::uniform_int_distribution<int> byte(0, 255);
        for (size_t i = 0; i < code_count; ++i) code_bytes_[1 + i] = static_cast<uint8_t>(byte(rng));
        w_.codes = code_bytes_.get() + 1;

        const size_t groups = static_cast<size_t>(shape.rows * (shape.cols / w_.group));
        const int max_code = (1 << bits) - 1;
        std::uniform_real_distribution<float> magnitude(0.25f, 2.0f);
        std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
        std::uniform_real_distribution<float> zero_point(0.0f, static_cast<float>(max_code));
        std::bernoulli_distribution negative(signs == Signs::kMixed ? 0.25 : 0.0);
        scales_.resize(groups);
        for (float& s : scales_) s = magnitude(rng) * (negative(rng) ? -1.0f : 1.0f);
        w_.scales = scales_.data();
        if (kind == Kind::kAffine) {
            // value = scale * (code - z) with z anywhere in the code range (GPTQ's zero points,
            // GGUF Q4_1's minimum): offsets = -scale * z.
            offsets_.resize(groups);
            // Positive: value = scale * (code + z) instead.
            const float sign = signs == Signs::kPositive ? 1.0f : -1.0f;
            for (size_t g = 0; g < groups; ++g) offsets_[g] = sign * scales_[g] * zero_point(rng);
            w_.offsets = offsets_.data();
        } else if (kind == Kind::kTable) {
            if (bits == 4) {
                const auto& nf4 = quantformat::Nf4Table();
                table_.assign(nf4.begin(), nf4.end());
            } else {
                table_.resize(size_t{1} << bits);
                for (float& t : table_) t = unit(rng);
            }
            if (signs == Signs::kPositive) {
                for (float& t : table_) t = std::abs(t) + 0.125f;
            }
            w_.table = table_.data();
        }
        if (shape.ordered) {
            order_.resize(static_cast<size_t>(shape.cols));
            std::iota(order_.begin(), order_.end(), 0);
            std::shuffle(order_.begin(), order_.end(), rng);
            w_.column_order = order_.data();
        }
    }
    RandomPacked(const RandomPacked&) = delete;
    RandomPacked& operator=(const RandomPacked&) = delete;

    const PackedMatrix& w() const { return w_; }
    uint8_t* codes() { return code_bytes_.get() + 1; }
    std::vector<float>& scales() { return scales_; }

private:
    PackedMatrix w_;
    std::unique_ptr<uint8_t[]> code_bytes_;
    std::vector<float> scales_;
    std::vector<float> offsets_;
    std::vector<float> table_;
    std::vector<int32_t> order_;
};

std::vector<float> RandomX(std::mt19937& rng, int64_t n, Signs signs = Signs::kMixed) {
    std::uniform_real_distribution<float> dist(signs == Signs::kMixed ? -1.0f : 0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = dist(rng);
    return x;
}

// S = sum_c |value(r, c) x'[c]| per row, in double (the scale of the tolerance).
std::vector<double> RowScales(const PackedMatrix& w, const float* x) {
    std::vector<double> out(static_cast<size_t>(w.rows));
    const std::vector<float> values = Dequantized(w, 0, w.rows);
    for (size_t r = 0; r < out.size(); ++r) {
        double s = 0;
        for (size_t c = 0; c < static_cast<size_t>(w.cols); ++c) {
            const size_t from = w.column_order != nullptr ? static_cast<size_t>(w.column_order[c]) : c;
            s += std::abs(static_cast<double>(values[r * static_cast<size_t>(w.cols) + c]) * x[from]);
        }
        out[r] = s;
    }
    return out;
}

constexpr size_t kGuards = 16;
constexpr float kGuardValue = -12345.0f;

// y filled with NaN and followed by guard values.
class Output {
public:
    explicit Output(size_t n) : n_(n), data_(n + kGuards, kGuardValue) {
        std::fill(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(n),
                  std::numeric_limits<float>::quiet_NaN());
    }
    float* data() { return data_.data(); }
    float operator[](size_t i) const { return data_[i]; }
    bool GuardsIntact() const {
        return std::all_of(data_.begin() + static_cast<std::ptrdiff_t>(n_), data_.end(),
                           [](float v) { return v == kGuardValue; });
    }

private:
    size_t n_;
    std::vector<float> data_;
};

// Compares got with want row by row; returns the worst error over the tolerance.
double CompareRows(const std::string& what, const float* got, const std::vector<float>& want,
                   const std::vector<double>& scales, int64_t cols) {
    double worst = 0;
    size_t failures = 0;
    for (size_t r = 0; r < want.size(); ++r) {
        const double tolerance = kPackedSlack * std::sqrt(static_cast<double>(cols)) * kU * scales[r];
        const double error = std::abs(static_cast<double>(got[r]) - want[r]);
        if (!(error <= tolerance)) {  // NaN fails too
            if (++failures <= 3)
                ADD_FAILURE() << what << ": y[" << r << "] = " << got[r] << ", reference " << want[r] << " (tolerance "
                              << tolerance << ")";
            continue;
        }
        if (tolerance > 0) worst = std::max(worst, error / tolerance);
    }
    return worst;
}

// Shapes for every bits value: groups of 32/64/128 and whole rows; cols a multiple of 4 (whole
// bytes of 2-bit codes) but not always of 32; rows odd, below and above one 16-row thread chunk.
std::vector<Shape> DecodeShapes() {
    std::vector<Shape> shapes;
    for (bool ordered : {false, true}) {
        shapes.push_back({1, 4, 0, ordered});
        shapes.push_back({3, 12, 0, ordered});
        shapes.push_back({7, 36, 0, ordered});
        shapes.push_back({5, 100, 0, ordered});
        shapes.push_back({9, 32, 32, ordered});
        shapes.push_back({17, 96, 32, ordered});
        shapes.push_back({33, 256, 64, ordered});
        shapes.push_back({15, 384, 128, ordered});
        shapes.push_back({1, 4100, 0, ordered});
        // Large enough to be split over 2 threads (64 K weights per chunk of 16 rows).
        shapes.push_back({37, 4096, 128, ordered});
        shapes.push_back({41, 2048, 32, ordered});
        shapes.push_back({39, 2048, 64, ordered});  // nf4's blocks, split over 2 threads
        shapes.push_back({19, 4096, 0, ordered});
    }
    shapes.push_back({23, 11008, 128, true});
    return shapes;
}

constexpr int kBits[] = {2, 4, 8};
constexpr Kind kKinds[] = {Kind::kAffine, Kind::kAffineNoOffsets, Kind::kTable};

class PackedDecodeTest : public ::testing::TestWithParam<Isa> {
protected:
    const PackedKernelTable& table() const { return PackedKernelsFor(GetParam()); }

    // Runs one random case with 1 and 2 threads; returns the worst error over the tolerance.
    double CheckCase(std::mt19937& rng, int bits, Kind kind, const Shape& shape, Signs signs = Signs::kMixed) {
        RandomPacked m(rng, bits, kind, shape, signs);
        const std::vector<float> x = RandomX(rng, shape.cols, signs);
        const char* sign_names[] = {"", " positive"};
        return CheckMatrix(Describe(bits, kind, shape) + sign_names[static_cast<int>(signs)], m.w(), x);
    }

    double CheckMatrix(const std::string& what, const PackedMatrix& w, const std::vector<float>& x) {
        const auto rows = static_cast<size_t>(w.rows);
        std::vector<float> want(rows);
        PackedMatVecRef(w, x.data(), want.data());
        const std::vector<double> scales = RowScales(w, x.data());
        Output one(rows);
        Output two(rows);
        PackedMatVecWith(table(), w, x.data(), one.data(), pool1_);
        PackedMatVecWith(table(), w, x.data(), two.data(), pool2_);
        EXPECT_TRUE(one.GuardsIntact()) << what << ": wrote past y";
        EXPECT_TRUE(two.GuardsIntact()) << what << ": wrote past y (2 threads)";
        for (size_t r = 0; r < rows; ++r) {
            const float a = one[r];
            const float b = two[r];
            if (std::memcmp(&a, &b, sizeof(float)) != 0) {
                ADD_FAILURE() << what << ": y[" << r << "] is " << one[r] << " with 1 thread, " << two[r] << " with 2";
                break;
            }
        }
        return CompareRows(what, one.data(), want, scales, w.cols);
    }

    ThreadPool pool1_{1};
    ThreadPool pool2_{2};
};

TEST_P(PackedDecodeTest, TableIsTheRequestedOne) {
    EXPECT_EQ(table().isa, GetParam());
    EXPECT_EQ(SelectedPackedKernels().isa, SelectedIsa());
}

TEST_P(PackedDecodeTest, MatchesReferenceOnRandomMatrices) {
    std::mt19937 rng(kSeed);
    for (int bits : kBits) {
        for (Kind kind : kKinds) {
            for (const Shape& shape : DecodeShapes()) {
                CheckCase(rng, bits, kind, shape);
                CheckCase(rng, bits, kind, shape, Signs::kPositive);
            }
        }
    }
}

// The tolerance must stay tight enough to see a lost term (see kPackedSlack): the worst error on
// random data stays well below it.
TEST_P(PackedDecodeTest, PackedErrorIsFarBelowTheBound) {
    std::mt19937 rng(kSeed + 1);
    const char* names[] = {"mixed", "positive"};
    for (Signs signs : {Signs::kMixed, Signs::kPositive}) {
        double worst = 0;
        for (int bits : kBits) {
            for (Kind kind : kKinds) {
                for (const Shape& shape :
                     {Shape{16, 4096, 128, true}, Shape{16, 11008, 0, false}, Shape{16, 4096, 32, false},
                      Shape{16, 4096, 64, false}}) {
                    worst = std::max(worst, CheckCase(rng, bits, kind, shape, signs));
                }
            }
        }
        EXPECT_LT(worst, kWorstSeenBound) << names[static_cast<int>(signs)];
        RecordProperty(std::string("worst_error_over_tolerance_") + names[static_cast<int>(signs)],
                       std::to_string(worst));
    }
}

// Every code value in every position of a block: the lookups, the shifts and the block orders.
TEST_P(PackedDecodeTest, EveryCodeInEveryColumn) {
    std::mt19937 rng(kSeed + 2);
    for (int bits : kBits) {
        for (Kind kind : kKinds) {
            const int codes = 1 << bits;
            // Row r holds code (r + c) mod 2^bits in column c: each code meets each column, in
            // 32-column blocks and in 128- and 64-column wide blocks (groups 128 and 64).
            for (const Shape& shape :
                 {Shape{codes, 64, 32, false}, Shape{codes, 256, 128, false}, Shape{codes, 128, 64, false}}) {
                RandomPacked m(rng, bits, kind, shape);
                uint8_t* bytes = m.codes();
                std::fill(bytes, bytes + shape.rows * shape.cols * bits / 8, 0);
                for (int64_t r = 0; r < shape.rows; ++r) {
                    for (int64_t c = 0; c < shape.cols; ++c) {
                        const auto code = static_cast<unsigned>((r + c) % codes);
                        const int64_t bit = (r * shape.cols + c) * bits;
                        bytes[bit / 8] = static_cast<uint8_t>(bytes[bit / 8] | (code << (bit % 8)));
                    }
                }
                CheckMatrix(Describe(bits, kind, shape) + " every code", m.w(), RandomX(rng, shape.cols));
            }
        }
    }
}

// One x' at a time: a 1 in column c and 0 elsewhere picks out value(r, c), exactly (every table
// computes each value as the reference does, and the other terms are 0), so a column decoded into
// the wrong slot, or a value rounded differently, shows up.
TEST_P(PackedDecodeTest, UnitVectorsPickOneColumn) {
    std::mt19937 rng(kSeed + 3);
    for (int bits : kBits) {
        for (Kind kind : kKinds) {
            for (const Shape& shape :
                 {Shape{5, 100, 0, true}, Shape{3, 256, 128, false}, Shape{3, 96, 32, true}, Shape{3, 192, 64, true}}) {
                RandomPacked m(rng, bits, kind, shape);
                const std::vector<float> values = Dequantized(m.w(), 0, shape.rows);
                for (int64_t c = 0; c < shape.cols; ++c) {
                    std::vector<float> x(static_cast<size_t>(shape.cols), 0.0f);
                    const int64_t input = shape.ordered ? m.w().column_order[c] : c;
                    x[static_cast<size_t>(input)] = 1.0f;
                    std::vector<float> y(static_cast<size_t>(shape.rows));
                    PackedMatVecWith(table(), m.w(), x.data(), y.data(), pool1_);
                    for (int64_t r = 0; r < shape.rows; ++r) {
                        ASSERT_EQ(y[static_cast<size_t>(r)], values[static_cast<size_t>(r * shape.cols + c)])
                            << Describe(bits, kind, shape) << " row " << r << " column " << c;
                    }
                }
            }
        }
    }
}

// Tables may decode several rows at once (AVX-512: 4, sharing the loads of x'; the rows left over
// at the end of a range one by one). A row's result must not depend on that: each row decoded
// alone (a one-row matrix pointing into the same codes and parameters) equals, bit for bit, its
// entry in a decode of all rows, for wide (groups 128 and 64) and 32-column blocks and a padded
// tail.
TEST_P(PackedDecodeTest, RowDecodedAloneEqualsItsRowInASet) {
    std::mt19937 rng(kSeed + 6);
    for (int bits : kBits) {
        for (Kind kind : kKinds) {
            for (const Shape& shape : {Shape{11, 512, 128, false}, Shape{10, 256, 32, true}, Shape{9, 100, 0, false},
                                       Shape{11, 384, 64, false}}) {
                RandomPacked m(rng, bits, kind, shape);
                const std::vector<float> x = RandomX(rng, shape.cols);
                const auto rows = static_cast<size_t>(shape.rows);
                Output all(rows);
                PackedMatVecWith(table(), m.w(), x.data(), all.data(), pool1_);
                const size_t row_bytes = static_cast<size_t>(shape.cols * bits / 8);
                const size_t groups = static_cast<size_t>(shape.cols / m.w().group);
                for (size_t r = 0; r < rows; ++r) {
                    PackedMatrix one = m.w();
                    one.rows = 1;
                    one.codes += r * row_bytes;
                    one.scales += r * groups;
                    if (one.offsets != nullptr) one.offsets += r * groups;
                    float y = 0;
                    PackedMatVecWith(table(), one, x.data(), &y, pool1_);
                    const float want = all[r];
                    EXPECT_EQ(std::memcmp(&y, &want, sizeof(float)), 0)
                        << Describe(bits, kind, shape) << " row " << r << ": alone " << y << ", in a set " << want;
                }
            }
        }
    }
}

TEST_P(PackedDecodeTest, NanScalePropagatesToItsRowOnly) {
    std::mt19937 rng(kSeed + 4);
    for (int bits : kBits) {
        for (Kind kind : kKinds) {
            const Shape shape{4, 256, 64, false};
            RandomPacked m(rng, bits, kind, shape);
            m.scales()[1 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();  // row 1, group 2
            const std::vector<float> x = RandomX(rng, shape.cols);
            std::vector<float> y(4);
            PackedMatVecWith(table(), m.w(), x.data(), y.data(), pool1_);
            EXPECT_TRUE(std::isnan(y[1])) << Describe(bits, kind, shape);
            EXPECT_TRUE(std::isfinite(y[0]) && std::isfinite(y[2]) && std::isfinite(y[3]))
                << Describe(bits, kind, shape);
        }
    }
}

TEST_P(PackedDecodeTest, EmptyMatrices) {
    const std::vector<uint8_t> codes(8);
    const std::vector<float> scales(1);
    const std::vector<float> x(8, 1.0f);
    Output y(3);
    PackedMatVecWith(table(), Affine(4, 0, 16, 16, codes, scales, {}), x.data(), y.data(), pool1_);
    EXPECT_TRUE(std::isnan(y[0]));  // no rows: nothing written
    PackedMatVecWith(table(), Affine(4, 3, 0, 32, codes, scales, {}), x.data(), y.data(), pool1_);
    EXPECT_EQ(y[0], 0.0f);  // no columns: empty sums
    EXPECT_EQ(y[2], 0.0f);
    EXPECT_TRUE(y.GuardsIntact());
}

INSTANTIATE_TEST_SUITE_P(AllIsas, PackedDecodeTest, ::testing::ValuesIn(SupportedIsas()),
                         [](const ::testing::TestParamInfo<Isa>& isa_info) {
                             return std::string(IsaName(isa_info.param));
                         });

// ---- Prefill ----------------------------------------------------------------------------------

// PackedMatMul (sgemm on dequantized tiles, with the selected table for tokens == 1) against
// PackedMatVecRef token by token: the same values, summed in another order.
TEST(PackedMatMulTest, MatchesReferencePerToken) {
    std::mt19937 rng(kSeed + 5);
    ThreadPool pool1(1);
    ThreadPool pool2(2);
    // One past a whole tile of 4096-column rows, so the last tile is partial.
    const int64_t tile_rows = static_cast<int64_t>(TileLength(4096));
    const Shape shapes[] = {{1, 4, 0, false}, {7, 36, 0, true}, {33, 256, 64, true}, {tile_rows + 17, 4096, 128, true}};
    for (int bits : kBits) {
        for (Kind kind : kKinds) {
            for (const Shape& shape : shapes) {
                if (shape.rows > tile_rows && bits != 4) continue;  // the tiling does not depend on bits
                RandomPacked m(rng, bits, kind, shape);
                for (int64_t tokens : {int64_t{1}, int64_t{2}, int64_t{5}}) {
                    const auto rows = static_cast<size_t>(shape.rows);
                    const auto cols = static_cast<size_t>(shape.cols);
                    const std::vector<float> x = RandomX(rng, tokens * shape.cols);
                    for (ThreadPool* pool : {&pool1, &pool2}) {
                        Output y(static_cast<size_t>(tokens) * rows);
                        PackedMatMul(m.w(), x.data(), tokens, y.data(), *pool);
                        EXPECT_TRUE(y.GuardsIntact());
                        for (int64_t t = 0; t < tokens; ++t) {
                            const float* xt = x.data() + static_cast<size_t>(t) * cols;
                            std::vector<float> want(rows);
                            PackedMatVecRef(m.w(), xt, want.data());
                            const std::string what = Describe(bits, kind, shape) + " tokens " + std::to_string(tokens) +
                                                     " token " + std::to_string(t) + " threads " +
                                                     std::to_string(pool->size());
                            CompareRows(what, y.data() + static_cast<size_t>(t) * rows, want, RowScales(m.w(), xt),
                                        shape.cols);
                        }
                    }
                }
            }
        }
    }
}

TEST(PackedMatMulTest, EmptyDimensions) {
    const std::vector<uint8_t> codes(8);
    const std::vector<float> scales(1);
    const std::vector<float> x(16, 1.0f);
    ThreadPool pool(1);
    Output y(6);
    PackedMatMul(Affine(4, 3, 4, 4, codes, scales, {}), x.data(), 0, y.data(), pool);
    EXPECT_TRUE(std::isnan(y[0]));  // no tokens: nothing written
    PackedMatMul(Affine(4, 3, 0, 32, codes, scales, {}), x.data(), 2, y.data(), pool);
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(y[i], 0.0f);  // no columns: empty sums
    EXPECT_TRUE(y.GuardsIntact());
}

}  // namespace
}  // namespace kernels
}  // namespace tenpak
