// int8: LLM.int8's vector-wise weight quantization (Dettmers et al. 2022, "LLM.int8()", section
// 3.1 and 3.2; [bitsandbytes] backends/default/ops.py int8_vectorwise_quant; shared/formats.md D.2).
// One group per output row: SCB = max |W[r, :]|, CB = round_half_even(W * 127 / SCB) in
// [-127, 127], stored here as the unsigned code CB + 128 (kInt8Absmax). A row of zeros has SCB 0
// and codes 128 (CB 0).
//
// W * 127 overflows a float for |W| > FLT_MAX / 127; for such rows both W and SCB are first scaled
// by 2^-8, which changes no bit of the quotient (scaling by a power of two is exact for normal
// numbers) and keeps it finite.
#include <algorithm>
#include <cfloat>

#include "quant/blockwise.h"
#include "quant/group_math.h"

namespace tenpak::quant {
namespace {

constexpr float kInt8Max = 127.0f;
constexpr float kInt8Offset = 128.0f;  // code = CB + 128
constexpr float kOverflowScale = 0x1p-8f;

TP_QUANT_MULTIVERSION
void EncodeInt8(const float* x, size_t n, float pre, float denominator, uint8_t* codes) {
    for (size_t i = 0; i < n; ++i) {
        // |x| <= SCB, so the quotient is within [-127, 127] up to rounding; the clamp is for that.
        // (Clamping after the offset is added lets GCC vectorise the loop; before, it does not.)
        float q = RoundHalfEven(x[i] * pre * kInt8Max / denominator) + kInt8Offset;
        q = q < kInt8Offset - kInt8Max ? kInt8Offset - kInt8Max : q;
        q = q > kInt8Offset + kInt8Max ? kInt8Offset + kInt8Max : q;
        codes[i] = static_cast<uint8_t>(static_cast<int32_t>(q));
    }
}

class Int8Codec final : public GroupCodec {
public:
    CodecInfo info() const override {
        return {8,
                quantformat::Scheme::kInt8Absmax,
                /*symmetric=*/true,
                /*has_zeros=*/false,
                /*groups_span_rows=*/false,
                "row"};
    }

    GroupParams Fit(std::span<const float>, const GroupStats& stats) const override {
        const float scb = stats.absmax();
        return {scb, 0.0f, scb, 0.0f};
    }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        const size_t n = group.size();
        const float scb = params.encode_scale;
        if (scb == 0.0f) {
            std::fill(codes, codes + n, static_cast<uint8_t>(kInt8Offset));
            return;
        }
        const float pre = scb > FLT_MAX / kInt8Max ? kOverflowScale : 1.0f;
        EncodeInt8(group.data(), n, pre, scb * pre, codes);
    }
};

}  // namespace

std::unique_ptr<GroupCodec> MakeInt8Codec() {
    return std::make_unique<Int8Codec>();
}

}  // namespace tenpak::quant
