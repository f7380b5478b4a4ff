// The k-quant scale searches (kquant_search.h). Every F32 expression is llama.cpp's, in its order
// (this module is built with -ffp-contract=off, so no fused multiply-add changes a rounding).
//
// Why batched forms: the scalar searches are chains of dependent float adds (three running sums
// over the group for each of ~20 trial scales), about 80 ns per weight for Q4_K, and no reordering
// of those sums is allowed. So the batched forms give vector lanes independent chains:
//   - make_qkx2_quants: lane g runs group g's whole search (Q4_K's 8 groups of a super-block side
//     by side). The trials depend on each other (an improvement moves the minimum the later ones
//     use), but every lane takes the same trials in the same order, so its choices become selects.
//   - make_qx_quants: a trial's sums do not depend on earlier choices, so lane k runs trial k and
//     the choice then walks the trials in llama.cpp's order.
// The loops over lanes are innermost and element-wise, for the auto-vectoriser; no lane's operations
// are reordered.
#include "quant/kquant_search.h"

#include <algorithm>
#include <cmath>

#include "quant/group_math.h"

namespace tenpak::quant::kquant {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: a group this small is all zero

// What both forms of make_qkx2_quants do first: the range and sums, and the plain min/max fit.
struct Qkx2Start {
    float min, max, sum_w, sum_x, scale, best_error;
    bool flat;  // max == min: all codes 0, scale 0
};

Qkx2Start StartQkx2(int n, int nmax, const float* x, const float* weights, uint8_t* L) {
    Qkx2Start s{x[0], x[0], weights[0], weights[0] * x[0], 0.0f, 0.0f, false};
    for (int i = 1; i < n; ++i) {
        if (x[i] < s.min) s.min = x[i];
        if (x[i] > s.max) s.max = x[i];
        const float w = weights[i];
        s.sum_w += w;
        s.sum_x += w * x[i];
    }
    if (s.min > 0) s.min = 0;
    if (s.max == s.min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        s.flat = true;
        return s;
    }
    const float iscale = static_cast<float>(nmax) / (s.max - s.min);
    s.scale = 1 / iscale;
    for (int i = 0; i < n; ++i) {
        const int l = NearestInt(iscale * (x[i] - s.min));
        L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
        float diff = s.scale * static_cast<float>(L[i]) + s.min - x[i];
        diff = diff * diff;
        s.best_error += weights[i] * diff;
    }
    return s;
}

}  // namespace

float Qkx2Scalar(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* laux,
                 float rmin, float rdelta, int nstep) {
    Qkx2Start s = StartQkx2(n, nmax, x, weights, L);
    if (s.flat) {
        *the_min = -s.min;
        return 0.0f;
    }
    float min = s.min;
    float scale = s.scale;
    float best_error = s.best_error;
    for (int is = 0; is <= nstep; ++is) {
        const float iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (s.max - min);
        float sum_l = 0;
        float sum_l2 = 0;
        float sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::max(0, std::min(nmax, NearestInt(iscale * (x[i] - min))));
            laux[i] = static_cast<uint8_t>(l);
            const float w = weights[i];
            const auto lf = static_cast<float>(l);
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        const float D = s.sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (s.sum_w * sum_xl - s.sum_x * sum_l) / D;
            float this_min = (sum_l2 * s.sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * static_cast<float>(laux[i]) + this_min - x[i];
                diff = diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                std::copy(laux, laux + n, L);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

namespace {

// kGroupLanes groups' searches side by side, lane g holding group g: each lane runs exactly the
// scalar sequence of Qkx2Scalar (the same sums in the same order), its choices made with selects.
// GCC/Clang vector types, so that every operation is one 8-wide instruction (the auto-vectoriser
// managed only part of it); each is the lane-wise IEEE operation of the scalar code.
using V8f = float __attribute__((vector_size(32)));
using V8i = int32_t __attribute__((vector_size(32)));
static_assert(kGroupLanes == 8, "the lanes are one 8-wide vector");

// out = mask ? a : out, lane by lane. By reference: passing 32-byte vectors by value is an ABI that
// differs between the AVX and baseline clones (-Wpsabi), which is also why the bit casts are the
// builtin rather than std::bit_cast (a function returning the vector).
inline void Take(const V8i& mask, const V8f& a, V8f& out) {
    out = __builtin_bit_cast(V8f, (__builtin_bit_cast(V8i, a) & mask) | (__builtin_bit_cast(V8i, out) & ~mask));
}
inline void Take(const V8i& mask, const V8i& a, V8i& out) {
    out = (a & mask) | (out & ~mask);
}

struct Qkx2Lanes {
    V8f x[kMaxGroup];  // [i]: value i of every group
    V8f w[kMaxGroup];
    V8i L[kMaxGroup];
    V8f min, max, sum_w, sum_x, scale, best_error;
};

TP_QUANT_MULTIVERSION
void RunQkx2Trials(int n, int nmax, float rmin, float rdelta, int nstep, Qkx2Lanes& s) {
    const V8i zero = {};
    const V8i top = zero + nmax;
    V8i laux[kMaxGroup];
    for (int is = 0; is <= nstep; ++is) {
        const float numerator = rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax);
        const V8f iscale = numerator / (s.max - s.min);
        V8f sum_l = {};
        V8f sum_l2 = {};
        V8f sum_xl = {};
        for (int i = 0; i < n; ++i) {
            // nearest_int, then MAX(0, MIN(nmax, l)).
            const V8i bits = __builtin_bit_cast(V8i, iscale * (s.x[i] - s.min) + 12582912.0f);
            V8i l = (bits & 0x007fffff) - 0x00400000;
            Take(l < 0, zero, l);
            Take(l > top, top, l);
            laux[i] = l;
            const V8f lf = __builtin_convertvector(l, V8f);
            const V8f w = s.w[i];
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * s.x[i];
        }
        // A lane whose determinant is not positive computes nonsense here; it takes nothing.
        const V8f D = s.sum_w * sum_l2 - sum_l * sum_l;
        const V8f fit_scale = (s.sum_w * sum_xl - s.sum_x * sum_l) / D;
        const V8f fit_min = (sum_l2 * s.sum_x - sum_l * sum_xl) / D;
        const V8i clamp = fit_min > 0.0f;
        V8f this_scale = fit_scale;
        Take(clamp, sum_xl / sum_l2, this_scale);
        V8f this_min = fit_min;
        Take(clamp, V8f{}, this_min);
        V8f error = {};
        for (int i = 0; i < n; ++i) {
            V8f diff = this_scale * __builtin_convertvector(laux[i], V8f) + this_min - s.x[i];
            diff = diff * diff;
            error += s.w[i] * diff;
        }
        const V8i take = (D > 0.0f) & (error < s.best_error);
        Take(take, error, s.best_error);
        Take(take, this_scale, s.scale);
        Take(take, this_min, s.min);
        for (int i = 0; i < n; ++i) Take(take, laux[i], s.L[i]);
    }
}

}  // namespace

void Qkx2Groups(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* scales, float* the_mins,
                float rmin, float rdelta, int nstep) {
    Qkx2Lanes s;
    bool flat[kGroupLanes];
    float flat_min[kGroupLanes];
    for (int g = 0; g < kGroupLanes; ++g) {
        uint8_t first[kMaxGroup];
        const Qkx2Start start = StartQkx2(n, nmax, x + g * n, weights + g * n, first);
        flat[g] = start.flat;
        flat_min[g] = start.min;
        // A flat group (all values equal) is finished; its lane runs on harmless numbers.
        s.min[g] = start.min;
        s.max[g] = start.flat ? start.min + 1.0f : start.max;
        s.sum_w[g] = start.sum_w;
        s.sum_x[g] = start.sum_x;
        s.scale[g] = start.scale;
        s.best_error[g] = start.best_error;
        for (int i = 0; i < n; ++i) {
            s.x[i][g] = x[g * n + i];
            s.w[i][g] = weights[g * n + i];
            s.L[i][g] = first[i];
        }
    }
    RunQkx2Trials(n, nmax, rmin, rdelta, nstep, s);
    for (int g = 0; g < kGroupLanes; ++g) {
        scales[g] = flat[g] ? 0.0f : s.scale[g];
        the_mins[g] = -(flat[g] ? flat_min[g] : s.min[g]);
        for (int i = 0; i < n; ++i) L[g * n + i] = flat[g] ? 0 : static_cast<uint8_t>(s.L[i][g]);
    }
}

namespace {

// make_qx_quants' first fit: the largest magnitude and the scale -nmax / max. Returns false for an
// all-zero group (L all 0).
bool StartQx(int n, int nmax, const float* x, int8_t* L, float& max, float& scale, float& best) {
    max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return false;
    }
    const float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::max(-nmax, std::min(nmax - 1, NearestInt(iscale * x[i])));
        L[i] = static_cast<int8_t>(l + nmax);
        const float w = x[i] * x[i];
        const auto lf = static_cast<float>(l);
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    best = scale * sumlx;
    return true;
}

void TakeQx(int n, int nmax, const float* x, float iscale, int8_t* L) {
    for (int i = 0; i < n; ++i) {
        L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, NearestInt(iscale * x[i]))));
    }
}

// The 18 trial scales of make_qx_quants, is = -9..-1, 1..9, in that order.
constexpr int kQxTrials = 18;

int QxTrialStep(int k) {
    return k < 9 ? k - 9 : k - 8;
}

float QxTrialScale(int nmax, float max, int k) {
    return -(static_cast<float>(nmax) + 0.1f * static_cast<float>(QxTrialStep(k))) / max;
}

TP_QUANT_MULTIVERSION
void EvaluateQx(int n, int nmax, const float* x, const float (&iscale)[kMaxTrials], float (&sumlx)[kMaxTrials],
                float (&suml2)[kMaxTrials]) {
    for (int k = 0; k < kMaxTrials; ++k) {
        sumlx[k] = 0;
        suml2[k] = 0;
    }
    for (int i = 0; i < n; ++i) {
        const float xi = x[i];
        const float w = xi * xi;
        for (int k = 0; k < kMaxTrials; ++k) {
            const auto lf = static_cast<float>(std::max(-nmax, std::min(nmax - 1, NearestInt(iscale[k] * xi))));
            sumlx[k] += w * xi * lf;
            suml2[k] += w * lf * lf;
        }
    }
}

}  // namespace

float QxScalar(int n, int nmax, const float* x, int8_t* L) {
    float max = 0;
    float scale = 0;
    float best = 0;
    if (!StartQx(n, nmax, x, L, max, scale, best)) return 0.0f;
    for (int k = 0; k < kQxTrials; ++k) {
        const float iscale = QxTrialScale(nmax, max, k);
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const auto lf = static_cast<float>(std::max(-nmax, std::min(nmax - 1, NearestInt(iscale * x[i]))));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            TakeQx(n, nmax, x, iscale, L);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

float QxBatched(int n, int nmax, const float* x, int8_t* L) {
    float max = 0;
    float scale = 0;
    float best = 0;
    if (!StartQx(n, nmax, x, L, max, scale, best)) return 0.0f;
    float iscale[kMaxTrials];
    for (int k = 0; k < kMaxTrials; ++k) iscale[k] = k < kQxTrials ? QxTrialScale(nmax, max, k) : 0.0f;
    float sumlx[kMaxTrials];
    float suml2[kMaxTrials];
    EvaluateQx(n, nmax, x, iscale, sumlx, suml2);
    int chosen = -1;
    for (int k = 0; k < kQxTrials; ++k) {
        if (suml2[k] > 0 && sumlx[k] * sumlx[k] > best * suml2[k]) {
            chosen = k;
            scale = sumlx[k] / suml2[k];
            best = scale * sumlx[k];
        }
    }
    if (chosen >= 0) TakeQx(n, nmax, x, iscale[chosen], L);
    return scale;
}

}  // namespace tenpak::quant::kquant
