// rtn: round to nearest with GPTQ's min/max quantizer ([IST-DASLab/gptq] quant.py
// Quantizer.find_params; AutoGPTQ's copy is identical), shared/formats.md B.4. Per group:
//
//   xmin = min(0, min w), xmax = max(0, max w)           (the range always contains 0)
//   sym:  xmax = max(|xmin|, xmax); xmin = -xmax if xmin < 0
//   xmin = -1, xmax = +1 if both are 0
//   scale = (xmax - xmin) / maxq,  maxq = 2^bits - 1
//   zero  = (maxq + 1) / 2 (sym)  or  round(-xmin / scale) (asym)
//   code  = clamp(round(w / scale) + zero, 0, maxq),   w_hat = scale * (code - zero)
//
// with round = round half to even (torch.round). Followed literally, including its quirk: a
// symmetric group with no negative weight keeps xmin = 0, so scale = xmax / maxq while the grid
// still ends at (maxq - 1) / 2 * scale, and weights above about xmax / 2 clamp there (GPTQ does the
// same).
//
// Two deliberate additions (shared/formats.md I and B.4):
//  - The scale is rounded to F16 before the zero point and the codes are computed from it: GPTQ
//    and AWQ checkpoints store F16 scales, so the codes are then optimal for the scale a loader
//    actually multiplies by.
//  - An asymmetric zero point is clamped to >= 1. GPTQ v1 files, the most widely loadable, store
//    zero - 1 and cannot hold a zero of 0. Only groups whose minimum is above -scale / 2 (almost
//    no negative weight) are affected: their top code loses one step. Measured (tests/quant,
//    RtnZeroFloor*): on the stories260K weights 1 group of 7408 at 2 bits, group 32, and none at
//    3, 4, 8 bits or other group sizes; on Gaussian weights none; mean squared error unchanged to
//    6 digits in every case.
#include <algorithm>
#include <cmath>

#include "quant/blockwise.h"
#include "quant/group_math.h"

namespace tenpak::quant {
namespace {

// |x / scale| is at most about 1.5 * maxq (scale >= 2/3 of the F32 scale once it is not 0), far
// inside RoundHalfEven's exact range.
TP_QUANT_MULTIVERSION
void EncodeRtn(const float* x, size_t n, float scale, float zero, float maxq, uint8_t* codes) {
    for (size_t i = 0; i < n; ++i) {
        float q = RoundHalfEven(x[i] / scale) + zero;
        q = q < 0.0f ? 0.0f : q;
        q = q > maxq ? maxq : q;
        codes[i] = static_cast<uint8_t>(static_cast<int32_t>(q));
    }
}

class RtnCodec final : public GroupCodec {
public:
    RtnCodec(int bits, bool symmetric, bool zero_floor_one)
        : bits_(bits),
          maxq_(static_cast<float>((1 << bits) - 1)),
          symmetric_(symmetric),
          zero_floor_(zero_floor_one ? 1.0f : 0.0f) {}

    CodecInfo info() const override {
        return {bits_,  quantformat::Scheme::kAffine, symmetric_, /*has_zeros=*/true, /*groups_span_rows=*/false,
                "group"};
    }

    GroupParams Fit(std::span<const float>, const GroupStats& stats) const override {
        float xmin = std::min(stats.min, 0.0f);
        float xmax = std::max(stats.max, 0.0f);
        if (symmetric_) {
            xmax = std::max(std::fabs(xmin), xmax);
            if (xmin < 0.0f) xmin = -xmax;
        }
        if (xmin == 0.0f && xmax == 0.0f) {
            xmin = -1.0f;
            xmax = 1.0f;
        }
        const float scale = (xmax - xmin) / maxq_;
        const float stored = RoundToF16(scale);
        float zero = (maxq_ + 1.0f) / 2.0f;
        if (!symmetric_) {
            // A scale below half of F16's smallest subnormal (weights under ~1e-6) stores as 0 and
            // every code then means 0; the zero point comes from the F32 scale so that it stays
            // meaningful (and from nothing if even that underflowed).
            const float divisor = stored > 0.0f ? stored : scale;
            zero = divisor > 0.0f ? std::clamp(RoundHalfEven(-xmin / divisor), zero_floor_, maxq_) : zero_floor_;
        }
        return {stored, zero, stored, 0.0f};
    }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        const size_t n = group.size();
        const float* x = group.data();
        const float zero = params.zero;
        if (params.scale == 0.0f) {
            // Every code dequantizes to 0 (see Fit); the zero point itself is the nearest.
            std::fill(codes, codes + n, static_cast<uint8_t>(zero));
            return;
        }
        EncodeRtn(x, n, params.scale, zero, maxq_, codes);
    }

private:
    int bits_;
    float maxq_;
    bool symmetric_;
    float zero_floor_;
};

}  // namespace

std::unique_ptr<GroupCodec> MakeRtnCodec(int bits, bool symmetric, bool zero_floor_one) {
    return std::make_unique<RtnCodec>(bits, symmetric, zero_floor_one);
}

}  // namespace tenpak::quant
