// llama.cpp's reference encoders for the k-quant types Q4_K and Q6_K (ggml-quants.c
// quantize_row_q4_K_ref with make_qkx2_quants, quantize_row_q6_K_ref with make_qx_quants), which
// llama-quantize runs when it has no importance matrix. Super-blocks of 256 consecutive weights of a
// row; each is encoded on its own, so the pool takes ranges of super-blocks. The scale searches
// (make_qkx2_quants, make_qx_quants) are in kquant_search.cpp, in their batched form.
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
#include <limits>
#include <string>
#include <vector>

#include "quant/blockwise.h"
#include "quant/group_math.h"
#include "quant/kquant_search.h"
#include "quant/kquants.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/ggml_blocks.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quant {

using quantformat::QuantizedTensor;
using quantformat::Scheme;
using quantformat::SuperBlocks;

namespace {

constexpr int kSuper = static_cast<int>(kGgmlSuperBlockElems);
constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: a group this small is all zero


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
    float weights[kSuper];
    float mins[kGroups];
    float scales[kGroups];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kGroups; ++j) {
        const float* xj = x + kGroup * j;
        float sum_x2 = 0;
        for (int l = 0; l < kGroup; ++l) sum_x2 += xj[l] * xj[l];
        const float av_x = std::sqrt(sum_x2 / kGroup);
        for (int l = 0; l < kGroup; ++l) weights[kGroup * j + l] = av_x + std::fabs(xj[l]);
    }
    static_assert(kGroups == kquant::kGroupLanes, "one super-block's groups fill the search's lanes");
    kquant::Qkx2Groups(kGroup, 15, x, weights, L, scales, mins, -1.0f, 0.1f, 20);
    for (int j = 0; j < kGroups; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    const float d = RoundToF16(max_scale / 63.0f);
    const float dmin = RoundToF16(max_min / 63.0f);
    *out.d = d;
    *out.dmin = dmin;
    for (int j = 0; j < kGroups; ++j) {
        // llama.cpp stores nearest_int's result in a uint8_t before clamping it to 63.
        const auto ls = std::min<uint8_t>(63, static_cast<uint8_t>(kquant::NearestInt(inv_scale * scales[j])));
        const auto lm = std::min<uint8_t>(63, static_cast<uint8_t>(kquant::NearestInt(inv_min * mins[j])));
        out.scale_codes[j] = static_cast<int8_t>(ls);
        out.min_codes[j] = lm;
        const float dj = d * static_cast<float>(ls);
        const float mj = dmin * static_cast<float>(lm);
        out.scales[j] = dj;
        out.zeros[j] = -mj;
        if (dj == 0) continue;  // the codes of the first pass stay, as in llama.cpp
        for (int ii = 0; ii < kGroup; ++ii) {
            const int l = kquant::NearestInt((x[kGroup * j + ii] + mj) / dj);
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
        const float scale = kquant::QxBatched(kGroup, 32, x + kGroup * ib, L + kGroup * ib);
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
    const float d = RoundToF16(1 / iscale);
    *out.d = d;
    for (int ib = 0; ib < kGroups; ++ib) {
        out.scale_codes[ib] = static_cast<int8_t>(std::min(127, kquant::NearestInt(iscale * scales[ib])));
        out.scales[ib] = d * static_cast<float>(out.scale_codes[ib]);
        out.zeros[ib] = 32.0f;
    }
    for (int j = 0; j < kGroups; ++j) {
        const float dj = out.scales[j];
        if (dj == 0) continue;  // make_qx_quants' codes stay
        for (int ii = 0; ii < kGroup; ++ii) {
            const int l = kquant::NearestInt(x[kGroup * j + ii] / dj);
            L[kGroup * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
        }
    }
    for (int i = 0; i < kSuper; ++i) out.codes[i] = static_cast<uint8_t>(L[i]);
}

}  // namespace

namespace {

// Where the weights come from: F32 in place, or stored F16 / BF16 / F32 bytes cast one super-block
// at a time into a buffer of the thread's (no F32 copy of the layer: an embedding of 32000 x 4096
// would take 0.5 GB).
struct KSource {
    const float* f32 = nullptr;
    DType dtype = DType::kF32;
    const std::byte* stored = nullptr;
};

std::string NonFinite(float v, int64_t at, int64_t cols) {
    return std::string(std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf")) + " at row " + std::to_string(at / cols) +
           ", column " + std::to_string(at % cols) + ": weights must be finite to be quantized";
}

Result<QuantizedTensor> RunKQuant(KQuant type, const KSource& source, size_t count, int64_t rows, int64_t cols,
                                  ThreadPool& pool) {
    const char* name = type == KQuant::kQ4_K ? "Q4_K" : "Q6_K";
    if (rows <= 0 || cols <= 0 || static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) != count) {
        return Status::InvalidArgument(std::to_string(count) + " weights given for a " + std::to_string(rows) + " x " +
                                       std::to_string(cols) + " matrix");
    }
    if (cols % kSuper != 0) {
        return Status::InvalidArgument(std::string(name) + " needs the input size " + std::to_string(cols) +
                                       " to be a multiple of its super-block of 256");
    }
    const bool q4k = type == KQuant::kQ4_K;
    QuantizedTensor q =
        quantformat::KQuantTensor(q4k ? quantformat::Layout::kGgufQ4_K : quantformat::Layout::kGgufQ6_K, rows, cols);
    SuperBlocks& sb = *q.super_blocks;
    const auto per = static_cast<size_t>(sb.groups_per_super_block);
    const size_t blocks = sb.d.size();
    const size_t elem_bytes = Traits(source.dtype).block_bytes;
    // Per thread: the first non-finite weight of its range (ranges are contiguous and in order, so the
    // smallest over the threads is the first of the tensor), and a failed cast.
    std::vector<int64_t> bad_at(pool.size(), std::numeric_limits<int64_t>::max());
    std::vector<float> bad_value(pool.size(), 0.0f);
    std::vector<Status> cast_failures(pool.size());
    pool.ParallelFor(
        blocks,
        [&](size_t begin, size_t end, size_t thread) {
            float buffer[kSuper];
            for (size_t s = begin; s < end; ++s) {
                const float* x = source.f32 != nullptr ? source.f32 + s * kGgmlSuperBlockElems : buffer;
                if (source.f32 == nullptr) {
                    const Status cast = CastTensor(
                        source.dtype, {source.stored + s * kGgmlSuperBlockElems * elem_bytes, kSuper * elem_bytes},
                        DType::kF32, {reinterpret_cast<std::byte*>(buffer), sizeof(buffer)}, kSuper);
                    if (!cast.ok()) {
                        cast_failures[thread] = cast;
                        return;
                    }
                }
                for (int i = 0; i < kSuper; ++i) {
                    if (!std::isfinite(x[i])) {
                        bad_at[thread] = static_cast<int64_t>(s * kGgmlSuperBlockElems) + i;
                        bad_value[thread] = x[i];
                        return;
                    }
                }
                const SuperBlockOut out{q.codes.data() + s * kGgmlSuperBlockElems,
                                        q.scales.data() + s * per,
                                        q.zeros.data() + s * per,
                                        sb.d.data() + s,
                                        q4k ? sb.dmin.data() + s : nullptr,
                                        sb.scale_codes.data() + s * per,
                                        q4k ? sb.min_codes.data() + s * per : nullptr};
                if (q4k) {
                    EncodeQ4K(x, out);
                } else {
                    EncodeQ6K(x, out);
                }
            }
        },
        16);
    for (const Status& cast : cast_failures) TP_RETURN_IF_ERROR(cast);
    const auto first = std::min_element(bad_at.begin(), bad_at.end());
    if (*first != std::numeric_limits<int64_t>::max()) {
        return Status::InvalidArgument(NonFinite(bad_value[static_cast<size_t>(first - bad_at.begin())], *first, cols));
    }
    return q;
}

}  // namespace

Result<QuantizedTensor> QuantizeKQuant(KQuant type, std::span<const float> w, int64_t rows, int64_t cols,
                                       ThreadPool& pool) {
    KSource source;
    source.f32 = w.data();
    return RunKQuant(type, source, w.size(), rows, cols, pool);
}

Result<QuantizedTensor> QuantizeKQuantStored(KQuant type, DType dtype, std::span<const std::byte> w, int64_t rows,
                                             int64_t cols, ThreadPool& pool) {
    TP_ASSIGN_OR_RETURN(const size_t count, StoredWeightCount(dtype, w));
    KSource source;
    source.dtype = dtype;
    source.stored = w.data();
    return RunKQuant(type, source, count, rows, cols, pool);
}

}  // namespace tenpak::quant
