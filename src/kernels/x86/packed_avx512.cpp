// Decode of packed codes with AVX-512 F/BW/VL/DQ: one 32-column block as two 16-lane vectors of
// values (or a 128- or 64-column wide block as eight or four), multiplied with x' into vector
// partial sums. The walk over rows, groups and blocks is packed_internal.h's.
//
// 2- and 4-bit codes are looked up with vpermps, which reads only the low 4 bits of each lane's
// index: a lane holding a whole byte of codes indexes with its low nibble, so the even columns of a
// 4-bit block need no mask and the odd ones one shift. The lookup is scaled once per group (the
// group's 16 possible values), so a value costs one vpermps: fewer operations than and + convert +
// fma, and one decoder for affine codes and tables. 2-bit lanes carry the next codes above theirs;
// the lookup repeats every 4 entries. 8-bit codes are zero-extended, converted and scaled with one
// fma (affine) or gathered from the 256-entry table and scaled (table).
//
// Wide 4-bit blocks (128 columns, or 64 for groups of 64) and 8-bit codes are decoded 4 rows at a
// time, with a software prefetch of the next 4 rows (PackedRowSetsOf in packed_internal.h);
// 32-column 2- and 4-bit blocks one row at a time (PackedRowsOf).
//
// Each lane decodes the codes it finds where its byte lands, so the columns of a block come out in
// an order of the decoder's own; x' is stored in that order once per call (the `order` tables).

// GCC 12's AVX-512 headers build "undefined" vectors as `__m512i __Y = __Y;`, which trips
// -Wmaybe-uninitialized once inlined (GCC bug 105593, fixed in GCC 13); see vec_avx512.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <array>
#include <cstring>

#include "kernels/packed_internal.h"

namespace tenpak::kernels {
namespace {

constexpr size_t kVecLanes = 16;

// Rows decoded together (PackedRowSetDot): they share each load of x'. 4 rows of a wide 4-bit
// block keep 4 codes, 4 scaled lookups and 8 partial sums in registers.
constexpr size_t kRowSet = 4;

// Two partial sums per row (vector v of a block goes to v % 2): with kRowSet rows that is 8
// independent fma chains, enough to cover the fma latency.
struct Acc512 {
    __m512 v[2];
};

Acc512 ZeroAcc() {
    return {{_mm512_setzero_ps(), _mm512_setzero_ps()}};
}

float SumAcc(const Acc512& acc) {
    return _mm512_reduce_add_ps(_mm512_add_ps(acc.v[0], acc.v[1]));
}

// The parts of the row-set 4-bit decoders (PackedRowSetsOf): a row's Group is its scaled 16-entry
// lookup, computed as ScaledLut512 does (one rounding per value, as the reference); vpermps turns
// the code in the low 4 bits of each lane into its value (it ignores the bits above).
template <bool kTable>
class Lut16Decoder {
public:
    using Group = __m512;
    using Acc = Acc512;
    static constexpr size_t kRows = kRowSet;

    explicit Lut16Decoder(const float* lut) : lut_(_mm512_loadu_ps(lut)) {}
    Group SetGroup(float scale, float offset) const {
        return kTable ? _mm512_mul_ps(lut_, _mm512_set1_ps(scale))
                      : _mm512_fmadd_ps(_mm512_set1_ps(scale), lut_, _mm512_set1_ps(offset));
    }
    Acc Zero() const { return ZeroAcc(); }
    float Sum(const Acc& acc) const { return SumAcc(acc); }

protected:
    static __m512 Values(__m512i index, Group values) { return _mm512_permutexvar_ps(index, values); }

private:
    __m512 lut_;
};

// The parts the one-row 16-lane decoders (PackedRowsOf) share: two partial sums per block, one
// per vector.
class Decoder512 {
public:
    struct Acc {
        __m512 lo;
        __m512 hi;
    };
    using Vec = __m512;
    static constexpr size_t kBlockCols = kPackedBlock;

    Acc Zero() const { return {_mm512_setzero_ps(), _mm512_setzero_ps()}; }
    Vec Collapse(const Acc& acc) const { return _mm512_add_ps(acc.lo, acc.hi); }
    Vec Add(Vec a, Vec b) const { return _mm512_add_ps(a, b); }
    float Sum(Vec v) const { return _mm512_reduce_add_ps(v); }

protected:
    // acc += values * x' for the two vectors of one block.
    static void AddBlock(__m512 lo, __m512 hi, const float* xa, Acc& acc) {
        acc.lo = _mm512_fmadd_ps(lo, _mm512_loadu_ps(xa), acc.lo);
        acc.hi = _mm512_fmadd_ps(hi, _mm512_loadu_ps(xa + kVecLanes), acc.hi);
    }
};

// The 16-entry lookup of a group's values: fma(scale, lut, offset) for affine codes (lut is the
// identity), lut * scale for a table; each lane rounded once, as the reference rounds each value.
template <bool kTable>
class ScaledLut512 {
public:
    explicit ScaledLut512(const float* lut) : lut_(_mm512_loadu_ps(lut)), values_(lut_) {}
    void Set(float scale, float offset) {
        values_ = kTable ? _mm512_mul_ps(lut_, _mm512_set1_ps(scale))
                         : _mm512_fmadd_ps(_mm512_set1_ps(scale), lut_, _mm512_set1_ps(offset));
    }
    // The value of the code in the low 4 bits of each lane (vpermps ignores the bits above).
    __m512 Values(__m512i index) const { return _mm512_permutexvar_ps(index, values_); }

private:
    __m512 lut_;
    __m512 values_;
};

// 16 bytes -> lanes 0..15 hold bytes 0..15.
__m512i WidenBytes(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Block of 16 bytes: lane k holds byte k (columns 2k, 2k+1): its low nibble indexes as it is, the
// high one after a shift. Slot k of x' is column 2k and slot 16 + k column 2k + 1.
template <bool kTable>
class Nibbles512 : public Decoder512 {
public:
    static constexpr int kBits = 4;
    explicit Nibbles512(const float* lut) : lut_(lut) {}
    void SetGroup(float scale, float offset) { lut_.Set(scale, offset); }
    void Accumulate(const uint8_t* codes, const float* xa, Acc& acc) const {
        const __m512i bytes = WidenBytes(codes);
        AddBlock(lut_.Values(bytes), lut_.Values(_mm512_srli_epi32(bytes, 4)), xa, acc);
    }

private:
    ScaledLut512<kTable> lut_;
};

consteval std::array<uint8_t, kPackedBlock> NibbleOrder() {
    std::array<uint8_t, kPackedBlock> order{};
    for (size_t k = 0; k < kVecLanes; ++k) {
        order[k] = static_cast<uint8_t>(2 * k);
        order[kVecLanes + k] = static_cast<uint8_t>(2 * k + 1);
    }
    return order;
}

// Block of 8 bytes, loaded twice: lanes k and 8 + k hold byte k (columns 4k .. 4k+3), shifted by
// 0 and 2 bits for the first vector, 4 and 6 for the second (the lookup repeats every 4 entries,
// so the codes above do not matter). Slot k + 8h (h = 0, 1) of x' is column 4k + h; slot
// 16 + k + 8h is column 4k + 2 + h.
template <bool kTable>
class Crumbs512 : public Decoder512 {
public:
    static constexpr int kBits = 2;
    explicit Crumbs512(const float* lut)
        : lut_(lut),
          shift_lo_(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0)),
          shift_hi_(_mm512_set_epi32(6, 6, 6, 6, 6, 6, 6, 6, 4, 4, 4, 4, 4, 4, 4, 4)) {}
    void SetGroup(float scale, float offset) { lut_.Set(scale, offset); }
    void Accumulate(const uint8_t* codes, const float* xa, Acc& acc) const {
        long long word;
        std::memcpy(&word, codes, sizeof(word));
        const __m512i bytes = _mm512_cvtepu8_epi32(_mm_set1_epi64x(word));
        AddBlock(lut_.Values(_mm512_srlv_epi32(bytes, shift_lo_)), lut_.Values(_mm512_srlv_epi32(bytes, shift_hi_)), xa,
                 acc);
    }

private:
    ScaledLut512<kTable> lut_;
    __m512i shift_lo_;
    __m512i shift_hi_;
};

consteval std::array<uint8_t, kPackedBlock> CrumbOrder() {
    std::array<uint8_t, kPackedBlock> order{};
    for (size_t h = 0; h < 2; ++h) {
        for (size_t k = 0; k < kVecLanes / 2; ++k) {
            order[k + 8 * h] = static_cast<uint8_t>(4 * k + h);
            order[kVecLanes + k + 8 * h] = static_cast<uint8_t>(4 * k + 2 + h);
        }
    }
    return order;
}

// Wide blocks of 4-bit codes, all columns of one group: lane k holds the kLaneCols codes of columns
// kLaneCols * k .. kLaneCols * k + kLaneCols - 1, and vector v takes it shifted by 4v bits, so slot
// 16v + k of x' is column kLaneCols * k + v.
//   kLaneCols 8: 128 columns, 64 bytes in one load with no widening (lane k holds bytes
//   4k .. 4k+3). Per 128 columns and row: one load, 7 shifts, 8 lookups and 8 fmas (and 8 loads of
//   x' shared by the rows), where four 32-column blocks take 4 widening loads, 4 shifts, 8 lookups
//   and 8 fmas; on Zen 4, one row at a time, that was 3.4 cycles per 32 columns against 4.0 (in L1).
//   kLaneCols 4: 64 columns (bitsandbytes nf4's blocks), 32 bytes widened from 16 to 32 bits (lane
//   k holds bytes 2k, 2k+1): one widening load and 3 shifts per 4 lookups, as a 32-column block
//   takes one per 2, and one scaled lookup per block.
// A lane mixes columns of all of its block, so this serves only groups that are whole wide blocks,
// which share one scaled lookup.
template <size_t kLaneCols, bool kTable>
class WideNibbles512 : public Lut16Decoder<kTable> {
public:
    static constexpr int kBits = 4;
    static constexpr size_t kBlockCols = kLaneCols * kVecLanes;
    using Base = Lut16Decoder<kTable>;
    using Base::Base;
    template <size_t kRows>
    void Accumulate(const uint8_t* const* codes, size_t at, const float* xa, const __m512* groups, Acc512* acc) const {
        __m512i words[kRows];
        for (size_t i = 0; i < kRows; ++i) words[i] = Load(codes[i] + at);
        for (size_t v = 0; v < kLaneCols; ++v) {
            const __m512 x = _mm512_loadu_ps(xa + kVecLanes * v);
            for (size_t i = 0; i < kRows; ++i) {
                const __m512i index = v == 0 ? words[i] : _mm512_srli_epi32(words[i], static_cast<unsigned>(4 * v));
                acc[i].v[v % 2] = _mm512_fmadd_ps(Base::Values(index, groups[i]), x, acc[i].v[v % 2]);
            }
        }
    }

private:
    static __m512i Load(const uint8_t* p) {
        __m512i word;
        if constexpr (kLaneCols == 8) {
            word = _mm512_loadu_si512(p);
        } else {
            static_assert(kLaneCols == 4);
            word = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
        }
        // Opaque to GCC, which would otherwise fold the load into each shift's memory operand:
        // more loads per wide block, and the loads become the bottleneck.
        __asm__("" : "+v"(word));
        return word;
    }
};

template <bool kTable>
using WideNibbles128 = WideNibbles512<8, kTable>;
template <bool kTable>
using WideNibbles64 = WideNibbles512<4, kTable>;

template <size_t kLaneCols>
consteval PackedOrder WideNibbleOrder() {
    constexpr size_t kBlockCols = kLaneCols * kVecLanes;
    PackedOrder order{};
    for (size_t b = 0; b < kPackedWideBlock; b += kBlockCols) {
        for (size_t v = 0; v < kLaneCols; ++v) {
            for (size_t k = 0; k < kVecLanes; ++k) {
                order[b + kVecLanes * v + k] = static_cast<uint8_t>(b + kLaneCols * k + v);
            }
        }
    }
    return order;
}

// Blocks of 32 bytes in column order. The code is converted (affine: fma(scale, code, offset)) or
// gathered from the 256-entry table (times scale).
template <bool kTable>
class Bytes512 {
public:
    static constexpr int kBits = 8;
    static constexpr size_t kBlockCols = kPackedBlock;
    static constexpr size_t kRows = kRowSet;
    struct Group {
        __m512 scale;
        __m512 offset;
    };
    using Acc = Acc512;

    explicit Bytes512(const float* lut) : lut_(lut) {}
    Group SetGroup(float scale, float offset) const { return {_mm512_set1_ps(scale), _mm512_set1_ps(offset)}; }
    Acc Zero() const { return ZeroAcc(); }
    float Sum(const Acc& acc) const { return SumAcc(acc); }
    template <size_t kRows>
    void Accumulate(const uint8_t* const* codes, size_t at, const float* xa, const Group* groups, Acc512* acc) const {
        for (size_t h = 0; h < 2; ++h) {
            const __m512 x = _mm512_loadu_ps(xa + kVecLanes * h);
            for (size_t i = 0; i < kRows; ++i) {
                const __m512 values = Values(WidenBytes(codes[i] + at + kVecLanes * h), groups[i]);
                acc[i].v[h] = _mm512_fmadd_ps(values, x, acc[i].v[h]);
            }
        }
    }

private:
    __m512 Values(__m512i index, const Group& group) const {
        if constexpr (kTable) {
            return _mm512_mul_ps(_mm512_i32gather_ps(index, lut_, sizeof(float)), group.scale);
        } else {
            return _mm512_fmadd_ps(group.scale, _mm512_cvtepi32_ps(index), group.offset);
        }
    }
    const float* lut_;
};

// One row at a time (PackedRowsOf) for 32-column blocks of 2- and 4-bit codes, kRowSet rows with
// prefetch (PackedRowSetsOf) for wide 4-bit blocks and 8-bit codes: for 32-column blocks of 4-bit
// codes (Q4 g32) the row sets measured slower from DRAM (ratio 0.5 - 0.7 against 0.7 - 0.77),
// the more so with a scale (and offset) per row per block; for the others faster.
template <template <bool> class Decoder, bool kTable>
constexpr PackedRowKernel Kernel(const PackedOrder& order) {
    return {PackedRowsOf<Decoder<kTable>>, order};
}

template <template <bool> class Decoder, bool kTable>
constexpr PackedRowKernel SetKernel(const PackedOrder& order) {
    return {PackedRowSetsOf<Decoder<kTable>>, order};
}

constexpr PackedOrder kCrumbOrder = TiledOrder(CrumbOrder());
constexpr PackedOrder kNibbleOrder = TiledOrder(NibbleOrder());
constexpr PackedOrder kWideNibbleOrder = WideNibbleOrder<8>();
constexpr PackedOrder kWide64NibbleOrder = WideNibbleOrder<4>();
constexpr PackedOrder kByteOrder = IdentityOrder();

}  // namespace

// Wide decoders for 4-bit codes only: 2-bit rows stream half the bytes per weight and are bound by
// the decode anyway, 8-bit ones have decode to spare.
const PackedKernelTable kPackedKernelsAvx512 = {
    Isa::kAvx512,
    {
        {Kernel<Crumbs512, false>(kCrumbOrder), Kernel<Crumbs512, true>(kCrumbOrder)},
        {Kernel<Nibbles512, false>(kNibbleOrder), Kernel<Nibbles512, true>(kNibbleOrder)},
        {SetKernel<Bytes512, false>(kByteOrder), SetKernel<Bytes512, true>(kByteOrder)},
    },
    {
        {Kernel<Crumbs512, false>(kCrumbOrder), Kernel<Crumbs512, true>(kCrumbOrder)},
        {SetKernel<WideNibbles128, false>(kWideNibbleOrder), SetKernel<WideNibbles128, true>(kWideNibbleOrder)},
        {SetKernel<Bytes512, false>(kByteOrder), SetKernel<Bytes512, true>(kByteOrder)},
    },
    {
        {},
        {SetKernel<WideNibbles64, false>(kWide64NibbleOrder), SetKernel<WideNibbles64, true>(kWide64NibbleOrder)},
        {},
    },
};

}  // namespace tenpak::kernels
