// llama.cpp's reference encoders for the k-quant types Q4_K and Q6_K (ggml-quants.c
// quantize_row_q4_K_ref with make_qkx2_quants, quantize_row_q6_K_ref with make_qx_quants), which
// llama-quantize runs when it has no importance matrix. Super-blocks of 256 consecutive weights of a
// row; each is encoded on its own, so the pool takes ranges of super-blocks.
//
// Every expression is the C one, evaluated in float in the same order (this module is built with
// -ffp-contract=off: no fused multiply-add, which a compiler may otherwise introduce in some of
// these sums), including the quirks that reach the file: nearest_int's bit trick, the uint8_t
// wrap of a negative Q4_K scale code before it is clamped to 63, a group whose quantized scale is 0
// keeping the codes of the first pass, and Q6_K's all-zero super-block (every byte 0). A llama.cpp
// build that contracts these products into FMAs may pick another code where two are within an
// ulp; that is a property of that build, not of the format.
//
//   Q4_K  per group j of 32: weights = sqrt(mean x^2) + |x|; (scale_j, min_j) = make_qkx2_quants(
//         nmax 15, rmin -1, rdelta 0.1, nstep 20); d = f16(max scale / 63), dmin = f16(max min /
//         63); 6-bit codes sc_j = nearest(63 / max scale * scale_j), m_j likewise; then each code is
//         nearest((x + dmin * m_j) / (d * sc_j)) clamped to 0..15.
//   Q6_K  per group of 16: scale = make_qx_quants(nmax 32, rmse_type 1); d = f16(max |scale|'s
//         scale / -128); signed codes sc = min(127, nearest(-128 / max * scale)); each code is
//         nearest(x / (d * sc)) clamped to -32..31, stored + 32.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "quant/kquants.h"
#include "tenpak/core/ggml_blocks.h"
#include "tenpak/core/half.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quant {

using quantformat::QuantizedTensor;
using quantformat::Scheme;
using quantformat::SuperBlocks;

namespace {

constexpr int kSuper = static_cast<int>(kGgmlSuperBlockElems);
constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: a group this small is all zero

// ggml's nearest_int: round to nearest even through the float's mantissa bits. Exact for
// |x| <= 4194303 (llama.cpp asserts it); beyond, the same bits as llama.cpp's release build.
int NearestInt(float x) {
    const float shifted = x + 12582912.0f;
    int32_t bits = 0;
    std::memcpy(&bits, &shifted, sizeof(bits));
    return (bits & 0x007fffff) - 0x00400000;
}

float RoundTripF16(float x) {
    return F16ToF32Ref(F32ToF16Ref(x));
}

// make_qkx2_quants with use_mad false: the scale, and in `the_min` minus the (non-positive) minimum.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                     uint8_t* Laux, float rmin, float rdelta, int nstep) {
    float min = x[0];
    float max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = static_cast<float>(nmax) / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = NearestInt(iscale * (x[i] - min));
        L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
        float diff = scale * static_cast<float>(L[i]) + min - x[i];
        diff = diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
        float sum_l = 0;
        float sum_l2 = 0;
        float sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::max(0, std::min(nmax, NearestInt(iscale * (x[i] - min))));
            Laux[i] = static_cast<uint8_t>(l);
            const float w = weights[i];
            const auto lf = static_cast<float>(l);
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
                diff = diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                std::copy(Laux, Laux + n, L);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// make_qx_quants with rmse_type 1 and no importance weights: L holds code + nmax.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0;
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
        return 0.0f;
    }
    auto code = [nmax](float v) { return std::max(-nmax, std::min(nmax - 1, NearestInt(v))); };
    float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = code(iscale * x[i]);
        L[i] = static_cast<int8_t>(l + nmax);
        const float w = x[i] * x[i];
        const auto lf = static_cast<float>(l);
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
        sumlx = 0;
        suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const auto lf = static_cast<float>(code(iscale * x[i]));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + code(iscale * x[i]));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Where one super-block's results go: its codes, the scales and zeros of its groups, and its
// entries of the SuperBlocks fields.
struct SuperBlockOut {
    uint8_t* codes;
    float* scales;
    float* zeros;
    float* d;
    float* dmin;           // Q4_K
    int8_t* scale_codes;
    uint8_t* min_codes;    // Q4_K
};

void EncodeQ4K(const float* x, const SuperBlockOut& out) {
    constexpr int kGroups = 8;
    constexpr int kGroup = 32;
    uint8_t* L = out.codes;
    uint8_t Laux[kGroup];
    float weights[kGroup];
    float mins[kGroups];
    float scales[kGroups];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kGroups; ++j) {
        const float* xj = x + kGroup * j;
        float sum_x2 = 0;
        for (int l = 0; l < kGroup; ++l) sum_x2 += xj[l] * xj[l];
        const float av_x = std::sqrt(sum_x2 / kGroup);
        for (int l = 0; l < kGroup; ++l) weights[l] = av_x + std::fabs(xj[l]);
        scales[j] = MakeQkx2Quants(kGroup, 15, xj, weights, L + kGroup * j, &mins[j], Laux, -1.0f, 0.1f, 20);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    const float d = RoundTripF16(max_scale / 63.0f);
    const float dmin = RoundTripF16(max_min / 63.0f);
    *out.d = d;
    *out.dmin = dmin;
    for (int j = 0; j < kGroups; ++j) {
        // llama.cpp stores nearest_int's result in a uint8_t before clamping it to 63.
        const auto ls = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])));
        const auto lm = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])));
        out.scale_codes[j] = static_cast<int8_t>(ls);
        out.min_codes[j] = lm;
        const float dj = d * static_cast<float>(ls);
        const float mj = dmin * static_cast<float>(lm);
        out.scales[j] = dj;
        out.zeros[j] = -mj;
        if (dj == 0) continue;  // the codes of the first pass stay, as in llama.cpp
        for (int ii = 0; ii < kGroup; ++ii) {
            const int l = NearestInt((x[kGroup * j + ii] + mj) / dj);
            L[kGroup * j + ii] = static_cast<uint8_t>(std::max(0, std::min(15, l)));
        }
    }
}

void EncodeQ6K(const float* x, const SuperBlockOut& out) {
    constexpr int kGroups = 16;
    constexpr int kGroup = 16;
    int8_t L[kSuper];
    float scales[kGroups];
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < kGroups; ++ib) {
        const float scale = MakeQxQuants(kGroup, 32, x + kGroup * ib, L + kGroup * ib);
        scales[ib] = scale;
        const float abs_scale = std::fabs(scale);
        if (abs_scale > max_abs_scale) {
            max_abs_scale = abs_scale;
            max_scale = scale;
        }
    }
    if (max_abs_scale < kGroupMaxEps) {  // the block is written as zeros: codes 0, scales 0, d 0
        *out.d = 0.0f;
        std::fill(out.codes, out.codes + kSuper, uint8_t{0});
        for (int j = 0; j < kGroups; ++j) {
            out.scale_codes[j] = 0;
            out.scales[j] = 0.0f;
            out.zeros[j] = 32.0f;
        }
        return;
    }
    const float iscale = -128.0f / max_scale;
    const float d = RoundTripF16(1 / iscale);
    *out.d = d;
    for (int ib = 0; ib < kGroups; ++ib) {
        out.scale_codes[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
        out.scales[ib] = d * static_cast<float>(out.scale_codes[ib]);
        out.zeros[ib] = 32.0f;
    }
    for (int j = 0; j < kGroups; ++j) {
        const float dj = out.scales[j];
        if (dj == 0) continue;  // make_qx_quants' codes stay
        for (int ii = 0; ii < kGroup; ++ii) {
            const int l = NearestInt(x[kGroup * j + ii] / dj);
            L[kGroup * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
        }
    }
    for (int i = 0; i < kSuper; ++i) out.codes[i] = static_cast<uint8_t>(L[i]);
}

}  // namespace

Result<QuantizedTensor> QuantizeKQuant(KQuant type, std::span<const float> w, int64_t rows, int64_t cols,
                                       ThreadPool& pool) {
    const char* name = type == KQuant::kQ4_K ? "Q4_K" : "Q6_K";
    if (rows <= 0 || cols <= 0 || static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) != w.size()) {
        return Status::InvalidArgument(std::to_string(w.size()) + " weights given for a " + std::to_string(rows) +
                                       " x " + std::to_string(cols) + " matrix");
    }
    if (cols % kSuper != 0) {
        return Status::InvalidArgument(std::string(name) + " needs the input size " + std::to_string(cols) +
                                       " to be a multiple of its super-block of 256");
    }
    const auto bad = std::find_if(w.begin(), w.end(), [](float v) { return !std::isfinite(v); });
    if (bad != w.end()) {
        const int64_t at = bad - w.begin();
        return Status::InvalidArgument(std::string(std::isnan(*bad) ? "NaN" : (*bad > 0 ? "+Inf" : "-Inf")) +
                                       " at row " + std::to_string(at / cols) + ", column " +
                                       std::to_string(at % cols) + ": weights must be finite to be quantized");
    }
    const bool q4k = type == KQuant::kQ4_K;
    QuantizedTensor q =
        quantformat::KQuantTensor(q4k ? quantformat::Layout::kGgufQ4_K : quantformat::Layout::kGgufQ6_K, rows, cols);
    SuperBlocks& sb = *q.super_blocks;
    const auto per = static_cast<size_t>(sb.groups_per_super_block);
    const size_t blocks = sb.d.size();
    pool.ParallelFor(
        blocks,
        [&](size_t begin, size_t end, size_t) {
            for (size_t s = begin; s < end; ++s) {
                const SuperBlockOut out{q.codes.data() + s * kGgmlSuperBlockElems,
                                        q.scales.data() + s * per,
                                        q.zeros.data() + s * per,
                                        sb.d.data() + s,
                                        q4k ? sb.dmin.data() + s : nullptr,
                                        sb.scale_codes.data() + s * per,
                                        q4k ? sb.min_codes.data() + s * per : nullptr};
                const float* x = w.data() + s * kGgmlSuperBlockElems;
                if (q4k) {
                    EncodeQ4K(x, out);
                } else {
                    EncodeQ6K(x, out);
                }
            }
        },
        16);
    return q;
}

}  // namespace tenpak::quant
