// Decode of packed codes with AVX2 + FMA: one 32-column block as four 8-lane vectors of values,
// multiplied with x' into four partial sums. The walk over rows, groups and blocks is
// packed_internal.h's.
//
// Each 8 bytes of codes are zero-extended to 8 lanes, one byte per lane. vpermps looks up 8 entries
// by the low 3 bits of each lane: enough for 2-bit codes (the lookup repeats every 4 entries, so
// the next code's bit above does not matter), whose lookup is scaled once per group so that a
// value costs one vpermps. 4-bit table codes take two lookups and a blend on bit 3; affine 4-bit
// codes are masked, converted and scaled with one fma instead (three operations where the lookup
// takes four). 8-bit codes are converted and scaled (affine) or gathered from the 256-entry table
// and scaled (table). Every value is rounded once, as in the reference.
//
// Each lane decodes the codes it finds where its byte lands, so the columns of a block come out in
// an order of the decoder's own; x' is stored in that order once per call (the `order` tables).
#include <immintrin.h>

#include <array>

#include "kernels/packed_internal.h"

namespace tenpak::kernels {
namespace {

constexpr size_t kVecLanes = 8;
constexpr size_t kVectors = kPackedBlock / kVecLanes;

// The parts every 8-lane decoder shares: four partial sums per block, one per vector.
class Decoder256 {
public:
    struct Acc {
        __m256 v[kVectors];
    };
    using Vec = __m256;
    static constexpr size_t kBlockCols = kPackedBlock;

    Acc Zero() const { return {{_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}}; }
    Vec Collapse(const Acc& acc) const {
        return _mm256_add_ps(_mm256_add_ps(acc.v[0], acc.v[1]), _mm256_add_ps(acc.v[2], acc.v[3]));
    }
    Vec Add(Vec a, Vec b) const { return _mm256_add_ps(a, b); }
    float Sum(Vec v) const {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }

protected:
    // acc.v[i] += values * x' for vector i of a block.
    static void AddVector(size_t i, __m256 values, const float* xa, Acc& acc) {
        acc.v[i] = _mm256_fmadd_ps(values, _mm256_loadu_ps(xa + i * kVecLanes), acc.v[i]);
    }
};

// 8 bytes -> lanes 0..7 hold bytes 0..7.
__m256i WidenBytes(const uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// An 8-entry piece of the lookup, scaled for the current group: fma(scale, lut, offset) for affine
// codes (lut is the identity), lut * scale for a table.
template <bool kTable>
class ScaledLut256 {
public:
    explicit ScaledLut256(const float* lut) : lut_(_mm256_loadu_ps(lut)), values_(lut_) {}
    void Set(__m256 scale, __m256 offset) {
        values_ = kTable ? _mm256_mul_ps(lut_, scale) : _mm256_fmadd_ps(scale, lut_, offset);
    }
    // The entry picked by the low 3 bits of each lane.
    __m256 Values(__m256i index) const { return _mm256_permutevar8x32_ps(values_, index); }

private:
    __m256 lut_;
    __m256 values_;
};

// Block of 8 bytes: lane k holds byte k (columns 4k .. 4k+3); vector s takes it shifted by 2s bits,
// so slot 8s + k of x' is column 4k + s.
template <bool kTable>
class Crumbs256 : public Decoder256 {
public:
    static constexpr int kBits = 2;
    explicit Crumbs256(const float* lut) : lut_(lut) {}
    void SetGroup(float scale, float offset) { lut_.Set(_mm256_set1_ps(scale), _mm256_set1_ps(offset)); }
    void Accumulate(const uint8_t* codes, const float* xa, Acc& acc) const {
        const __m256i bytes = WidenBytes(codes);
        AddVector(0, lut_.Values(bytes), xa, acc);
        AddVector(1, lut_.Values(_mm256_srli_epi32(bytes, 2)), xa, acc);
        AddVector(2, lut_.Values(_mm256_srli_epi32(bytes, 4)), xa, acc);
        AddVector(3, lut_.Values(_mm256_srli_epi32(bytes, 6)), xa, acc);
    }

private:
    ScaledLut256<kTable> lut_;  // the first 8 entries of the 16-entry lookup
};

consteval std::array<uint8_t, kPackedBlock> CrumbOrder() {
    std::array<uint8_t, kPackedBlock> order{};
    for (size_t s = 0; s < kVectors; ++s) {
        for (size_t k = 0; k < kVecLanes; ++k) order[kVecLanes * s + k] = static_cast<uint8_t>(4 * k + s);
    }
    return order;
}

// Block of 16 bytes, 8 at a time (h = 0, 1): lane k holds byte 8h + k (columns 16h + 2k and
// 16h + 2k + 1), so slot 16h + k of x' is column 16h + 2k and slot 16h + 8 + k column 16h + 2k + 1.
template <bool kTable>
class Nibbles256 : public Decoder256 {
public:
    static constexpr int kBits = 4;
    explicit Nibbles256(const float* lut) : lut_lo_(lut), lut_hi_(lut + kVecLanes) {}
    void SetGroup(float scale, float offset) {
        scale_ = _mm256_set1_ps(scale);
        offset_ = _mm256_set1_ps(offset);
        if constexpr (kTable) {
            lut_lo_.Set(scale_, offset_);
            lut_hi_.Set(scale_, offset_);
        }
    }
    void Accumulate(const uint8_t* codes, const float* xa, Acc& acc) const {
        for (size_t h = 0; h < 2; ++h) {
            const __m256i bytes = WidenBytes(codes + kVecLanes * h);
            AddVector(2 * h, Values(bytes), xa, acc);
            AddVector(2 * h + 1, Values(_mm256_srli_epi32(bytes, 4)), xa, acc);
        }
    }

private:
    // The value of the nibble in the low 4 bits of each lane (bits above it are ignored).
    __m256 Values(__m256i index) const {
        if constexpr (kTable) {
            // vpermps uses bits 0-2; bit 3, moved to the sign bit, picks the upper half.
            return _mm256_blendv_ps(lut_lo_.Values(index), lut_hi_.Values(index),
                                    _mm256_castsi256_ps(_mm256_slli_epi32(index, 28)));
        } else {
            const __m256 code = _mm256_cvtepi32_ps(_mm256_and_si256(index, _mm256_set1_epi32(0xF)));
            return _mm256_fmadd_ps(scale_, code, offset_);
        }
    }
    ScaledLut256<kTable> lut_lo_;
    ScaledLut256<kTable> lut_hi_;
    __m256 scale_ = _mm256_setzero_ps();
    __m256 offset_ = _mm256_setzero_ps();
};

consteval std::array<uint8_t, kPackedBlock> NibbleOrder() {
    std::array<uint8_t, kPackedBlock> order{};
    for (size_t h = 0; h < 2; ++h) {
        for (size_t k = 0; k < kVecLanes; ++k) {
            order[16 * h + k] = static_cast<uint8_t>(16 * h + 2 * k);
            order[16 * h + kVecLanes + k] = static_cast<uint8_t>(16 * h + 2 * k + 1);
        }
    }
    return order;
}

// Blocks of 32 bytes in column order. The code is converted (affine: fma(scale, code, offset)) or
// gathered from the 256-entry table (times scale).
template <bool kTable>
class Bytes256 : public Decoder256 {
public:
    static constexpr int kBits = 8;
    explicit Bytes256(const float* lut) : lut_(lut) {}
    void SetGroup(float scale, float offset) {
        scale_ = _mm256_set1_ps(scale);
        offset_ = _mm256_set1_ps(offset);
    }
    void Accumulate(const uint8_t* codes, const float* xa, Acc& acc) const {
        for (size_t i = 0; i < kVectors; ++i) AddVector(i, Values(WidenBytes(codes + kVecLanes * i)), xa, acc);
    }

private:
    __m256 Values(__m256i index) const {
        if constexpr (kTable) {
            return _mm256_mul_ps(_mm256_i32gather_ps(lut_, index, sizeof(float)), scale_);
        } else {
            return _mm256_fmadd_ps(scale_, _mm256_cvtepi32_ps(index), offset_);
        }
    }
    const float* lut_;
    __m256 scale_ = _mm256_setzero_ps();
    __m256 offset_ = _mm256_setzero_ps();
};

template <template <bool> class Decoder, bool kTable>
constexpr PackedRowKernel Kernel(const PackedOrder& order) {
    return {PackedRowsOf<Decoder<kTable>>, order};
}

constexpr PackedOrder kCrumbOrder = TiledOrder(CrumbOrder());
constexpr PackedOrder kNibbleOrder = TiledOrder(NibbleOrder());
constexpr PackedOrder kByteOrder = IdentityOrder();

}  // namespace

// No wide decoders: `wide` repeats `kernels`, `wide64` is empty.
const PackedKernelTable kPackedKernelsAvx2 = {
    Isa::kAvx2,
    {
        {Kernel<Crumbs256, false>(kCrumbOrder), Kernel<Crumbs256, true>(kCrumbOrder)},
        {Kernel<Nibbles256, false>(kNibbleOrder), Kernel<Nibbles256, true>(kNibbleOrder)},
        {Kernel<Bytes256, false>(kByteOrder), Kernel<Bytes256, true>(kByteOrder)},
    },
    {
        {Kernel<Crumbs256, false>(kCrumbOrder), Kernel<Crumbs256, true>(kCrumbOrder)},
        {Kernel<Nibbles256, false>(kNibbleOrder), Kernel<Nibbles256, true>(kNibbleOrder)},
        {Kernel<Bytes256, false>(kByteOrder), Kernel<Bytes256, true>(kByteOrder)},
    },
    {},
};

}  // namespace tenpak::kernels
