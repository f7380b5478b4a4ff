// The scalar reference of the packed-weight products: the spec the vector kernels are tested against.
//
// What it computes, exactly (tenpak/kernels/packed.h has the layout):
//   value(r, c) = fma(scale, code, offset)   affine (offset 0 when `offsets` is nullptr)
//               = table[code] * scale        lookup table
//   y[r]: s = 0; for c = 0 .. cols-1: s = fma(value(r, c), x[column_order[c]], s)
// Each value is rounded once to F32, and DequantizeRows writes exactly these values, so prefill
// (sgemm on dequantized tiles) multiplies the same numbers this reference does.
//
// The file also holds the reference PackedKernelTable (TENPAK_KERNELS=ref): the block walk of
// packed_internal.h with a plain scalar decoder. It computes the same values but sums them in the
// walk's order (two partial sums), so it is tested against the sum above like the vector tables.
#include <cmath>
#include <vector>

#include "kernels/packed_internal.h"
#include "tenpak/core/check.h"

namespace tenpak::kernels {
namespace {

// Code of column c in a row of kBits-bit codes; the lower column is in the lower bits of a byte.
template <int kBits>
unsigned CodeAt(const uint8_t* row, size_t c) {
    constexpr size_t kPerByte = 8 / kBits;
    constexpr unsigned kMask = (1u << kBits) - 1;
    return (row[c / kPerByte] >> (kBits * (c % kPerByte))) & kMask;
}

template <int kBits>
void DequantizeRow(const PackedMatrix& w, size_t r, float* out) {
    const auto cols = static_cast<size_t>(w.cols);
    const auto group = static_cast<size_t>(w.group);
    const size_t groups = cols / group;
    const uint8_t* row = w.codes + r * cols * kBits / 8;
    for (size_t g = 0; g < groups; ++g) {
        const float scale = w.scales[r * groups + g];
        if (w.table != nullptr) {
            for (size_t c = g * group; c < (g + 1) * group; ++c) out[c] = w.table[CodeAt<kBits>(row, c)] * scale;
        } else if constexpr (kBits <= 4) {
            // The group's 2^bits values once, then a lookup per weight: the same fma results, without
            // an fma per weight (this file is built for the baseline ISA, where std::fma is a call).
            const float offset = w.offsets != nullptr ? w.offsets[r * groups + g] : 0.0f;
            float values[1 << kBits];
            for (unsigned q = 0; q < (1u << kBits); ++q) values[q] = std::fma(scale, static_cast<float>(q), offset);
            for (size_t c = g * group; c < (g + 1) * group; ++c) out[c] = values[CodeAt<kBits>(row, c)];
        } else {
            const float offset = w.offsets != nullptr ? w.offsets[r * groups + g] : 0.0f;
            for (size_t c = g * group; c < (g + 1) * group; ++c) {
                out[c] = std::fma(scale, static_cast<float>(CodeAt<kBits>(row, c)), offset);
            }
        }
    }
}

// The reference table's decoder: one block of codes, each value computed as DequantizeRow does,
// multiplied and summed left to right.
template <int kBitsT, bool kTable>
class ScalarDecoder {
public:
    static constexpr int kBits = kBitsT;
    static constexpr size_t kBlockCols = kPackedBlock;
    using Acc = float;
    using Vec = float;

    explicit ScalarDecoder(const float* lut) : lut_(lut) {}
    void SetGroup(float scale, float offset) {
        scale_ = scale;
        offset_ = offset;
    }
    Acc Zero() const { return 0.0f; }
    void Accumulate(const uint8_t* codes, const float* xa, Acc& acc) const {
        for (size_t j = 0; j < kPackedBlock; ++j) {
            const float code_value = lut_[CodeAt<kBits>(codes, j)];  // the code itself for affine codes
            const float value = kTable ? code_value * scale_ : std::fma(scale_, code_value, offset_);
            acc = std::fma(value, xa[j], acc);
        }
    }
    Vec Collapse(Acc acc) const { return acc; }
    Vec Add(Vec a, Vec b) const { return a + b; }
    float Sum(Vec v) const { return v; }

private:
    const float* lut_;
    float scale_ = 0.0f;
    float offset_ = 0.0f;
};

template <int kBits, bool kTable>
constexpr PackedRowKernel kScalarRows = {PackedRowsOf<ScalarDecoder<kBits, kTable>>, IdentityOrder()};

void DequantizeRowUnchecked(const PackedMatrix& w, size_t r, float* out) {
    switch (w.bits) {
        case 2:
            return DequantizeRow<2>(w, r, out);
        case 4:
            return DequantizeRow<4>(w, r, out);
        default:
            return DequantizeRow<8>(w, r, out);
    }
}

}  // namespace

void DequantizeRows(const PackedMatrix& w, int64_t row_begin, int64_t row_end, float* out) {
    CheckPackedMatrix(w);
    TP_CHECK(0 <= row_begin && row_begin <= row_end && row_end <= w.rows);
    const auto cols = static_cast<size_t>(w.cols);
    for (auto r = static_cast<size_t>(row_begin); r < static_cast<size_t>(row_end); ++r) {
        DequantizeRowUnchecked(w, r, out + (r - static_cast<size_t>(row_begin)) * cols);
    }
}

void PackedMatVecRef(const PackedMatrix& w, const float* x, float* y) {
    CheckPackedMatrix(w);
    const auto cols = static_cast<size_t>(w.cols);
    std::vector<float> values(cols);
    for (size_t r = 0; r < static_cast<size_t>(w.rows); ++r) {
        DequantizeRowUnchecked(w, r, values.data());
        float sum = 0.0f;
        for (size_t c = 0; c < cols; ++c) {
            const size_t from = w.column_order != nullptr ? static_cast<size_t>(w.column_order[c]) : c;
            sum = std::fma(values[c], x[from], sum);
        }
        y[r] = sum;
    }
}

// The scalar walk has no wide decoder: `wide` repeats `kernels`, `wide64` is empty.
const PackedKernelTable kPackedKernelsRef = {
    Isa::kRef,
    {
        {kScalarRows<2, false>, kScalarRows<2, true>},
        {kScalarRows<4, false>, kScalarRows<4, true>},
        {kScalarRows<8, false>, kScalarRows<8, true>},
    },
    {
        {kScalarRows<2, false>, kScalarRows<2, true>},
        {kScalarRows<4, false>, kScalarRows<4, true>},
        {kScalarRows<8, false>, kScalarRows<8, true>},
    },
    {},
};

}  // namespace tenpak::kernels
