// llama.cpp's reference encoders for the "legacy" GGUF types, bit for bit: ggml-quants.c
// quantize_row_q8_0_ref, quantize_row_q4_0_ref and quantize_row_q4_1_ref ("reference
// implementation for deterministic creation of model files"), shared/formats.md E.2. llama-quantize
// uses exactly these when no importance matrix is given, so a GGUF written from our codes is
// byte-identical to llama.cpp's (tests/quant/quantizer_gguf_test.cpp checks it on real files).
//
// Blocks of 32 along a row. Every expression below is the C one evaluated in float, in the same
// order (no double, no fused multiply-add: this file is built for baseline x86-64, which has no
// FMA, and the expressions are written so that none could contract anyway). Each scale is the F32
// value the encoder computes; the codes are computed with it (and its reciprocal), and only the
// stored value is rounded to F16, as ggml does:
//
//   Q8_0  d = amax / 127, id = d ? 1/d : 0, qs = roundf(x * id) (half away from zero);
//         our code = qs + 128, zero 128, scale = f16(d)                                    kAffine
//   Q4_0  max = the signed value of largest magnitude (the first, on ties), d = max / -8,
//         q = min(15, (int8_t)(x * id + 8.5f)) (truncation); zero 8, scale = f16(d)       kAffine
//   Q4_1  d = (max - min) / 15, q = min(15, (int8_t)((x - min) * id + 0.5f));
//         scale = f16(d), zeros hold f16(min)                                              kAffineMin
//
// The statistics loops keep llama.cpp's comparisons (strict `<`, first occurrence) because the
// sign of Q4_0's max and the sign of a zero minimum in Q4_1 reach the file.
#include <cfloat>
#include <cmath>

#include "quant/blockwise.h"
#include "quant/group_math.h"

namespace tenpak::quant {
namespace {

constexpr float kQ8Zero = 128.0f;  // our unsigned code = ggml's int8 qs + 128
constexpr float kQ4Zero = 8.0f;
constexpr int kQ4MaxCode = 15;

CodecInfo GgufInfo(quantformat::Scheme scheme, int bits, bool symmetric) {
    return {bits, scheme, symmetric, /*has_zeros=*/true, /*groups_span_rows=*/false, "block"};
}

float InverseOrZero(float d) {
    return d != 0.0f ? 1.0f / d : 0.0f;
}

class Q8_0Codec final : public GroupCodec {
public:
    CodecInfo info() const override { return GgufInfo(quantformat::Scheme::kAffine, 8, true); }

    GroupParams Fit(std::span<const float> group, const GroupStats&) const override {
        float amax = 0.0f;
        for (float v : group) amax = amax > std::fabs(v) ? amax : std::fabs(v);  // ggml's MAX(amax, fabsf(v))
        const float d = amax / ((1 << 7) - 1);
        return {RoundToF16(d), kQ8Zero, d, 0.0f};
    }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        const float id = InverseOrZero(params.encode_scale);
        for (size_t j = 0; j < group.size(); ++j) {
            const float x0 = group[j] * id;
            codes[j] = static_cast<uint8_t>(static_cast<int>(std::round(x0)) + static_cast<int>(kQ8Zero));
        }
    }
};

class Q4_0Codec final : public GroupCodec {
public:
    CodecInfo info() const override { return GgufInfo(quantformat::Scheme::kAffine, 4, true); }

    GroupParams Fit(std::span<const float> group, const GroupStats&) const override {
        float amax = 0.0f;
        float max = 0.0f;
        for (float v : group) {
            if (amax < std::fabs(v)) {
                amax = std::fabs(v);
                max = v;
            }
        }
        const float d = max / -8;
        return {RoundToF16(d), kQ4Zero, d, 0.0f};
    }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        const float id = InverseOrZero(params.encode_scale);
        for (size_t j = 0; j < group.size(); ++j) {
            const float x0 = group[j] * id;
            // (int8_t) in C truncates toward zero; x0 + 8.5f lies in [0, 17) here.
            const int q = static_cast<int>(x0 + 8.5f);
            codes[j] = static_cast<uint8_t>(q < kQ4MaxCode ? q : kQ4MaxCode);
        }
    }
};

class Q4_1Codec final : public GroupCodec {
public:
    CodecInfo info() const override { return GgufInfo(quantformat::Scheme::kAffineMin, 4, false); }

    GroupParams Fit(std::span<const float> group, const GroupStats&) const override {
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (float v : group) {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        const float d = (max - min) / ((1 << 4) - 1);
        return {RoundToF16(d), RoundToF16(min), d, min};
    }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        const float id = InverseOrZero(params.encode_scale);
        const float min = params.encode_offset;
        for (size_t j = 0; j < group.size(); ++j) {
            const float x0 = (group[j] - min) * id;
            const int q = static_cast<int>(x0 + 0.5f);
            codes[j] = static_cast<uint8_t>(q < kQ4MaxCode ? q : kQ4MaxCode);
        }
    }
};

}  // namespace

std::unique_ptr<GroupCodec> MakeGgufQ8_0Codec() {
    return std::make_unique<Q8_0Codec>();
}

std::unique_ptr<GroupCodec> MakeGgufQ4_0Codec() {
    return std::make_unique<Q4_0Codec>();
}

std::unique_ptr<GroupCodec> MakeGgufQ4_1Codec() {
    return std::make_unique<Q4_1Codec>();
}

}  // namespace tenpak::quant
