// nf4 / fp4: bitsandbytes' blockwise 4-bit quantization ([bitsandbytes] functional.py
// quantize_4bit, csrc/kernels.cu kQuantizeBlockwise; shared/formats.md D.1). NF4 is from the
// QLoRA paper (Dettmers et al. 2023, section 3, "4-bit NormalFloat").
//
// Blocks of `blocksize` consecutive elements of the row-major flattening (they may straddle rows;
// the last may be short). Per block: absmax = max |w|; x = w * (1 / absmax); code = the index of
// the nearest table value (ties to the lower code, as the CUDA kernel's `x > threshold`). FP4
// takes the nearest magnitude and sets the sign bit 3 when x < 0. Like the CUDA kernel we multiply
// by the reciprocal rather than divide; x is then within an ulp of w / absmax, so no clamp to
// [-1, 1] is needed (nearest of 1 + ulp is still the table's 1). A block of zeros has absmax 0;
// its reciprocal is taken as 0 (bitsandbytes would compute 0 * inf = NaN), so x = 0 and the codes
// are the table's 0 (nf4 7, fp4 0).
//
// Double quantization ("compress_statistics", QLoRA section 3 "Double Quantization") quantizes
// the absmax values once more, after the 4-bit codes are fixed from the original ones, as
// bitsandbytes does: offset = mean(absmax); a = absmax - offset in blocks of 256;
// nested_absmax = max |a| per block; code = nearest DynamicMap8 value of a / nested_absmax.
// Loaders read the offset, nested_absmax and the map from the file, so the offset's last bits
// (ours: a double-precision mean; torch: a float32 one) only move which codes are chosen.
#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>
#include <vector>

#include "quant/blockwise.h"
#include "quant/group_math.h"
#include "quant/nearest16.h"
#include "tenpak/core/check.h"

namespace tenpak::quant {

using quantformat::DoubleQuant;
using quantformat::DynamicMap8;
using quantformat::Fp4Table;
using quantformat::Nf4Table;
using quantformat::QuantizedTensor;

namespace {

constexpr int64_t kNestedBlock = 256;  // bitsandbytes' fixed block size for the absmax statistics
constexpr size_t kFp4Magnitudes = 8;  // codes 0..7; bit 3 is the sign
constexpr uint8_t kFp4SignBit = 8;

float Reciprocal(float absmax) {
    return absmax > 0.0f ? 1.0f / absmax : 0.0f;
}

// The parameter fit both 4-bit codecs share: the block absmax, stored in F32 as is.
GroupParams FitAbsmax(const GroupStats& stats) {
    const float absmax = stats.absmax();
    return {absmax, 0.0f, absmax, 0.0f};
}

// The magnitudes of FP4 codes 0..7 sorted ascending are those of codes 0, 1, 6, 7, 4, 5, 2, 3, so
// code = rank ^ ((rank & 2) << 1): bits 0 and 1 are the rank's, bit 2 is rank bit 2 XOR rank bit 1.
// EncodeFp4 computes it from the rank's bits instead of a lookup (which would stop the loop from
// vectorising); Fp4Codec checks the rule against the table.
int Fp4RankToCode(int rank) {
    return rank ^ ((rank & 2) << 1);
}

TP_QUANT_MULTIVERSION
void EncodeFp4(const float* x, size_t n, float inv, const float (&fp4_mid)[kFp4Magnitudes - 1], uint8_t* codes) {
    float mid[kFp4Magnitudes - 1];
    std::copy(std::begin(fp4_mid), std::end(fp4_mid), mid);
    for (size_t i = 0; i < n; ++i) {
        const float v = x[i] * inv;
        const Index8Bits rank = NearestOf8(mid, std::fabs(v));
        const float bit2 = std::fabs(rank.b2 - rank.b1);
        const float sign = v < 0.0f ? static_cast<float>(kFp4SignBit) : 0.0f;
        codes[i] = static_cast<uint8_t>(static_cast<int32_t>(sign + bit2 * 4.0f + rank.b1 * 2.0f + rank.b0));
    }
}

CodecInfo Bnb4Info(quantformat::Scheme scheme) {
    return {4, scheme, /*symmetric=*/true, /*has_zeros=*/false, /*groups_span_rows=*/true, "block"};
}

class Nf4Codec final : public GroupCodec {
public:
    Nf4Codec() : table_(Nf4Table()) {}  // NF4 is sorted ascending by code

    CodecInfo info() const override { return Bnb4Info(quantformat::Scheme::kNf4); }
    GroupParams Fit(std::span<const float>, const GroupStats& stats) const override { return FitAbsmax(stats); }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        EncodeNearestOf16(group.data(), group.size(), Reciprocal(params.encode_scale), table_, codes);
    }

private:
    Nearest16Table table_;
};

class Fp4Codec final : public GroupCodec {
public:
    Fp4Codec() {
        const std::array<float, 16>& table = Fp4Table();
        float sorted[kFp4Magnitudes];
        for (size_t rank = 0; rank < kFp4Magnitudes; ++rank) {
            sorted[rank] = table[Fp4RankToCode(static_cast<int>(rank))];
            TP_CHECK(rank == 0 || sorted[rank] > sorted[rank - 1]);
        }
        for (size_t i = 0; i + 1 < kFp4Magnitudes; ++i) mid_[i] = (sorted[i] + sorted[i + 1]) / 2.0f;
    }

    CodecInfo info() const override { return Bnb4Info(quantformat::Scheme::kFp4); }
    GroupParams Fit(std::span<const float>, const GroupStats& stats) const override { return FitAbsmax(stats); }

    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        EncodeFp4(group.data(), group.size(), Reciprocal(params.encode_scale), mid_, codes);
    }

private:
    float mid_[kFp4Magnitudes - 1];
};

// The 255 midpoints between consecutive DynamicMap8 values, ascending, padded with +Inf to 256.
const std::array<float, 256>& DynamicMap8Midpoints() {
    static const std::array<float, 256> mid = [] {
        const std::array<float, 256>& map = DynamicMap8();
        std::array<float, 256> m{};
        for (size_t i = 0; i + 1 < m.size(); ++i) m[i] = (map[i] + map[i + 1]) / 2.0f;
        m.back() = std::numeric_limits<float>::infinity();
        return m;
    }();
    return mid;
}

// Index of the DynamicMap8 value nearest to each x[i] (ties to the lower index): the number of
// midpoints below x[i], i.e. std::lower_bound over the midpoints, as a branch-free binary search
// run for all values at once (one compare per bit of the index, a gather where the target has one;
// the +Inf pad is never below x). Double quantization does this once per 4-bit block, and a
// lower_bound per value, with its unpredictable branches, was a tenth of nf4's time.
TP_QUANT_MULTIVERSION
void NearestDynamicMap8(const float* mid, const float* x, size_t n, uint32_t* index) {
    for (size_t i = 0; i < n; ++i) index[i] = 0;
    for (uint32_t step = 128; step > 0; step /= 2) {
        for (size_t i = 0; i < n; ++i) index[i] += mid[index[i] + step - 1] < x[i] ? step : 0u;
    }
}

}  // namespace

std::unique_ptr<GroupCodec> MakeNf4Codec() {
    return std::make_unique<Nf4Codec>();
}

std::unique_ptr<GroupCodec> MakeFp4Codec() {
    return std::make_unique<Fp4Codec>();
}

void DoubleQuantize(QuantizedTensor& q) {
    const size_t blocks = q.scales.size();
    TP_CHECK(blocks > 0);
    double sum = 0.0;
    for (float a : q.scales) sum += a;
    DoubleQuant dq;
    dq.offset = static_cast<float>(sum / static_cast<double>(blocks));
    dq.nested_block = kNestedBlock;
    dq.codes.resize(blocks);
    const size_t nested = (blocks + kNestedBlock - 1) / kNestedBlock;
    dq.nested_absmax.resize(nested);
    const std::array<float, 256>& map = DynamicMap8();
    const std::array<float, 256>& mid = DynamicMap8Midpoints();
    std::vector<float> centered(kNestedBlock);
    std::vector<float> scaled(kNestedBlock);
    std::vector<uint32_t> codes(kNestedBlock);
    for (size_t n = 0; n < nested; ++n) {
        const size_t begin = n * kNestedBlock;
        const size_t count = std::min<size_t>(kNestedBlock, blocks - begin);
        for (size_t i = 0; i < count; ++i) centered[i] = q.scales[begin + i] - dq.offset;
        const float nested_absmax = FindGroupStats(centered.data(), count).absmax();
        const float inv = Reciprocal(nested_absmax);
        dq.nested_absmax[n] = nested_absmax;
        for (size_t i = 0; i < count; ++i) scaled[i] = centered[i] * inv;
        NearestDynamicMap8(mid.data(), scaled.data(), count, codes.data());
        for (size_t i = 0; i < count; ++i) {
            const auto code = static_cast<uint8_t>(codes[i]);
            dq.codes[begin + i] = code;
            q.scales[begin + i] = map[code] * nested_absmax + dq.offset;
        }
    }
    q.double_quant = std::move(dq);
}

}  // namespace tenpak::quant
