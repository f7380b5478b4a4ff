// The calibration-free quantizers (tenpak/quant/quantizer.h): options, hand-computed groups per
// method, round trips against the error bound each method guarantees, ties, zero groups, NaN/Inf,
// and independence from the thread count. llama.cpp byte identity: quantizer_gguf_test.cpp.
#include "tenpak/quant/quantizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "quant/blockwise.h"
#include "quant/group_math.h"
#include "quantizer_test_util.h"
#include "tenpak/core/half.h"

namespace tenpak::quant {
namespace {

using quantformat::DynamicMap8;
using quantformat::Fp4Table;
using quantformat::Nf4Table;
using quantformat::QuantizedTensor;
using quantformat::Scheme;
using testing::DequantizeAll;
using testing::Options;
using testing::QuantizeOrDie;
using testing::TroubleMatrix;

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

Status QuantizeStatus(const QuantOptions& options, const std::vector<float>& w, int64_t rows, int64_t cols) {
    Result<std::unique_ptr<Quantizer>> quantizer = MakeQuantizer(options);
    if (!quantizer.ok()) return quantizer.status();
    ThreadPool pool(2);
    Result<QuantizedTensor> q = (*quantizer)->Quantize(w, rows, cols, pool);
    return q.ok() ? Status::Ok() : q.status();
}

std::vector<int> Codes(const QuantizedTensor& q) {
    return {q.codes.begin(), q.codes.end()};
}

// ---- Options -----------------------------------------------------------------------------------

TEST(QuantizerOptionsTest, AcceptsEveryDocumentedChoice) {
    for (int bits : {2, 3, 4, 8}) {
        for (int64_t g : {32, 64, 128, -1}) {
            for (bool sym : {true, false}) {
                EXPECT_TRUE(ValidateOptions(Options(Method::kRtn, bits, g, sym)).ok()) << bits << " " << g;
            }
        }
    }
    for (Method m : {Method::kNf4, Method::kFp4}) {
        for (int64_t b = 32; b <= 4096; b *= 2) {
            EXPECT_TRUE(ValidateOptions(Options(m, 4, b, true, false)).ok()) << b;
            EXPECT_TRUE(ValidateOptions(Options(m, 4, b, true, true)).ok()) << b;
        }
    }
    for (Method m : {Method::kInt8, Method::kGgufQ8_0, Method::kGgufQ4_0, Method::kGgufQ4_1}) {
        EXPECT_TRUE(ValidateOptions(DefaultOptions(m)).ok()) << MethodName(m);
    }
    EXPECT_EQ(DefaultOptions(Method::kNf4).group_size, 64);
    EXPECT_EQ(DefaultOptions(Method::kFp4).group_size, 64);
    EXPECT_EQ(DefaultOptions(Method::kRtn).group_size, 128);
    EXPECT_EQ(DefaultOptions(Method::kRtn).bits, 4);
}

TEST(QuantizerOptionsTest, RefusesWithTheChoicesListed) {
    const Status bits = ValidateOptions(Options(Method::kRtn, 5));
    EXPECT_EQ(bits.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(bits.message(), "2, 3, 4 or 8")) << bits.message();
    EXPECT_TRUE(Contains(bits.message(), "5")) << bits.message();

    const Status group = ValidateOptions(Options(Method::kRtn, 4, 100));
    EXPECT_TRUE(Contains(group.message(), "32, 64, 128 or -1")) << group.message();
    EXPECT_TRUE(Contains(group.message(), "100")) << group.message();

    for (int64_t b : {16, 48, 8192, 0, -1}) {
        const Status block = ValidateOptions(Options(Method::kNf4, 4, b));
        EXPECT_FALSE(block.ok()) << b;
        EXPECT_TRUE(Contains(block.message(), "power of two from 32 to 4096")) << block.message();
    }
    for (Method m : {Method::kRtn, Method::kInt8, Method::kGgufQ8_0}) {
        const Status dq = ValidateOptions(Options(m, 4, 128, true, true));
        EXPECT_FALSE(dq.ok()) << MethodName(m);
        EXPECT_TRUE(Contains(dq.message(), "nf4 and fp4 only")) << dq.message();
    }
    QuantOptions unknown;
    unknown.method = static_cast<Method>(42);
    EXPECT_FALSE(ValidateOptions(unknown).ok());
    EXPECT_FALSE(MakeQuantizer(Options(Method::kRtn, 7)).ok());
}

// ---- Errors on the data ------------------------------------------------------------------------

TEST(QuantizerErrorsTest, ColumnsThatDoNotDivideIntoGroupsNameBothNumbers) {
    const std::vector<float> w(2 * 100, 0.5f);
    const Status rtn = QuantizeStatus(Options(Method::kRtn, 4, 128), w, 2, 100);
    EXPECT_EQ(rtn.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(rtn.message(), "100") && Contains(rtn.message(), "128")) << rtn.message();
    const Status q4 = QuantizeStatus(DefaultOptions(Method::kGgufQ4_0), w, 2, 100);
    EXPECT_TRUE(Contains(q4.message(), "100") && Contains(q4.message(), "32")) << q4.message();
    // Per channel, int8 and bitsandbytes' blocks over the flattening take any width.
    EXPECT_TRUE(QuantizeStatus(Options(Method::kRtn, 4, -1), w, 2, 100).ok());
    EXPECT_TRUE(QuantizeStatus(DefaultOptions(Method::kInt8), w, 2, 100).ok());
    EXPECT_TRUE(QuantizeStatus(DefaultOptions(Method::kNf4), w, 2, 100).ok());
    // A size that disagrees with the shape.
    EXPECT_FALSE(QuantizeStatus(DefaultOptions(Method::kInt8), w, 3, 100).ok());
    EXPECT_FALSE(QuantizeStatus(DefaultOptions(Method::kInt8), {}, 0, 0).ok());
}

TEST(QuantizerErrorsTest, NanAndInfNameTheFirstRowAndColumn) {
    const int64_t rows = 9;
    const int64_t cols = 128;
    const std::vector<QuantOptions> all = {
        Options(Method::kRtn, 4, 32),      Options(Method::kRtn, 8, -1, false),
        DefaultOptions(Method::kNf4),      Options(Method::kFp4, 4, 64, true, true),
        DefaultOptions(Method::kInt8),     DefaultOptions(Method::kGgufQ8_0),
        DefaultOptions(Method::kGgufQ4_0), DefaultOptions(Method::kGgufQ4_1),
    };
    const float kBad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()};
    const char* kNames[] = {"NaN", "+Inf", "-Inf"};
    for (const QuantOptions& options : all) {
        for (int b = 0; b < 3; ++b) {
            std::vector<float> w = TroubleMatrix(rows, cols, 7);
            w[static_cast<size_t>(6 * cols + 77)] = kBad[b];
            w[static_cast<size_t>(8 * cols + 3)] = kBad[(b + 1) % 3];  // later: not the one reported
            for (size_t threads : {1, 2}) {
                Result<std::unique_ptr<Quantizer>> quantizer = MakeQuantizer(options);
                ASSERT_TRUE(quantizer.ok());
                ThreadPool pool(threads);
                Result<QuantizedTensor> q = (*quantizer)->Quantize(w, rows, cols, pool);
                ASSERT_FALSE(q.ok()) << MethodName(options.method);
                EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
                const std::string& message = q.status().message();
                EXPECT_TRUE(Contains(message, std::string(kNames[b]) + " at row 6, column 77")) << message;
            }
        }
    }
}

TEST(QuantizerErrorsTest, ScalesThatOverflowF16AreRefused) {
    std::vector<float> w(64, 1.0f);
    w[5] = 3.0e6f;  // rtn 4-bit: scale 2 * 3e6 / 15 = 4e5 > 65504
    const Status rtn = QuantizeStatus(Options(Method::kRtn, 4, 32), w, 2, 32);
    EXPECT_EQ(rtn.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(rtn.message(), "row 0, column 0") && Contains(rtn.message(), "F16")) << rtn.message();
    // bitsandbytes keeps its absmax in F32; int8's SCB is F32 too.
    EXPECT_TRUE(QuantizeStatus(DefaultOptions(Method::kNf4), w, 2, 32).ok());
    EXPECT_TRUE(QuantizeStatus(DefaultOptions(Method::kInt8), w, 2, 32).ok());
}

// ---- rtn: hand examples ------------------------------------------------------------------------

TEST(RtnTest, SymmetricHandExampleWithTiesToEven) {
    // absmax 3.75 -> scale = 2 * 3.75 / 15 = 0.5 (exact in F16), zero 8.
    // w / scale: -7.5 -> -8 (tie, even), 0, 2.5 -> 2 (tie, even), 3.5 -> 4 (tie, even), 6,
    // 7.5 -> 8 -> 16, clamped to 15 (GPTQ's symmetric grid [-8, 7] cannot hold +absmax).
    const std::vector<float> w = {-3.75f, 0.0f, 1.25f, 1.75f, 3.0f, 3.75f};
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, 4, -1, true), w, 1, 6);
    EXPECT_EQ(q.scheme, Scheme::kAffine);
    EXPECT_EQ(q.group_size, 6);
    EXPECT_TRUE(q.symmetric);
    ASSERT_EQ(q.scales.size(), 1u);
    EXPECT_EQ(q.scales[0], 0.5f);
    EXPECT_EQ(q.zeros[0], 8.0f);
    EXPECT_EQ(Codes(q), (std::vector<int>{0, 8, 10, 12, 14, 15}));
    EXPECT_EQ(DequantizeAll(q), (std::vector<float>{-4.0f, 0.0f, 1.0f, 2.0f, 3.0f, 3.5f}));
}

TEST(RtnTest, AsymmetricHandExample) {
    // xmin -1, xmax 6.5: scale 7.5 / 15 = 0.5, zero round(1 / 0.5) = 2.
    // codes: -2 + 2 = 0, 13 + 2 = 15, round(0.5) = 0 -> 2, round(1.5) = 2 -> 4.
    const std::vector<float> w = {-1.0f, 6.5f, 0.25f, 0.75f};
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, 4, -1, false), w, 1, 4);
    EXPECT_FALSE(q.symmetric);
    EXPECT_EQ(q.scales[0], 0.5f);
    EXPECT_EQ(q.zeros[0], 2.0f);
    EXPECT_EQ(Codes(q), (std::vector<int>{0, 15, 2, 4}));
}

TEST(RtnTest, AsymmetricZeroPointIsAtLeastOne) {
    // All weights >= 0: xmin 0, xmax 7.5, scale 0.5, GPTQ's zero round(0) = 0, which GPTQ v1 cannot
    // store; we use 1, so 7.5 (15 + 1 = 16) clamps to 15 and comes back as 7.0.
    const std::vector<float> w = {0.1f, 7.5f};
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, 4, -1, false), w, 1, 2);
    EXPECT_EQ(q.zeros[0], 1.0f);
    EXPECT_EQ(Codes(q), (std::vector<int>{1, 15}));
    EXPECT_EQ(DequantizeAll(q), (std::vector<float>{0.0f, 7.0f}));
    // Without the floor (GPTQ's own arithmetic) the zero is 0.
    ThreadPool pool(1);
    Result<QuantizedTensor> literal = RunBlockwise(*MakeRtnCodec(4, false, false), w, 1, 2, 2, pool);
    ASSERT_TRUE(literal.ok());
    EXPECT_EQ(literal->zeros[0], 0.0f);
    EXPECT_EQ(Codes(*literal), (std::vector<int>{0, 15}));
}

TEST(RtnTest, SymmetricGroupWithoutNegativeWeightsFollowsGptq) {
    // GPTQ's find_params keeps xmin = 0 when no weight is negative, so scale = xmax / 15 = 0.5 and
    // the grid [-8, 7] * 0.5 reaches only 3.5: 7.5 clamps (formats.md B.4, followed literally).
    const std::vector<float> w = {1.0f, 7.5f};
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, 4, -1, true), w, 1, 2);
    EXPECT_EQ(q.scales[0], 0.5f);
    EXPECT_EQ(Codes(q), (std::vector<int>{10, 15}));
    EXPECT_EQ(DequantizeAll(q), (std::vector<float>{1.0f, 3.5f}));
}

TEST(RtnTest, ZeroGroupsAndF16Scales) {
    // A group of zeros gets xmin = -1, xmax = 1: scale f16(2/15), every code the zero point.
    const std::vector<float> zeros(64, 0.0f);
    for (bool sym : {true, false}) {
        const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, 4, 32, sym), zeros, 2, 32);
        for (float s : q.scales) EXPECT_EQ(s, RoundToF16(2.0f / 15.0f));
        for (size_t i = 0; i < q.codes.size(); ++i) EXPECT_EQ(q.codes[i], q.zeros[i / 32]);
        for (float v : DequantizeAll(q)) EXPECT_EQ(v, 0.0f);
    }
    // Scales are F16 values: 0.3 / 7.5 = 0.04 is not one.
    std::vector<float> w(32, 0.1f);
    w[0] = -0.3f;
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, 4, 32, true), w, 1, 32);
    const float f32_scale = 0.6f / 15.0f;
    EXPECT_NE(q.scales[0], f32_scale);
    EXPECT_EQ(q.scales[0], F16ToF32Ref(F32ToF16Ref(f32_scale)));
    // Weights so small that the scale is below F16's range: every code is the zero point.
    std::vector<float> tiny(32, 1e-9f);
    tiny[3] = -2e-9f;
    for (bool sym : {true, false}) {
        const QuantizedTensor t = QuantizeOrDie(Options(Method::kRtn, 4, 32, sym), tiny, 1, 32);
        EXPECT_EQ(t.scales[0], 0.0f);
        for (uint8_t c : t.codes) EXPECT_EQ(c, t.zeros[0]);
    }
}

// ---- rtn: round trip against the bound ---------------------------------------------------------
//
// The bound, derived from formats.md B.4 with the scale rounded to F16. Let s be the F32 scale of a
// group, s16 its F16 rounding (what is stored and used), maxq = 2^bits - 1. A weight whose
// unclamped code round(w / s16) + zero lies in [0, maxq] is off by at most s16 / 2. The codes clamp
// only past the grid's ends, and the ends sit within reach of the range [xmin, xmax]:
//  - asym: zero = round(-xmin / s16) <= -xmin / s16 + 1/2, so the top of the grid,
//    (maxq - zero) * s16 >= xmax - s16 / 2 - maxq * (s - s16): error <= s16 / 2 + maxq * (s - s16)+.
//    The bottom, -zero * s16 <= xmin + s16 / 2: error <= s16 / 2.
//  - asym with the zero clamped up to 1 (round gave 0, so xmin > -s16 / 2): the top is
//    (maxq - 1) * s16 and error <= s16 + maxq * (s - s16)+.
//  - sym with a negative weight: top (maxq - 1) / 2 * s16 against xmax <= maxq / 2 * s: error
//    <= s16 / 2 + maxq / 2 * (s - s16)+; the bottom end covers -absmax.
//  - sym without a negative weight (GPTQ's quirk): only weights up to the grid's top,
//    (maxq - 1) / 2 * s16 + s16 / 2, are within s16 / 2.
// F16 rounds s to within 2^-11 relatively (normal range), so (s - s16)+ is tiny. On top of this
// comes float arithmetic: the quotient w / s16 and the product s16 * (q - zero) each round once.
struct GptqRange {
    float scale;         // the F32 scale s
    bool zero_is_floor;  // asym zero clamped up to 1
    bool no_negative;    // sym quirk group
};

GptqRange ReferenceRange(const float* g, size_t n, int bits, bool sym) {
    const float maxq = static_cast<float>((1 << bits) - 1);
    float xmin = 0.0f;
    float xmax = 0.0f;
    for (size_t i = 0; i < n; ++i) {
        xmin = std::min(xmin, g[i]);
        xmax = std::max(xmax, g[i]);
    }
    const bool no_negative = !(xmin < 0.0f);
    if (sym) {
        xmax = std::max(-xmin, xmax);
        if (xmin < 0.0f) xmin = -xmax;
    }
    if (xmin == 0.0f && xmax == 0.0f) {
        xmin = -1.0f;
        xmax = 1.0f;
    }
    const float s = (xmax - xmin) / maxq;
    const float s16 = RoundToF16(s);
    const bool floor = !sym && s16 > 0.0f && std::nearbyint(-xmin / s16) < 1.0f;
    return {s, floor, sym && no_negative && !(xmin == -1.0f && xmax == 1.0f)};
}

void CheckRtnBound(int bits, int64_t group, bool sym) {
    const int64_t rows = 33;
    const int64_t cols = 512;
    const std::vector<float> w = TroubleMatrix(rows, cols, 100 + static_cast<uint32_t>(bits));
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, bits, group, sym), w, rows, cols);
    ASSERT_FALSE(q.codes.empty());
    const std::vector<float> back = DequantizeAll(q);
    const int64_t g = group == -1 ? cols : group;
    const float maxq = static_cast<float>((1 << bits) - 1);
    int64_t checked = 0;
    int64_t floors = 0;
    for (int64_t start = 0; start < rows * cols; start += g) {
        const GptqRange range = ReferenceRange(w.data() + start, static_cast<size_t>(g), bits, sym);
        const float s16 = q.scales[static_cast<size_t>(start / g)];
        ASSERT_EQ(s16, RoundToF16(range.scale));
        const float excess = std::max(0.0f, range.scale - s16);
        float bound = s16 / 2.0f + (sym ? maxq / 2.0f : maxq) * excess;
        if (range.zero_is_floor) {
            bound += s16 / 2.0f;
            ++floors;
        }
        const float top = (maxq - q.zeros[static_cast<size_t>(start / g)]) * s16 + s16 / 2.0f;
        for (int64_t i = start; i < start + g; ++i) {
            const float x = w[static_cast<size_t>(i)];
            if (range.no_negative && x > top) continue;
            const float slack = 4.0f * FLT_EPSILON * std::max(std::fabs(x), maxq * s16);
            ASSERT_LE(std::fabs(x - back[static_cast<size_t>(i)]), bound + slack)
                << "bits " << bits << " group " << group << " sym " << sym << " at " << i << ": w " << x << " w_hat "
                << back[static_cast<size_t>(i)] << " scale " << s16;
            ++checked;
        }
    }
    EXPECT_GT(checked, rows * cols / 2);
    if (!sym) {
        EXPECT_GT(floors, 0) << "the trouble matrix has all-positive rows";
    }
}

TEST(RtnTest, RoundTripWithinTheBound) {
    for (int bits : {2, 3, 4, 8}) {
        for (int64_t group : {32, 64, 128, -1}) {
            for (bool sym : {true, false}) CheckRtnBound(bits, group, sym);
        }
    }
}

// The zero-point floor (>= 1 for GPTQ v1) costs nothing notable: it changes only groups whose
// minimum is above -scale / 2, which weights spread around 0 almost never have.
double MeanSquaredError(const QuantizedTensor& q, const std::vector<float>& w) {
    const std::vector<float> back = DequantizeAll(q);
    double sum = 0.0;
    for (size_t i = 0; i < w.size(); ++i) sum += (w[i] - back[i]) * static_cast<double>(w[i] - back[i]);
    return sum / static_cast<double>(w.size());
}

TEST(RtnTest, RtnZeroFloorCostsLittle) {
    const int64_t rows = 256;
    const int64_t cols = 1024;
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& v : w) v = normal(rng);
    ThreadPool pool(2);
    for (int bits : {2, 3, 4, 8}) {
        for (int64_t group : {int64_t{32}, int64_t{128}, cols}) {
            Result<QuantizedTensor> floor = RunBlockwise(*MakeRtnCodec(bits, false, true), w, rows, cols, group, pool);
            Result<QuantizedTensor> gptq = RunBlockwise(*MakeRtnCodec(bits, false, false), w, rows, cols, group, pool);
            ASSERT_TRUE(floor.ok() && gptq.ok());
            int64_t changed = 0;
            for (size_t i = 0; i < floor->zeros.size(); ++i) changed += floor->zeros[i] != gptq->zeros[i] ? 1 : 0;
            const double a = MeanSquaredError(*floor, w);
            const double b = MeanSquaredError(*gptq, w);
            EXPECT_LE(a, b * 1.01) << bits << " bits, group " << group;
            std::printf("rtn asym %d-bit group %4lld, Gaussian: zero floored in %lld of %zu groups, MSE ratio %.6f\n",
                        bits, static_cast<long long>(group), static_cast<long long>(changed), floor->zeros.size(),
                        a / b);
        }
    }
}

// ---- nf4 / fp4 ---------------------------------------------------------------------------------

TEST(Bnb4Test, Nf4HandExample) {
    // One block of 64 with absmax 2: x = w / 2.
    std::vector<float> w(64, 0.0f);
    w[0] = -2.0f;                        // x = -1 -> code 0
    w[1] = 2.0f * 0.07958029955625534f;  // a table value exactly -> code 8
    w[2] = 2.0f * 0.5626170039176941f;   // code 13
    w[3] = 2.0f;                         // code 15
    w[4] = 2.0f * 0.03f;                 // nearer 0 than 0.0796 -> code 7
    w[5] = 2.0f * -0.6f;                 // between -0.696 (1) and -0.525 (2), nearer -0.525 -> 2
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kNf4, 4, 64), w, 1, 64);
    EXPECT_EQ(q.scheme, Scheme::kNf4);
    EXPECT_TRUE(q.zeros.empty());
    ASSERT_EQ(q.scales, std::vector<float>{2.0f});
    EXPECT_EQ(q.codes[0], 0);
    EXPECT_EQ(q.codes[1], 8);
    EXPECT_EQ(q.codes[2], 13);
    EXPECT_EQ(q.codes[3], 15);
    EXPECT_EQ(q.codes[4], 7);
    EXPECT_EQ(q.codes[5], 2);
    for (size_t i = 6; i < 64; ++i) EXPECT_EQ(q.codes[i], 7);
}

TEST(Bnb4Test, Fp4HandExample) {
    // absmax 12: x = w / 12; magnitudes {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12 for codes 0..7.
    std::vector<float> w(32, 0.0f);
    w[0] = 12.0f;     // 1.0 -> 3
    w[1] = -8.0f;     // -0.667 -> 2 | 8 = 10
    w[2] = 3.0f;      // 0.25 -> 7
    w[3] = -0.0625f;  // -0.0052 -> 1 | 8 = 9
    w[4] = 5.2f;      // 0.433: between 4/12 (4) and 6/12 (5), nearer 0.5 -> 5
    w[5] = -0.01f;    // magnitude nearest 0, negative -> 8 (-0.0)
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kFp4, 4, 32), w, 1, 32);
    EXPECT_EQ(q.scheme, Scheme::kFp4);
    ASSERT_EQ(q.scales, std::vector<float>{12.0f});
    EXPECT_EQ((std::vector<int>(q.codes.begin(), q.codes.begin() + 7)), (std::vector<int>{3, 10, 7, 9, 5, 8, 0}));
}

TEST(Bnb4Test, ZeroBlocksGiveTheCodeOfZero) {
    const std::vector<float> w(3 * 64, 0.0f);
    const QuantizedTensor nf4 = QuantizeOrDie(Options(Method::kNf4, 4, 64), w, 3, 64);
    const QuantizedTensor fp4 = QuantizeOrDie(Options(Method::kFp4, 4, 64), w, 3, 64);
    for (uint8_t c : nf4.codes) EXPECT_EQ(c, 7);
    for (uint8_t c : fp4.codes) EXPECT_EQ(c, 0);
    for (float s : nf4.scales) EXPECT_EQ(s, 0.0f);
    for (float v : DequantizeAll(nf4)) EXPECT_EQ(v, 0.0f);
    for (float v : DequantizeAll(fp4)) EXPECT_EQ(v, 0.0f);
}

TEST(Bnb4Test, BlocksRunOverTheFlatteningAcrossRows) {
    // 3 x 48 = 144 elements in blocks of 64: [0, 64), [64, 128), [128, 144) -- the second block
    // holds the end of row 1 and the start of row 2, the last is short.
    std::vector<float> w(144, 0.0f);
    w[10] = 1.0f;
    w[70] = -3.0f;   // row 1
    w[100] = 2.0f;   // row 2, same block
    w[140] = 0.25f;  // short last block
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kNf4, 4, 64), w, 3, 48);
    EXPECT_EQ(q.groups(), 3);
    EXPECT_EQ(q.scales, (std::vector<float>{1.0f, 3.0f, 0.25f}));
    EXPECT_EQ(q.codes[70], 0);
    EXPECT_EQ(q.codes[140], 15);
}

// Sorted distinct values of a table.
std::vector<float> SortedValues(const std::array<float, 16>& table) {
    std::vector<float> v(table.begin(), table.end());
    for (float& x : v) x = x == 0.0f ? 0.0f : x;  // -0 and +0 are one value
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

// |x - table[code]| <= half the gap from table[code] to its neighbour on x's side, i.e. the code is
// the nearest value, and so |w - w_hat| <= absmax times that.
void CheckBnb4Bound(Method method, int64_t block, bool double_quant) {
    const int64_t rows = 37;
    const int64_t cols = 320;
    const std::vector<float> w = TroubleMatrix(rows, cols, 11);
    const QuantizedTensor q = QuantizeOrDie(Options(method, 4, block, true, false), w, rows, cols);
    ASSERT_FALSE(q.codes.empty());
    const std::array<float, 16>& table = method == Method::kNf4 ? Nf4Table() : Fp4Table();
    const std::vector<float> sorted = SortedValues(table);
    const std::vector<float> back = DequantizeAll(q);
    for (int64_t i = 0; i < rows * cols; ++i) {
        const float absmax = q.scales[static_cast<size_t>(i / block)];
        const float x = w[static_cast<size_t>(i)] * (absmax > 0.0f ? 1.0f / absmax : 0.0f);
        const float value = table[q.codes[static_cast<size_t>(i)]];
        const auto at = std::lower_bound(sorted.begin(), sorted.end(), value == 0.0f ? 0.0f : value);
        float half_gap = 0.0f;
        if (x > value && at + 1 != sorted.end()) half_gap = (*(at + 1) - value) / 2.0f;
        if (x < value && at != sorted.begin()) half_gap = (value - *(at - 1)) / 2.0f;
        ASSERT_LE(std::fabs(x - value), half_gap + 2.0f * FLT_EPSILON) << MethodName(method) << " at " << i;
        ASSERT_LE(std::fabs(w[static_cast<size_t>(i)] - back[static_cast<size_t>(i)]),
                  absmax * (half_gap + 4.0f * FLT_EPSILON))
            << MethodName(method) << " at " << i;
    }
    if (!double_quant) return;

    // Double quantization: the same codes (bitsandbytes computes them from the original absmax),
    // statistics that reconstruct the absmax to within half a step of the 8-bit map.
    const QuantizedTensor dq = QuantizeOrDie(Options(method, 4, block, true, true), w, rows, cols);
    ASSERT_TRUE(dq.double_quant.has_value());
    EXPECT_EQ(dq.codes, q.codes);
    const quantformat::DoubleQuant& d = *dq.double_quant;
    EXPECT_EQ(d.nested_block, 256);
    double mean = 0.0;
    for (float a : q.scales) mean += a;
    EXPECT_FLOAT_EQ(d.offset, static_cast<float>(mean / static_cast<double>(q.scales.size())));
    const std::array<float, 256>& map = DynamicMap8();
    float max_gap = 0.0f;
    for (size_t k = 0; k + 1 < map.size(); ++k) max_gap = std::max(max_gap, map[k + 1] - map[k]);
    for (size_t b = 0; b < q.scales.size(); ++b) {
        const float nested = d.nested_absmax[b / 256];
        EXPECT_EQ(dq.scales[b], map[d.codes[b]] * nested + d.offset);
        const float slack = 4.0f * FLT_EPSILON * (nested + std::fabs(d.offset) + q.scales[b]);
        EXPECT_LE(std::fabs(dq.scales[b] - q.scales[b]), nested * max_gap / 2.0f + slack) << "block " << b;
    }
}

TEST(Bnb4Test, RoundTripWithinHalfAGap) {
    for (Method method : {Method::kNf4, Method::kFp4}) {
        for (int64_t block : {32, 64, 256, 4096}) CheckBnb4Bound(method, block, block == 64);
    }
}

TEST(Bnb4Test, DoubleQuantizationOverManyNestedBlocks) {
    // 600 blocks of 64: three nested blocks, the last short.
    const std::vector<float> w = TroubleMatrix(120, 320, 3);
    const QuantizedTensor q = QuantizeOrDie(Options(Method::kNf4, 4, 64, true, true), w, 120, 320);
    ASSERT_TRUE(q.double_quant.has_value());
    EXPECT_EQ(q.double_quant->codes.size(), 600u);
    EXPECT_EQ(q.double_quant->nested_absmax.size(), 3u);
}

// ---- int8 --------------------------------------------------------------------------------------

TEST(Int8Test, HandExample) {
    // SCB 2: w * 127 / 2 = -127, 63.5 -> 64 (tie, even), 31.75 -> 32, 0; +128.
    // Row 2 is all zeros: SCB 0, codes 128.
    const std::vector<float> w = {-2.0f, 1.0f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const QuantizedTensor q = QuantizeOrDie(DefaultOptions(Method::kInt8), w, 2, 4);
    EXPECT_EQ(q.scheme, Scheme::kInt8Absmax);
    EXPECT_EQ(q.bits, 8);
    EXPECT_EQ(q.group_size, 4);
    EXPECT_EQ(q.scales, (std::vector<float>{2.0f, 0.0f}));
    EXPECT_EQ(Codes(q), (std::vector<int>{1, 192, 160, 128, 128, 128, 128, 128}));
}

TEST(Int8Test, RoundTripWithinScbOver254) {
    const int64_t rows = 45;
    const int64_t cols = 384;
    std::vector<float> w = TroubleMatrix(rows, cols, 19);
    w[static_cast<size_t>(44 * cols)] = 1e37f;  // W * 127 would overflow a float
    w[static_cast<size_t>(44 * cols + 1)] = -3e36f;
    const QuantizedTensor q = QuantizeOrDie(DefaultOptions(Method::kInt8), w, rows, cols);
    const std::vector<float> back = DequantizeAll(q);
    // The last row is left out: its values times 127 overflow in Dequantize as well.
    for (int64_t i = 0; i < (rows - 1) * cols; ++i) {
        const float scb = q.scales[static_cast<size_t>(i / cols)];
        const float x = w[static_cast<size_t>(i)];
        ASSERT_LE(std::fabs(x - back[static_cast<size_t>(i)]), scb / 254.0f + 4.0f * FLT_EPSILON * scb) << i;
        ASSERT_GE(q.codes[static_cast<size_t>(i)], 1);
    }
    EXPECT_EQ(q.codes[static_cast<size_t>(44 * cols)], 255);
    EXPECT_EQ(q.codes[static_cast<size_t>(44 * cols + 1)], 128 - 38);  // -3e36 * 127 / 1e37 = -38.1
}

// ---- GGUF encoders: hand examples (byte identity with llama.cpp: quantizer_gguf_test.cpp) -----

TEST(GgufEncoderTest, Q8_0HandExampleRoundsHalfAwayFromZero) {
    std::vector<float> w(32, 0.0f);
    w[0] = 127.0f;  // amax 127: d = 1, id = 1
    w[1] = 2.5f;    // roundf -> 3 (half away from zero; rtn would give 2)
    w[2] = -2.5f;   // -3
    w[3] = -127.0f;
    w[4] = 0.49f;
    const QuantizedTensor q = QuantizeOrDie(DefaultOptions(Method::kGgufQ8_0), w, 1, 32);
    EXPECT_EQ(q.scheme, Scheme::kAffine);
    EXPECT_EQ(q.bits, 8);
    EXPECT_EQ(q.group_size, 32);
    EXPECT_EQ(q.scales, std::vector<float>{1.0f});
    EXPECT_EQ(q.zeros, std::vector<float>{128.0f});
    EXPECT_EQ((std::vector<int>(q.codes.begin(), q.codes.begin() + 6)), (std::vector<int>{255, 131, 125, 1, 128, 128}));
}

TEST(GgufEncoderTest, Q4_0HandExample) {
    // max = -8 (the signed value of largest magnitude): d = 1, id = 1; q = (int8)(x + 8.5).
    std::vector<float> w(32, 0.0f);
    w[0] = -8.0f;  // 0.5 -> 0
    w[1] = 7.9f;   // 16.4 -> 16 -> 15
    w[2] = 2.4f;   // 10.9 -> 10
    w[3] = -3.6f;  // 4.9 -> 4
    w[4] = 0.5f;   // 9.0 -> 9
    const QuantizedTensor q = QuantizeOrDie(DefaultOptions(Method::kGgufQ4_0), w, 1, 32);
    EXPECT_EQ(q.scales, std::vector<float>{1.0f});
    EXPECT_EQ(q.zeros, std::vector<float>{8.0f});
    EXPECT_EQ((std::vector<int>(q.codes.begin(), q.codes.begin() + 6)), (std::vector<int>{0, 15, 10, 4, 9, 8}));
    // Equal magnitudes: the first one decides the sign of d (8 first: d = -1).
    std::vector<float> tie(32, 0.0f);
    tie[0] = 8.0f;
    tie[1] = -8.0f;
    const QuantizedTensor t = QuantizeOrDie(DefaultOptions(Method::kGgufQ4_0), tie, 1, 32);
    EXPECT_EQ(t.scales, std::vector<float>{-1.0f});
    EXPECT_EQ(t.codes[0], 0);
    EXPECT_EQ(t.codes[1], 15);
}

TEST(GgufEncoderTest, Q4_1HandExample) {
    // min -1, max 2: d = 3 / 15 = 0.2f, stored f16(0.2f); m = f16(-1) = -1.
    std::vector<float> w(32, 0.5f);
    w[0] = -1.0f;
    w[1] = 2.0f;
    w[2] = -0.9f;  // (0.1) * 5 + 0.5 -> 1
    const QuantizedTensor q = QuantizeOrDie(DefaultOptions(Method::kGgufQ4_1), w, 1, 32);
    EXPECT_EQ(q.scheme, Scheme::kAffineMin);
    EXPECT_FALSE(q.symmetric);
    const float d = 3.0f / 15.0f;
    EXPECT_EQ(q.scales, std::vector<float>{RoundToF16(d)});
    EXPECT_EQ(q.zeros, std::vector<float>{-1.0f});
    const int mid = static_cast<int>((0.5f - -1.0f) * (1.0f / d) + 0.5f);
    EXPECT_EQ((std::vector<int>(q.codes.begin(), q.codes.begin() + 4)), (std::vector<int>{0, 15, 1, mid}));
    EXPECT_EQ(mid, 8);
}

TEST(GgufEncoderTest, ConstantBlocksHaveZeroScale) {
    const std::vector<float> zeros(64, 0.0f);
    for (Method m : {Method::kGgufQ8_0, Method::kGgufQ4_0, Method::kGgufQ4_1}) {
        const QuantizedTensor q = QuantizeOrDie(DefaultOptions(m), zeros, 1, 64);
        for (float s : q.scales) EXPECT_EQ(s, 0.0f);
        for (float v : DequantizeAll(q)) EXPECT_EQ(v, 0.0f);
    }
}

// ---- Threads -----------------------------------------------------------------------------------

TEST(QuantizerThreadsTest, SameResultForOneTwoAndThreeThreads) {
    const int64_t rows = 257;  // odd, so the threads' shares differ
    const int64_t cols = 512;
    const std::vector<float> w = TroubleMatrix(rows, cols, 23);
    const std::vector<QuantOptions> all = {
        Options(Method::kRtn, 4, 128),     Options(Method::kRtn, 3, 32, false),
        Options(Method::kRtn, 8, -1),      Options(Method::kNf4, 4, 64, true, true),
        Options(Method::kFp4, 4, 256),     DefaultOptions(Method::kInt8),
        DefaultOptions(Method::kGgufQ8_0), DefaultOptions(Method::kGgufQ4_0),
        DefaultOptions(Method::kGgufQ4_1),
    };
    for (const QuantOptions& options : all) {
        const QuantizedTensor one = QuantizeOrDie(options, w, rows, cols, 1);
        for (size_t threads : {2, 3}) {
            const QuantizedTensor many = QuantizeOrDie(options, w, rows, cols, threads);
            EXPECT_EQ(one.codes, many.codes) << MethodName(options.method);
            EXPECT_EQ(one.scales, many.scales) << MethodName(options.method);
            EXPECT_EQ(one.zeros, many.zeros) << MethodName(options.method);
            ASSERT_EQ(one.double_quant.has_value(), many.double_quant.has_value());
            if (one.double_quant) {
                EXPECT_EQ(one.double_quant->codes, many.double_quant->codes);
                EXPECT_EQ(one.double_quant->nested_absmax, many.double_quant->nested_absmax);
                EXPECT_EQ(one.double_quant->offset, many.double_quant->offset);
            }
        }
    }
}

// ---- Every code against the literal scalar formulas -------------------------------------------
//
// The quantizers use vector-friendly forms (integer min/max, rounding by a constant, binary
// searches with selects, clones per ISA); these are the formulas as written in the references,
// one value at a time, and the results must agree exactly.

float F16Value(float x) {
    return F16ToF32Ref(F32ToF16Ref(x));
}

TEST(QuantizerTest, RtnCodesEqualTheScalarFormulas) {
    const int64_t rows = 23;
    const int64_t cols = 256;
    const std::vector<float> w = TroubleMatrix(rows, cols, 31);
    for (int bits : {2, 3, 4, 8}) {
        for (int64_t group : {32, 128, -1}) {
            for (bool sym : {true, false}) {
                const QuantizedTensor q = QuantizeOrDie(Options(Method::kRtn, bits, group, sym), w, rows, cols, 2);
                const int64_t g = group == -1 ? cols : group;
                const float maxq = static_cast<float>((1 << bits) - 1);
                for (int64_t start = 0; start < rows * cols; start += g) {
                    float xmin = 0.0f;
                    float xmax = 0.0f;
                    for (int64_t i = start; i < start + g; ++i) {
                        xmin = std::min(xmin, w[static_cast<size_t>(i)]);
                        xmax = std::max(xmax, w[static_cast<size_t>(i)]);
                    }
                    if (sym) {
                        xmax = std::max(std::fabs(xmin), xmax);
                        if (xmin < 0.0f) xmin = -xmax;
                    }
                    if (xmin == 0.0f && xmax == 0.0f) {
                        xmin = -1.0f;
                        xmax = 1.0f;
                    }
                    const float scale = F16Value((xmax - xmin) / maxq);
                    ASSERT_GT(scale, 0.0f);
                    const float zero =
                        sym ? (maxq + 1.0f) / 2.0f : std::clamp(std::nearbyint(-xmin / scale), 1.0f, maxq);
                    const size_t at = static_cast<size_t>(start / g);
                    ASSERT_EQ(q.scales[at], scale) << bits << " " << group << " " << sym << " group " << at;
                    ASSERT_EQ(q.zeros[at], zero) << bits << " " << group << " " << sym << " group " << at;
                    for (int64_t i = start; i < start + g; ++i) {
                        const float code =
                            std::clamp(std::nearbyint(w[static_cast<size_t>(i)] / scale) + zero, 0.0f, maxq);
                        ASSERT_EQ(q.codes[static_cast<size_t>(i)], static_cast<int>(code))
                            << bits << " " << group << " " << sym << " at " << i;
                    }
                }
            }
        }
    }
}

TEST(QuantizerTest, Int8AndBnb4CodesEqualTheScalarFormulas) {
    const int64_t rows = 23;
    const int64_t cols = 256;
    const std::vector<float> w = TroubleMatrix(rows, cols, 37);

    const QuantizedTensor int8 = QuantizeOrDie(DefaultOptions(Method::kInt8), w, rows, cols, 2);
    for (int64_t r = 0; r < rows; ++r) {
        float scb = 0.0f;
        for (int64_t c = 0; c < cols; ++c) scb = std::max(scb, std::fabs(w[static_cast<size_t>(r * cols + c)]));
        ASSERT_EQ(int8.scales[static_cast<size_t>(r)], scb);
        for (int64_t c = 0; c < cols; ++c) {
            const size_t at = static_cast<size_t>(r * cols + c);
            const float code = scb == 0.0f ? 128.0f : std::nearbyint(w[at] * 127.0f / scb) + 128.0f;
            ASSERT_EQ(int8.codes[at], static_cast<int>(code)) << at;
        }
    }

    // bitsandbytes: x = w * (1 / absmax); code = the number of midpoints between sorted table values
    // below x (nf4), or below |x| among the FP4 magnitudes, mapped to its code, plus the sign bit.
    float nf4_mid[15];
    for (size_t i = 0; i < 15; ++i) nf4_mid[i] = (Nf4Table()[i] + Nf4Table()[i + 1]) / 2.0f;
    const int kFp4CodeOfRank[8] = {0, 1, 6, 7, 4, 5, 2, 3};
    float fp4_mid[7];
    for (size_t i = 0; i < 7; ++i) {
        fp4_mid[i] = (Fp4Table()[static_cast<size_t>(kFp4CodeOfRank[i])] +
                      Fp4Table()[static_cast<size_t>(kFp4CodeOfRank[i + 1])]) /
                     2.0f;
    }
    for (int64_t block : {32, 64, 512}) {
        const QuantizedTensor nf4 = QuantizeOrDie(Options(Method::kNf4, 4, block), w, rows, cols, 2);
        const QuantizedTensor fp4 = QuantizeOrDie(Options(Method::kFp4, 4, block), w, rows, cols, 2);
        for (int64_t start = 0; start < rows * cols; start += block) {
            const int64_t end = std::min(start + block, rows * cols);
            float absmax = 0.0f;
            for (int64_t i = start; i < end; ++i) absmax = std::max(absmax, std::fabs(w[static_cast<size_t>(i)]));
            ASSERT_EQ(nf4.scales[static_cast<size_t>(start / block)], absmax);
            ASSERT_EQ(fp4.scales[static_cast<size_t>(start / block)], absmax);
            const float inv = absmax > 0.0f ? 1.0f / absmax : 0.0f;
            for (int64_t i = start; i < end; ++i) {
                const float x = w[static_cast<size_t>(i)] * inv;
                int nf4_code = 0;
                for (float m : nf4_mid) nf4_code += x > m ? 1 : 0;
                int rank = 0;
                for (float m : fp4_mid) rank += std::fabs(x) > m ? 1 : 0;
                const int fp4_code = kFp4CodeOfRank[rank] | (x < 0.0f ? 8 : 0);
                ASSERT_EQ(nf4.codes[static_cast<size_t>(i)], nf4_code) << "block " << block << " at " << i;
                ASSERT_EQ(fp4.codes[static_cast<size_t>(i)], fp4_code) << "block " << block << " at " << i;
            }
        }
    }
}

TEST(QuantizerTest, ReportsItsMethod) {
    for (Method m : {Method::kRtn, Method::kNf4, Method::kFp4, Method::kInt8, Method::kGgufQ8_0, Method::kGgufQ4_0,
                     Method::kGgufQ4_1}) {
        Result<std::unique_ptr<Quantizer>> q = MakeQuantizer(DefaultOptions(m));
        ASSERT_TRUE(q.ok());
        EXPECT_EQ((*q)->method(), m);
    }
}

}  // namespace
}  // namespace tenpak::quant
