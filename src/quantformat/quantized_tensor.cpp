#include "tenpak/quantformat/quantized_tensor.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "tenpak/core/check.h"

namespace tenpak::quantformat {

std::string_view SchemeName(Scheme scheme) {
    switch (scheme) {
        case Scheme::kAffine:
            return "affine";
        case Scheme::kAffineMin:
            return "affine-min";
        case Scheme::kNf4:
            return "nf4";
        case Scheme::kFp4:
            return "fp4";
        case Scheme::kInt8Absmax:
            return "int8-absmax";
    }
    return "unknown";
}

namespace {

bool IsTableScheme(Scheme scheme) {
    return scheme == Scheme::kNf4 || scheme == Scheme::kFp4;
}

bool HasZeros(Scheme scheme) {
    return scheme == Scheme::kAffine || scheme == Scheme::kAffineMin;
}

Status Invalid(const std::string& what) {
    return Status::InvalidArgument("quantized tensor: " + what);
}

}  // namespace

int64_t QuantizedTensor::groups() const {
    if (group_size <= 0) return 0;
    if (IsTableScheme(scheme)) return (rows * cols + group_size - 1) / group_size;
    return cols / group_size;
}

int64_t QuantizedTensor::GroupIndex(int64_t row, int64_t col) const {
    if (IsTableScheme(scheme)) return (row * cols + col) / group_size;
    const int64_t g = g_idx.empty() ? col / group_size : g_idx[static_cast<size_t>(col)];
    return row * groups() + g;
}

Status Validate(const QuantizedTensor& q) {
    if (q.rows <= 0 || q.cols <= 0) {
        return Invalid("shape " + std::to_string(q.rows) + " x " + std::to_string(q.cols) + " is empty");
    }
    if (q.bits != 2 && q.bits != 3 && q.bits != 4 && q.bits != 8) {
        return Invalid(std::to_string(q.bits) + " bits (supported: 2, 3, 4, 8)");
    }
    if (IsTableScheme(q.scheme) && q.bits != 4) return Invalid("nf4/fp4 codes have 4 bits");
    if (q.scheme == Scheme::kInt8Absmax && (q.bits != 8 || q.group_size != q.cols)) {
        return Invalid("int8-absmax has 8 bits and one group per row");
    }
    if (q.group_size <= 0) return Invalid("group size " + std::to_string(q.group_size) + " is not positive");
    if (!IsTableScheme(q.scheme) && q.cols % q.group_size != 0) {
        return Invalid("input size " + std::to_string(q.cols) + " is not a multiple of the group size " +
                       std::to_string(q.group_size));
    }
    const uint64_t elements = static_cast<uint64_t>(q.rows) * static_cast<uint64_t>(q.cols);
    if (q.codes.size() != elements) {
        return Invalid(std::to_string(q.codes.size()) + " codes for " + std::to_string(elements) + " weights");
    }
    // The largest code first (a reduction the compiler vectorises), then the message.
    const unsigned limit = 1u << q.bits;
    uint8_t largest = 0;
    for (uint8_t code : q.codes) largest = std::max(largest, code);
    if (largest >= limit) {
        return Invalid("code " + std::to_string(largest) + " does not fit in " + std::to_string(q.bits) + " bits");
    }
    const uint64_t scale_count =
        IsTableScheme(q.scheme) ? static_cast<uint64_t>(q.groups()) : static_cast<uint64_t>(q.rows) * q.groups();
    if (q.scales.size() != scale_count) {
        return Invalid(std::to_string(q.scales.size()) + " scales, expected " + std::to_string(scale_count));
    }
    if (HasZeros(q.scheme) ? q.zeros.size() != scale_count : !q.zeros.empty()) {
        return Invalid(std::to_string(q.zeros.size()) + " zeros for scheme " + std::string(SchemeName(q.scheme)));
    }
    if (!q.g_idx.empty()) {
        if (q.scheme != Scheme::kAffine) return Invalid("g_idx (act-order) only goes with the affine scheme");
        if (q.g_idx.size() != static_cast<size_t>(q.cols)) {
            return Invalid("g_idx has " + std::to_string(q.g_idx.size()) + " entries for " + std::to_string(q.cols) +
                           " input columns");
        }
        for (int32_t g : q.g_idx) {
            if (g < 0 || g >= q.groups()) {
                return Invalid("g_idx entry " + std::to_string(g) + " is outside 0.." + std::to_string(q.groups() - 1));
            }
        }
    }
    if (q.double_quant) {
        if (!IsTableScheme(q.scheme)) return Invalid("double quantization only goes with nf4/fp4");
        const DoubleQuant& dq = *q.double_quant;
        if (dq.nested_block <= 0) return Invalid("double-quant block size is not positive");
        const uint64_t blocks = static_cast<uint64_t>(q.groups());
        const uint64_t nested = (blocks + dq.nested_block - 1) / dq.nested_block;
        if (dq.codes.size() != blocks || dq.nested_absmax.size() != nested) {
            return Invalid("double quantization has " + std::to_string(dq.codes.size()) + " codes and " +
                           std::to_string(dq.nested_absmax.size()) + " nested absmax values, expected " +
                           std::to_string(blocks) + " and " + std::to_string(nested));
        }
    }
    if (q.super_blocks) {
        if (q.scheme != Scheme::kAffine && q.scheme != Scheme::kAffineMin) {
            return Invalid("super-blocks (k-quants) only go with the affine schemes");
        }
        const SuperBlocks& sb = *q.super_blocks;
        const int64_t per = sb.groups_per_super_block;
        if (per <= 0 || q.groups() % per != 0) {
            return Invalid(std::to_string(q.groups()) + " groups per row do not make whole super-blocks of " +
                           std::to_string(per));
        }
        const size_t groups = q.scales.size();
        const size_t blocks = groups / static_cast<size_t>(per);
        const bool with_min = q.scheme == Scheme::kAffineMin;
        if (sb.scale_codes.size() != groups || sb.d.size() != blocks ||
            sb.min_codes.size() != (with_min ? groups : 0) || sb.dmin.size() != (with_min ? blocks : 0)) {
            return Invalid("super-blocks hold " + std::to_string(sb.d.size()) + " factors and " +
                           std::to_string(sb.scale_codes.size()) + " scale codes (" + std::to_string(sb.dmin.size()) +
                           " and " + std::to_string(sb.min_codes.size()) + " for minimums), expected " +
                           std::to_string(blocks) + " and " + std::to_string(groups) +
                           (with_min ? " for both" : " (none for minimums)"));
        }
    }
    return Status::Ok();
}

void Dequantize(const QuantizedTensor& q, std::span<float> out) {
    TP_CHECK(out.size() == q.codes.size());
    for (int64_t r = 0; r < q.rows; ++r) {
        for (int64_t c = 0; c < q.cols; ++c) {
            const size_t at = static_cast<size_t>(r * q.cols + c);
            const size_t g = static_cast<size_t>(q.GroupIndex(r, c));
            const float code = static_cast<float>(q.codes[at]);
            float value = 0.0f;
            switch (q.scheme) {
                case Scheme::kAffine:
                    value = q.scales[g] * (code - q.zeros[g]);
                    break;
                case Scheme::kAffineMin:
                    value = q.scales[g] * code + q.zeros[g];
                    break;
                case Scheme::kNf4:
                    value = Nf4Table()[q.codes[at]] * q.scales[g];
                    break;
                case Scheme::kFp4:
                    value = Fp4Table()[q.codes[at]] * q.scales[g];
                    break;
                case Scheme::kInt8Absmax:
                    value = (code - 128.0f) * q.scales[g] / 127.0f;
                    break;
            }
            out[at] = value;
        }
    }
}

const std::array<float, 16>& Nf4Table() {
    // bitsandbytes functional.py get_4bit_type("nf4"); shared/formats.md D.1.
    static const std::array<float, 16> table = {
        -1.0f,
        -0.6961928009986877f,
        -0.5250730514526367f,
        -0.39491748809814453f,
        -0.28444138169288635f,
        -0.18477343022823334f,
        -0.09105003625154495f,
        0.0f,
        0.07958029955625534f,
        0.16093020141124725f,
        0.24611230194568634f,
        0.33791524171829224f,
        0.44070982933044434f,
        0.5626170039176941f,
        0.7229568362236023f,
        1.0f,
    };
    return table;
}

const std::array<float, 16>& Fp4Table() {
    // Sign bit 3, two exponent bits, one mantissa bit: magnitudes {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12
    // for codes 0..7, the same negated for 8..15 (formats.md D.1).
    static const std::array<float, 16> table = [] {
        const float magnitude[8] = {0.0f, 0.0625f, 8.0f, 12.0f, 4.0f, 6.0f, 2.0f, 3.0f};
        std::array<float, 16> t{};
        for (int i = 0; i < 8; ++i) {
            t[i] = magnitude[i] / 12.0f;
            t[i + 8] = -magnitude[i] / 12.0f;
        }
        return t;
    }();
    return table;
}

const std::array<float, 256>& DynamicMap8() {
    // bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for exponent
    // i = 0..6, the midpoints of linspace(0.1, 1, 2^i + 1) scaled by 10^(i - 6), with both signs;
    // then 0 and 1.0; sorted ascending (formats.md D.1). The arithmetic follows torch's float32
    // linspace kernel, which counts the first half from the start and the second half back from the
    // end. Loaders read the serialized map, so only the codes we choose depend on these last bits.
    static const std::array<float, 256> map = [] {
        std::vector<float> values;
        for (int i = 0; i < 7; ++i) {
            const int boundaries = (1 << i) + 1;
            const float step = (1.0f - 0.1f) / static_cast<float>(boundaries - 1);
            std::vector<float> lin(static_cast<size_t>(boundaries));
            for (int k = 0; k < boundaries; ++k) {
                lin[static_cast<size_t>(k)] = k < boundaries / 2 ? 0.1f + step * static_cast<float>(k)
                                                                 : 1.0f - step * static_cast<float>(boundaries - k - 1);
            }
            const float scale = static_cast<float>(std::pow(10.0, i - 6));
            for (int k = 0; k + 1 < boundaries; ++k) {
                const float mean = (lin[static_cast<size_t>(k)] + lin[static_cast<size_t>(k) + 1]) / 2.0f;
                values.push_back(scale * mean);
                values.push_back(-scale * mean);
            }
        }
        values.push_back(0.0f);
        values.push_back(1.0f);
        std::sort(values.begin(), values.end());
        std::array<float, 256> out{};
        TP_CHECK(values.size() == out.size());
        std::copy(values.begin(), values.end(), out.begin());
        return out;
    }();
    return map;
}

}  // namespace tenpak::quantformat
