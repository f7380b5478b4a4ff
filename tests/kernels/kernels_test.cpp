// Tests of the kernels module: every inner kernel of every table this CPU can run against the
// scalar reference, and the four matrix products against a plain double-precision triple loop.
//
// The inner kernels get random data at every length 0..70 (every tail of the 8- and 16-lane loops
// and of their 32- and 64-element unrolled bodies) and at 4096 and 11008 + 3 (Llama's widths), with
// weights and x at odd addresses; then zeros, large magnitudes, overflow, and NaN and Inf in w, x
// or a at every position. axpy must match the reference bit for bit (both use one fma per element);
// the dots add in a different order, so they must agree within kSlack (below).
//
// The matrix products run with the selected table (TENPAK_KERNELS=ref|avx2|avx512 picks another)
// on F32, F16 and BF16 weights, with pools of 1 and 3 threads, on shapes from 1 x 1 through odd
// sizes to one that spans several widening tiles and ends in a partial one; y is filled with NaN
// beforehand (every entry must be written, none read) and followed by guard values (none written).
#include "tenpak/kernels/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/matrix_internal.h"
#include "tenpak/core/half.h"

namespace tenpak {

// Lets GoogleTest print "avx2" for a failing parameter. Static: no clash with other test files.
[[maybe_unused]] static void PrintTo(Isa isa, std::ostream* os) {
    *os << IsaName(isa);
}

namespace kernels {
namespace {

// Tolerance of a float sum of n products against another summation order (or the exact sum),
// in units of u = 2^-24 (half an F32 ulp), as a multiple of sqrt(n) * S with S = sum_j |w_j x_j|.
//
// Why: every fma rounds once, by at most u times the partial sum it produces, so any order is
// within n * u * S of the exact sum (Higham, "Accuracy and Stability of Numerical Algorithms",
// 2nd ed., section 4.2). That worst case needs every rounding to go the same way; the roundings of
// real and random data are independent, and their sum grows like sqrt(n) * u * S (when all terms
// have the same sign and the partial sums grow linearly; less with mixed signs). A bound of
// 4 sqrt(n) u S holds with a margin on every case here: the largest error seen is 0.27 of it (at
// n = 2, where each order is off by at most u S per rounding, so the bound is rigorous up to n = 4)
// and 0.12 of it at n = 4096 and 11011 (DotErrorIsFarBelowTheBound), for the dots and for sgemm.
// n u S would be too loose to notice a lost or doubled term at n = 11011: such a term is about
// S / n = 9.1e-5 S there, and 4 sqrt(n) u S is 2.5e-5 S.
constexpr double kSlack = 4.0;
constexpr double kU = 0x1p-24;

double Tolerance(size_t n, double scale) {
    return kSlack * std::sqrt(static_cast<double>(n)) * kU * scale;
}

constexpr uint32_t kSeed = 20250101;  // any fixed value: mt19937's output is specified

// Lengths for the inner kernels: every tail, plus the model widths.
std::vector<size_t> InnerLengths() {
    std::vector<size_t> out;
    for (size_t n = 0; n <= 70; ++n) out.push_back(n);
    out.push_back(4096);
    out.push_back(11008 + 3);
    return out;
}

// Byte offsets of weights and x from an aligned start: aligned, odd, and 2 mod 4.
struct Placement {
    size_t w_offset;
    size_t x_offset;
};
constexpr Placement kPlacements[] = {{0, 0}, {1, 4}, {2, 1}, {3, 2}};

constexpr size_t kGuardBytes = 64;
constexpr unsigned char kGuardByte = 0xA5;

// Bytes holding n elements of T at a chosen offset from a 64-byte aligned start, so that the
// kernels see any alignment, followed by guard bytes. Elements go in and out through memcpy: the
// pointer handed to the kernel may be misaligned for T, where a plain dereference is undefined.
template <typename T>
class Placed {
public:
    Placed(const std::vector<T>& values, size_t offset)
        : bytes_(64 + offset + values.size() * sizeof(T) + kGuardBytes, kGuardByte), n_(values.size()) {
        start_ = (64 - reinterpret_cast<uintptr_t>(bytes_.data()) % 64) % 64 + offset;
        if (!values.empty()) std::memcpy(bytes_.data() + start_, values.data(), n_ * sizeof(T));
    }
    // A copy would land at another alignment than start_ was computed for.
    Placed(const Placed&) = delete;
    Placed& operator=(const Placed&) = delete;

    T* data() { return reinterpret_cast<T*>(bytes_.data() + start_); }
    const T* data() const { return reinterpret_cast<const T*>(bytes_.data() + start_); }
    T Get(size_t i) const {
        T v;
        std::memcpy(&v, bytes_.data() + start_ + i * sizeof(T), sizeof(T));
        return v;
    }
    bool GuardIntact() const {
        return std::all_of(bytes_.begin() + static_cast<std::ptrdiff_t>(start_ + n_ * sizeof(T)), bytes_.end(),
                           [](unsigned char b) { return b == kGuardByte; });
    }

private:
    std::vector<unsigned char> bytes_;
    size_t n_;
    size_t start_ = 0;
};

constexpr DType kWeightTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

// Stored weights of one dtype and the exact F32 value each stands for (widening is exact).
struct Weights {
    DType dtype = DType::kF32;
    std::vector<float> f32;      // the stored values when dtype is F32
    std::vector<uint16_t> bits;  // the stored values when dtype is F16 or BF16
    std::vector<float> values;   // widened
};

Weights MakeWeights(DType dtype, const std::vector<float>& wanted) {
    Weights w;
    w.dtype = dtype;
    for (float f : wanted) {
        if (dtype == DType::kF32) {
            w.f32.push_back(f);
            w.values.push_back(f);
        } else if (dtype == DType::kF16) {
            w.bits.push_back(F32ToF16Ref(f));
            w.values.push_back(F16ToF32Ref(w.bits.back()));
        } else {
            w.bits.push_back(F32ToBF16Ref(f));
            w.values.push_back(BF16ToF32Ref(w.bits.back()));
        }
    }
    return w;
}

// The stored weights placed at a byte offset; `Placed` of the right element type.
struct PlacedWeights {
    PlacedWeights(const Weights& w, size_t offset) : dtype(w.dtype), f32(w.f32, offset), bits(w.bits, offset) {}
    const void* data() const {
        return dtype == DType::kF32 ? static_cast<const void*>(f32.data()) : static_cast<const void*>(bits.data());
    }
    DType dtype;
    Placed<float> f32;
    Placed<uint16_t> bits;
};

float CallDot(const KernelTable& k, const PlacedWeights& w, const float* x, size_t n) {
    switch (w.dtype) {
        case DType::kF32:
            return k.dot_f32(w.f32.data(), x, n);
        case DType::kF16:
            return k.dot_f16(w.bits.data(), x, n);
        default:
            return k.dot_bf16(w.bits.data(), x, n);
    }
}

void CallAxpy(const KernelTable& k, float a, const PlacedWeights& w, float* y, size_t n) {
    switch (w.dtype) {
        case DType::kF32:
            return k.axpy_f32(a, w.f32.data(), y, n);
        case DType::kF16:
            return k.axpy_f16(a, w.bits.data(), y, n);
        default:
            return k.axpy_bf16(a, w.bits.data(), y, n);
    }
}

std::string Name(DType dtype) {
    return dtype == DType::kF32 ? "f32" : dtype == DType::kF16 ? "f16" : "bf16";
}

std::vector<float> Uniform(std::mt19937& rng, size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> out(n);
    for (float& v : out) v = dist(rng);
    return out;
}

// sum_j |w_j x_j| in double: the scale of the rounding error of any summation order.
double Scale(const std::vector<float>& w, const std::vector<float>& x) {
    double s = 0;
    for (size_t j = 0; j < w.size(); ++j) s += std::abs(static_cast<double>(w[j]) * x[j]);
    return s;
}

double ExactDot(const std::vector<float>& w, const std::vector<float>& x) {
    double s = 0;
    for (size_t j = 0; j < w.size(); ++j) s += static_cast<double>(w[j]) * x[j];
    return s;
}

// NaN where `want` is NaN, the same infinity where it is infinite, else within the tolerance.
::testing::AssertionResult Agrees(double got, double want, size_t n, double scale) {
    if (std::isnan(want)) {
        if (std::isnan(got)) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "got " << got << ", want NaN";
    }
    if (std::isinf(want) || std::isinf(got)) {
        if (got == want) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "got " << got << ", want " << want;
    }
    const double tolerance = Tolerance(n, scale);
    if (std::abs(got - want) <= tolerance) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (error " << std::abs(got - want)
                                         << " > tolerance " << tolerance << ", n=" << n << ")";
}

bool SameFloat(float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

class InnerKernelTest : public ::testing::TestWithParam<Isa> {
protected:
    const KernelTable& k() const { return KernelsFor(GetParam()); }
    const KernelTable& ref() const { return KernelsFor(Isa::kRef); }

    // Runs dot of the table under test and of the reference on (wanted, x) for every placement and
    // checks they agree; returns the largest error seen as a fraction of the tolerance.
    double CheckDot(DType dtype, const std::vector<float>& wanted, const std::vector<float>& x) {
        const Weights w = MakeWeights(dtype, wanted);
        const double scale = Scale(w.values, x);
        const size_t n = x.size();
        double worst = 0;
        for (const Placement& at : kPlacements) {
            const PlacedWeights placed_w(w, at.w_offset);
            const Placed<float> placed_x(x, at.x_offset);
            const float got = CallDot(k(), placed_w, placed_x.data(), n);
            const float want = CallDot(ref(), placed_w, placed_x.data(), n);
            EXPECT_TRUE(Agrees(got, want, n, scale))
                << Name(dtype) << " n=" << n << " w_offset=" << at.w_offset << " x_offset=" << at.x_offset;
            if (std::isfinite(want) && scale > 0) worst = std::max(worst, std::abs(got - want) / Tolerance(n, scale));
        }
        return worst;
    }

    // Runs axpy of the table under test and of the reference on the same inputs for every
    // placement and checks the outputs are identical and nothing past y[n - 1] was written.
    void CheckAxpy(DType dtype, float a, const std::vector<float>& wanted, const std::vector<float>& y0) {
        const Weights w = MakeWeights(dtype, wanted);
        const size_t n = y0.size();
        for (const Placement& at : kPlacements) {
            const PlacedWeights placed_w(w, at.w_offset);
            Placed<float> got(y0, at.x_offset);
            Placed<float> want(y0, at.x_offset);
            CallAxpy(k(), a, placed_w, got.data(), n);
            CallAxpy(ref(), a, placed_w, want.data(), n);
            size_t mismatches = 0;
            for (size_t j = 0; j < n && mismatches < 5; ++j) {
                if (SameFloat(got.Get(j), want.Get(j))) continue;
                ++mismatches;
                ADD_FAILURE() << Name(dtype) << " n=" << n << " offsets " << at.w_offset << "/" << at.x_offset << ": y["
                              << j << "] = " << got.Get(j) << ", reference " << want.Get(j);
            }
            EXPECT_TRUE(got.GuardIntact()) << Name(dtype) << " n=" << n << ": wrote past y[n - 1]";
        }
    }
};

TEST_P(InnerKernelTest, TableIsTheRequestedOne) {
    EXPECT_EQ(k().isa, GetParam());
    EXPECT_EQ(SelectedKernels().isa, SelectedIsa());
}

TEST_P(InnerKernelTest, DotMatchesReferenceOnRandomData) {
    std::mt19937 rng(kSeed);
    for (DType dtype : kWeightTypes) {
        for (size_t n : InnerLengths()) {
            const std::vector<float> w = Uniform(rng, n, -1.0f, 1.0f);
            const std::vector<float> x = Uniform(rng, n, -2.0f, 2.0f);
            CheckDot(dtype, w, x);
            // All terms positive: the partial sums only grow, the hardest case for rounding.
            const std::vector<float> w_pos = Uniform(rng, n, 0.0f, 1.0f);
            const std::vector<float> x_pos = Uniform(rng, n, 0.0f, 1.0f);
            CheckDot(dtype, w_pos, x_pos);
        }
    }
}

// Every table, the reference included, against the exact sum: the reference itself is checked.
TEST_P(InnerKernelTest, DotMatchesExactSum) {
    std::mt19937 rng(kSeed + 1);
    for (DType dtype : kWeightTypes) {
        for (size_t n : InnerLengths()) {
            const Weights w = MakeWeights(dtype, Uniform(rng, n, -1.0f, 1.0f));
            const std::vector<float> x = Uniform(rng, n, -1.0f, 1.0f);
            const PlacedWeights placed(w, 0);
            EXPECT_TRUE(Agrees(CallDot(k(), placed, x.data(), n), ExactDot(w.values, x), n, Scale(w.values, x)))
                << Name(dtype) << " n=" << n;
        }
    }
}

// The tolerance must be tight enough to see a lost term (see kSlack): the worst error on random
// data stays well below it.
TEST_P(InnerKernelTest, DotErrorIsFarBelowTheBound) {
    std::mt19937 rng(kSeed + 2);
    double worst = 0;
    for (DType dtype : kWeightTypes) {
        for (size_t n : {size_t{4096}, size_t{11011}}) {
            worst = std::max(worst, CheckDot(dtype, Uniform(rng, n, 0.0f, 1.0f), Uniform(rng, n, 0.0f, 1.0f)));
            worst = std::max(worst, CheckDot(dtype, Uniform(rng, n, -1.0f, 1.0f), Uniform(rng, n, -1.0f, 1.0f)));
        }
    }
    EXPECT_LT(worst, 0.3);
    RecordProperty("worst_error_over_tolerance", std::to_string(worst));
}

// The largest finite magnitude of each weight type, a little below it so that sums of 70 products
// stay finite in any order once x is scaled to match.
float LargeWeight(DType dtype) {
    return dtype == DType::kF16 ? 6.0e4f : 1.0e18f;
}

TEST_P(InnerKernelTest, DotEdgeValues) {
    std::mt19937 rng(kSeed + 3);
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (DType dtype : kWeightTypes) {
        for (size_t n = 1; n <= 70; ++n) {
            SCOPED_TRACE(Name(dtype) + " n=" + std::to_string(n));
            const std::vector<float> zeros(n, 0.0f);
            const Weights zero_w = MakeWeights(dtype, zeros);
            EXPECT_EQ(CallDot(k(), PlacedWeights(zero_w, 1), zeros.data(), n), 0.0f);

            // Products near 1e36 (1e35 for F16), with random signs: no partial sum overflows.
            const float big = LargeWeight(dtype);
            const float big_x = 1.0e36f / big;
            std::vector<float> w_big = Uniform(rng, n, -big, big);
            std::vector<float> x_big = Uniform(rng, n, -big_x, big_x);
            CheckDot(dtype, w_big, x_big);

            // Same-sign products of 1e38: the sum overflows to +Inf in every order once n >= 4.
            if (n >= 4) {
                const float huge_x = 1.0e38f / big;
                const Weights w_huge = MakeWeights(dtype, std::vector<float>(n, big));
                const std::vector<float> x_huge(n, huge_x);
                EXPECT_EQ(CallDot(k(), PlacedWeights(w_huge, 0), x_huge.data(), n), inf);
                EXPECT_EQ(CallDot(ref(), PlacedWeights(w_huge, 0), x_huge.data(), n), inf);
            }

            // One special value at every position, in w and in x.
            const std::vector<float> w = Uniform(rng, n, -1.0f, 1.0f);
            const std::vector<float> x = Uniform(rng, n, 0.5f, 1.0f);  // nonzero, so Inf * x stays Inf
            for (size_t p = 0; p < n; ++p) {
                for (float special : {nan, inf, -inf}) {
                    std::vector<float> w_special = w;
                    w_special[p] = special;
                    CheckDot(dtype, w_special, x);
                    std::vector<float> x_special = x;
                    x_special[p] = special;
                    CheckDot(dtype, w, x_special);
                }
                // Inf * 0 = NaN; +Inf and -Inf in the same sum = NaN.
                std::vector<float> w_inf = w;
                std::vector<float> x_zero = x;
                w_inf[p] = inf;
                x_zero[p] = 0.0f;
                CheckDot(dtype, w_inf, x_zero);
                w_inf[n - 1 - p] = -inf;
                CheckDot(dtype, w_inf, x);
            }
        }
    }
}

TEST_P(InnerKernelTest, DotSpecialValuesInLongVectors) {
    std::mt19937 rng(kSeed + 4);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (DType dtype : kWeightTypes) {
        const size_t n = 11011;
        const std::vector<float> w = Uniform(rng, n, -1.0f, 1.0f);
        const std::vector<float> x = Uniform(rng, n, 0.5f, 1.0f);
        for (size_t p : {size_t{0}, size_t{31}, size_t{64}, size_t{4097}, size_t{11007}, size_t{11010}}) {
            for (float special : {nan, inf, -inf}) {
                std::vector<float> w_special = w;
                w_special[p] = special;
                CheckDot(dtype, w_special, x);
            }
        }
    }
}

TEST_P(InnerKernelTest, AxpyMatchesReferenceBitForBit) {
    std::mt19937 rng(kSeed + 5);
    std::uniform_real_distribution<float> coefficient(-2.0f, 2.0f);
    for (DType dtype : kWeightTypes) {
        for (size_t n : InnerLengths()) {
            CheckAxpy(dtype, coefficient(rng), Uniform(rng, n, -1.0f, 1.0f), Uniform(rng, n, -1.0f, 1.0f));
        }
    }
}

TEST_P(InnerKernelTest, AxpyEdgeValues) {
    std::mt19937 rng(kSeed + 6);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (DType dtype : kWeightTypes) {
        const float big = LargeWeight(dtype);
        for (size_t n : {size_t{1}, size_t{7}, size_t{17}, size_t{33}, size_t{70}}) {
            SCOPED_TRACE(Name(dtype) + " n=" + std::to_string(n));
            std::vector<float> w = Uniform(rng, n, -1.0f, 1.0f);
            std::vector<float> y = Uniform(rng, n, -1.0f, 1.0f);
            // Specials in w and y at scattered positions, zeros next to an Inf coefficient.
            for (size_t p = 0; p < n; p += 3) w[p] = (p % 2 == 0) ? inf : -inf;
            for (size_t p = 1; p < n; p += 5) w[p] = nan;
            for (size_t p = 2; p < n; p += 4) y[p] = (p % 3 == 0) ? nan : -inf;
            for (size_t p = 3; p < n; p += 6) w[p] = 0.0f;
            for (float a : {0.0f, -0.0f, 1.5f, nan, inf, -inf, big}) CheckAxpy(dtype, a, w, y);
            // Large products that overflow to Inf in some lanes and not others.
            const std::vector<float> w_big = Uniform(rng, n, -big, big);
            const std::vector<float> y_big = Uniform(rng, n, -3.0e38f, 3.0e38f);
            CheckAxpy(dtype, 3.0e38f / big, w_big, y_big);
            CheckAxpy(dtype, 0.0f, std::vector<float>(n, 0.0f), std::vector<float>(n, -0.0f));
        }
    }
}

// Every input in an allocation of exactly n elements: under AddressSanitizer (TENPAK_SANITIZE) a
// read or write past the end is reported (the placements above leave guard bytes in the same
// allocation, which catch stray writes but not reads).
TEST_P(InnerKernelTest, TouchesNothingPastTheEnd) {
    std::mt19937 rng(kSeed + 7);
    for (size_t n = 0; n <= 70; ++n) {
        const std::vector<float> w32 = Uniform(rng, n, -1.0f, 1.0f);
        const std::vector<float> x = Uniform(rng, n, -1.0f, 1.0f);
        const std::vector<uint16_t> w16 = MakeWeights(DType::kF16, w32).bits;
        std::vector<float> y = x;
        float sink = k().dot_f32(w32.data(), x.data(), n) + k().dot_f16(w16.data(), x.data(), n) +
                     k().dot_bf16(w16.data(), x.data(), n);
        k().axpy_f32(0.5f, w32.data(), y.data(), n);
        k().axpy_f16(0.5f, w16.data(), y.data(), n);
        k().axpy_bf16(0.5f, w16.data(), y.data(), n);
        for (float v : y) sink += v;
        EXPECT_FALSE(std::isnan(sink)) << "n=" << n;
    }
}

TEST_P(InnerKernelTest, SoftmaxMatchesReference) {
    // The vector exp is a degree-6 polynomial after range reduction: within a few ulp of std::exp
    // (2e-6 relative leaves room). The normalising sums add n terms in different orders; as for the
    // dot, the rounding difference is bounded by about 4 sqrt(n) u relative (u = 2^-24).
    std::mt19937 rng(11);
    for (size_t n : {1, 2, 7, 8, 15, 16, 17, 33, 100, 1000, 4099}) {
        for (float spread : {0.1f, 5.0f, 60.0f}) {
            std::uniform_real_distribution<float> dist(-spread, spread);
            std::vector<float> a(n + 1), b(n + 1);
            for (size_t i = 0; i < n; ++i) a[i] = b[i] = dist(rng);
            a[n] = b[n] = 12345.0f;  // guard
            k().softmax_f32(a.data(), n);
            ref().softmax_f32(b.data(), n);
            double sum = 0;
            for (size_t i = 0; i < n; ++i) {
                sum += a[i];
                const double tolerance = (2e-6 + 4 * std::sqrt(static_cast<double>(n)) * 0x1p-24) * b[i] + 1e-30;
                ASSERT_NEAR(a[i], b[i], tolerance) << "n=" << n << " spread=" << spread << " i=" << i;
            }
            EXPECT_NEAR(sum, 1.0, 1e-5);
            EXPECT_EQ(a[n], 12345.0f) << "wrote past the end";
        }
    }
    // Very negative inputs underflow towards 0 and never turn into NaN.
    std::vector<float> x = {0.0f, -200.0f, -1e30f, -INFINITY};
    k().softmax_f32(x.data(), x.size());
    EXPECT_NEAR(x[0], 1.0f, 1e-6);
    for (size_t i = 1; i < x.size(); ++i) {
        EXPECT_GE(x[i], 0.0f);
        EXPECT_LT(x[i], 1e-30f);
    }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, InnerKernelTest, ::testing::ValuesIn(SupportedIsas()),
                         [](const ::testing::TestParamInfo<Isa>& isa_info) {
                             return std::string(IsaName(isa_info.param));
                         });

// ---- Matrix products ------------------------------------------------------------------------

// The products the kernels should give, in double, with the scale of each output's rounding error.
struct Expected {
    std::vector<double> value;
    std::vector<double> scale;
    size_t length = 0;  // terms per output
};

// Y[t, r] = sum_c W[r, c] X[t, c].
Expected ExpectMatMul(const std::vector<float>& w, size_t rows, size_t cols, const std::vector<float>& x,
                      size_t tokens) {
    Expected e{std::vector<double>(tokens * rows), std::vector<double>(tokens * rows), cols};
    for (size_t t = 0; t < tokens; ++t) {
        for (size_t r = 0; r < rows; ++r) {
            double sum = 0;
            double scale = 0;
            for (size_t c = 0; c < cols; ++c) {
                const double term = static_cast<double>(w[r * cols + c]) * x[t * cols + c];
                sum += term;
                scale += std::abs(term);
            }
            e.value[t * rows + r] = sum;
            e.scale[t * rows + r] = scale;
        }
    }
    return e;
}

// Y[t, c] = sum_r X[t, r] W[r, c].
Expected ExpectMatMulTransposed(const std::vector<float>& w, size_t rows, size_t cols, const std::vector<float>& x,
                                size_t tokens) {
    Expected e{std::vector<double>(tokens * cols), std::vector<double>(tokens * cols), rows};
    for (size_t t = 0; t < tokens; ++t) {
        for (size_t r = 0; r < rows; ++r) {
            const double xv = x[t * rows + r];
            for (size_t c = 0; c < cols; ++c) {
                const double term = xv * w[r * cols + c];
                e.value[t * cols + c] += term;
                e.scale[t * cols + c] += std::abs(term);
            }
        }
    }
    return e;
}

// Runs `product` into a NaN-filled y followed by guards and compares every output.
template <typename Product>
void CheckProduct(const Expected& e, const std::string& what, Product product) {
    const size_t n = e.value.size();
    constexpr size_t kGuards = 16;
    constexpr float kGuard = -12345.0f;
    std::vector<float> y(n + kGuards, std::numeric_limits<float>::quiet_NaN());
    std::fill(y.begin() + static_cast<std::ptrdiff_t>(n), y.end(), kGuard);
    product(y.data());
    size_t failures = 0;
    for (size_t i = 0; i < n && failures < 5; ++i) {
        const ::testing::AssertionResult ok = Agrees(y[i], e.value[i], e.length, e.scale[i]);
        if (ok) continue;
        ++failures;
        ADD_FAILURE() << what << ": output " << i << ": " << ok.message();
    }
    for (size_t i = n; i < y.size(); ++i) ASSERT_EQ(y[i], kGuard) << what << ": wrote past the output";
}

struct Shape {
    size_t rows;
    size_t cols;
};

std::string Describe(const char* fn, DType dtype, Shape s, size_t tokens, size_t threads) {
    return std::string(fn) + " " + Name(dtype) + " " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
           " tokens=" + std::to_string(tokens) + " threads=" + std::to_string(threads);
}

class MatrixTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { SetBlasThreads(2); }

    // Shapes: tiny, odd, thread-split, and (last) one whose MatMul spans several widening tiles
    // and ends in a partial one (TileLength depends on the row width).
    static std::vector<Shape> Shapes() {
        constexpr size_t kWide = 8195;
        return {{1, 1},    {1, 7},      {7, 1},
                {3, 5},    {17, 33},    {64, 64},
                {70, 131}, {1000, 300}, {TileLength(kWide) + 11, kWide}};
    }
    // MatMulTransposed tiles columns, each `rows` long: the mirror of the last shape.
    static std::vector<Shape> TransposedShapes() {
        std::vector<Shape> out = Shapes();
        out.back() = {out.back().cols, TileLength(out.back().cols) + 11};
        return out;
    }

    ThreadPool pool1_{1};
    ThreadPool pool3_{3};
};

TEST_F(MatrixTest, ShapesCoverPartialTiles) {
    const Shape s = Shapes().back();
    EXPECT_GT(s.rows, TileLength(s.cols));
    EXPECT_NE(s.rows % TileLength(s.cols), 0u);
    const Shape t = TransposedShapes().back();
    EXPECT_GT(t.cols, TileLength(t.rows));
    EXPECT_NE(t.cols % TileLength(t.rows), 0u);
}

TEST_F(MatrixTest, MatVecMatchesDoubleLoop) {
    std::mt19937 rng(kSeed + 10);
    for (DType dtype : kWeightTypes) {
        for (const Shape& s : Shapes()) {
            const Weights w = MakeWeights(dtype, Uniform(rng, s.rows * s.cols, -1.0f, 1.0f));
            const std::vector<float> x = Uniform(rng, s.cols, -1.0f, 1.0f);
            const Expected e = ExpectMatMul(w.values, s.rows, s.cols, x, 1);
            for (size_t offset : {size_t{0}, size_t{2}}) {
                const PlacedWeights placed(w, offset);
                const WeightView view{dtype, placed.data(), static_cast<int64_t>(s.rows), static_cast<int64_t>(s.cols)};
                for (ThreadPool* pool : {&pool1_, &pool3_}) {
                    CheckProduct(e, Describe("MatVec", dtype, s, 1, pool->size()),
                                 [&](float* y) { MatVec(view, x.data(), y, *pool); });
                }
            }
        }
    }
}

TEST_F(MatrixTest, MatVecTransposedMatchesDoubleLoop) {
    std::mt19937 rng(kSeed + 11);
    for (DType dtype : kWeightTypes) {
        for (const Shape& s : TransposedShapes()) {
            const Weights w = MakeWeights(dtype, Uniform(rng, s.rows * s.cols, -1.0f, 1.0f));
            const std::vector<float> x = Uniform(rng, s.rows, -1.0f, 1.0f);
            const Expected e = ExpectMatMulTransposed(w.values, s.rows, s.cols, x, 1);
            for (size_t offset : {size_t{0}, size_t{2}}) {
                const PlacedWeights placed(w, offset);
                const WeightView view{dtype, placed.data(), static_cast<int64_t>(s.rows), static_cast<int64_t>(s.cols)};
                for (ThreadPool* pool : {&pool1_, &pool3_}) {
                    CheckProduct(e, Describe("MatVecTransposed", dtype, s, 1, pool->size()),
                                 [&](float* y) { MatVecTransposed(view, x.data(), y, *pool); });
                }
            }
        }
    }
}

TEST_F(MatrixTest, MatMulMatchesDoubleLoop) {
    std::mt19937 rng(kSeed + 12);
    for (DType dtype : kWeightTypes) {
        for (const Shape& s : Shapes()) {
            const Weights w = MakeWeights(dtype, Uniform(rng, s.rows * s.cols, -1.0f, 1.0f));
            const PlacedWeights placed(w, 0);
            const WeightView view{dtype, placed.data(), static_cast<int64_t>(s.rows), static_cast<int64_t>(s.cols)};
            for (size_t tokens : {size_t{1}, size_t{2}, size_t{37}}) {
                const std::vector<float> x = Uniform(rng, tokens * s.cols, -1.0f, 1.0f);
                const Expected e = ExpectMatMul(w.values, s.rows, s.cols, x, tokens);
                for (ThreadPool* pool : {&pool1_, &pool3_}) {
                    CheckProduct(e, Describe("MatMul", dtype, s, tokens, pool->size()),
                                 [&](float* y) { MatMul(view, x.data(), static_cast<int64_t>(tokens), y, *pool); });
                }
            }
        }
    }
}

TEST_F(MatrixTest, MatMulTransposedMatchesDoubleLoop) {
    std::mt19937 rng(kSeed + 13);
    for (DType dtype : kWeightTypes) {
        for (const Shape& s : TransposedShapes()) {
            const Weights w = MakeWeights(dtype, Uniform(rng, s.rows * s.cols, -1.0f, 1.0f));
            const PlacedWeights placed(w, 0);
            const WeightView view{dtype, placed.data(), static_cast<int64_t>(s.rows), static_cast<int64_t>(s.cols)};
            for (size_t tokens : {size_t{1}, size_t{2}, size_t{37}}) {
                const std::vector<float> x = Uniform(rng, tokens * s.rows, -1.0f, 1.0f);
                const Expected e = ExpectMatMulTransposed(w.values, s.rows, s.cols, x, tokens);
                for (ThreadPool* pool : {&pool1_, &pool3_}) {
                    CheckProduct(e, Describe("MatMulTransposed", dtype, s, tokens, pool->size()), [&](float* y) {
                        MatMulTransposed(view, x.data(), static_cast<int64_t>(tokens), y, *pool);
                    });
                }
            }
        }
    }
}

// Odd-addressed F16/BF16 weights through sgemm's widening path (F32 weights go to OpenBLAS as
// they are, which we do not ask to take misaligned floats).
TEST_F(MatrixTest, MatMulTakesMisalignedHalfWeights) {
    std::mt19937 rng(kSeed + 14);
    const Shape s{45, 77};
    const size_t tokens = 5;
    for (DType dtype : {DType::kF16, DType::kBF16}) {
        const Weights w = MakeWeights(dtype, Uniform(rng, s.rows * s.cols, -1.0f, 1.0f));
        const PlacedWeights placed(w, 1);
        const WeightView view{dtype, placed.data(), static_cast<int64_t>(s.rows), static_cast<int64_t>(s.cols)};
        const std::vector<float> x = Uniform(rng, tokens * s.cols, -1.0f, 1.0f);
        CheckProduct(ExpectMatMul(w.values, s.rows, s.cols, x, tokens), "MatMul " + Name(dtype),
                     [&](float* y) { MatMul(view, x.data(), tokens, y, pool3_); });
        const std::vector<float> xt = Uniform(rng, tokens * s.rows, -1.0f, 1.0f);
        CheckProduct(ExpectMatMulTransposed(w.values, s.rows, s.cols, xt, tokens), "MatMulTransposed " + Name(dtype),
                     [&](float* y) { MatMulTransposed(view, xt.data(), tokens, y, pool3_); });
    }
}

// A sum over nothing is 0: the output is still written. An empty output writes nothing.
TEST_F(MatrixTest, EmptyDimensions) {
    const std::vector<float> x(64, 1.0f);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (DType dtype : kWeightTypes) {
        SCOPED_TRACE(Name(dtype));
        const WeightView no_cols{dtype, nullptr, 5, 0};
        const WeightView no_rows{dtype, nullptr, 0, 5};
        std::vector<float> y(20, nan);
        MatVec(no_cols, x.data(), y.data(), pool3_);
        EXPECT_TRUE(std::all_of(y.begin(), y.begin() + 5, [](float v) { return v == 0.0f; }));
        EXPECT_TRUE(std::isnan(y[5]));
        std::fill(y.begin(), y.end(), nan);
        MatVecTransposed(no_rows, x.data(), y.data(), pool3_);
        EXPECT_TRUE(std::all_of(y.begin(), y.begin() + 5, [](float v) { return v == 0.0f; }));
        EXPECT_TRUE(std::isnan(y[5]));
        std::fill(y.begin(), y.end(), nan);
        MatMul(no_cols, x.data(), 3, y.data(), pool3_);
        EXPECT_TRUE(std::all_of(y.begin(), y.begin() + 15, [](float v) { return v == 0.0f; }));
        EXPECT_TRUE(std::isnan(y[15]));
        std::fill(y.begin(), y.end(), nan);
        MatMulTransposed(no_rows, x.data(), 3, y.data(), pool3_);
        EXPECT_TRUE(std::all_of(y.begin(), y.begin() + 15, [](float v) { return v == 0.0f; }));
        EXPECT_TRUE(std::isnan(y[15]));
        std::fill(y.begin(), y.end(), nan);
        MatVec(no_rows, x.data(), y.data(), pool3_);
        MatVecTransposed(no_cols, x.data(), y.data(), pool3_);
        MatMul(no_rows, x.data(), 3, y.data(), pool3_);
        MatMulTransposed(no_cols, x.data(), 3, y.data(), pool3_);
        MatMul(WeightView{dtype, x.data(), 4, 4}, x.data(), 0, y.data(), pool3_);
        MatMulTransposed(WeightView{dtype, x.data(), 4, 4}, x.data(), 0, y.data(), pool3_);
        EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float v) { return std::isnan(v); }));
    }
}

TEST(WeightDTypeTest, OnlyFloatTypes) {
    EXPECT_TRUE(SupportsWeightDType(DType::kF32));
    EXPECT_TRUE(SupportsWeightDType(DType::kF16));
    EXPECT_TRUE(SupportsWeightDType(DType::kBF16));
    EXPECT_FALSE(SupportsWeightDType(DType::kF64));
    EXPECT_FALSE(SupportsWeightDType(DType::kQ4_0));
    EXPECT_FALSE(SupportsWeightDType(DType::kI8));
}

}  // namespace
}  // namespace kernels
}  // namespace tenpak
