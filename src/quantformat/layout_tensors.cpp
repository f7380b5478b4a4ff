// Helpers shared by the layout files (layouts_internal.h): building PackedTensors, fetching and
// checking StoredTensors, little-endian loads and stores, and the (groups, N) matrices of GPTQ and AWQ.
#include <bit>
#include <charconv>
#include <cmath>
#include <string>

#include "layouts_internal.h"
#include "tenpak/core/check.h"
#include "tenpak/core/half.h"

namespace tenpak::quantformat::internal {

std::string DTypeLabel(DType dtype) {
    // A stored dtype may be any byte a file or a fuzzer produced; Traits() only knows real ones.
    for (const DTypeTraits& traits : AllDTypes()) {
        if (traits.dtype == dtype) return std::string(traits.name);
    }
    return "unknown dtype #" + std::to_string(static_cast<unsigned>(dtype));
}

std::string ShapeString(std::span<const int64_t> shape) {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ", ";
        out += std::to_string(shape[i]);
    }
    return out + "]";
}

std::string FloatString(float value) {
    char buffer[32];
    const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
}

Status CannotHold(Layout layout, const std::string& what) {
    return Status::InvalidArgument(std::string(LayoutName(layout)) + ": " + what);
}

Status BadTensor(Layout layout, std::string_view suffix, const std::string& what) {
    return Status::Corruption(std::string(LayoutName(layout)) + " tensor '" + std::string(suffix) + "': " + what);
}

PackedTensor NewTensor(std::string suffix, DType dtype, std::vector<int64_t> shape) {
    const Result<uint64_t> size = TensorByteSize(dtype, shape);
    TP_CHECK(size.ok());  // the packers derive shapes from a validated QuantizedTensor
    PackedTensor tensor;
    tensor.suffix = std::move(suffix);
    tensor.dtype = dtype;
    tensor.shape = std::move(shape);
    tensor.bytes.assign(static_cast<size_t>(*size), std::byte{0});
    return tensor;
}

PackedTensor WordsTensor(std::string suffix, std::vector<int64_t> shape, std::span<const uint32_t> words) {
    PackedTensor tensor = NewTensor(std::move(suffix), DType::kI32, std::move(shape));
    TP_CHECK(tensor.bytes.size() == words.size() * sizeof(uint32_t));
    for (size_t i = 0; i < words.size(); ++i) StoreU32(tensor.bytes, i, words[i]);
    return tensor;
}

void StoreU16(std::span<std::byte> bytes, size_t index, uint16_t value) {
    bytes[index * 2] = static_cast<std::byte>(value & 0xFFu);
    bytes[index * 2 + 1] = static_cast<std::byte>(value >> 8);
}

void StoreU32(std::span<std::byte> bytes, size_t index, uint32_t value) {
    for (size_t b = 0; b < sizeof(uint32_t); ++b) {
        bytes[index * sizeof(uint32_t) + b] = static_cast<std::byte>((value >> (8 * b)) & 0xFFu);
    }
}

void StoreF32(std::span<std::byte> bytes, size_t index, float value) {
    StoreU32(bytes, index, std::bit_cast<uint32_t>(value));
}

uint16_t LoadU16(std::span<const std::byte> bytes, size_t index) {
    return static_cast<uint16_t>(std::to_integer<unsigned>(bytes[index * 2]) |
                                 (std::to_integer<unsigned>(bytes[index * 2 + 1]) << 8));
}

uint32_t LoadU32(std::span<const std::byte> bytes, size_t index) {
    uint32_t value = 0;
    for (size_t b = 0; b < sizeof(uint32_t); ++b) {
        value |= std::to_integer<uint32_t>(bytes[index * sizeof(uint32_t) + b]) << (8 * b);
    }
    return value;
}

float LoadF32(std::span<const std::byte> bytes, size_t index) {
    return std::bit_cast<float>(LoadU32(bytes, index));
}

std::vector<uint32_t> LoadWords(std::span<const std::byte> bytes) {
    TP_CHECK(bytes.size() % sizeof(uint32_t) == 0);
    std::vector<uint32_t> words(bytes.size() / sizeof(uint32_t));
    for (size_t i = 0; i < words.size(); ++i) words[i] = LoadU32(bytes, i);
    return words;
}

Result<StoredTensor> FetchTensor(const TensorLookup& lookup, Layout layout, std::string_view suffix, DType dtype,
                                 const std::vector<int64_t>& shape, std::string_view shape_meaning) {
    return CheckTensor(lookup(suffix), layout, suffix, dtype, shape, shape_meaning);
}

Result<StoredTensor> CheckTensor(Result<StoredTensor> found, Layout layout, std::string_view suffix, DType dtype,
                                 const std::vector<int64_t>& shape, std::string_view shape_meaning) {
    if (!found.ok()) {
        return found.status().WithContext(std::string(LayoutName(layout)) + " tensor '" + std::string(suffix) + "'");
    }
    StoredTensor tensor = std::move(found).value();
    if (tensor.dtype != dtype) {
        return BadTensor(layout, suffix,
                         "dtype " + DTypeLabel(tensor.dtype) + ", expected " + std::string(DTypeName(dtype)));
    }
    if (tensor.shape != shape) {
        std::string what = "shape " + ShapeString(tensor.shape) + ", expected " + ShapeString(shape);
        if (!shape_meaning.empty()) what += " " + std::string(shape_meaning);
        return BadTensor(layout, suffix, what);
    }
    const Result<uint64_t> size = TensorByteSize(dtype, shape);
    if (!size.ok() || tensor.bytes.size() != *size) {
        return BadTensor(layout, suffix,
                         std::to_string(tensor.bytes.size()) + " bytes, expected " +
                             (size.ok() ? std::to_string(*size) : size.status().message()) + " for " +
                             std::string(DTypeName(dtype)) + " " + ShapeString(shape));
    }
    return tensor;
}

int64_t ResolveGroupSize(int64_t group_size, int64_t cols) {
    return group_size == -1 ? cols : group_size;
}

PackedTensor GroupMajorF16(std::string suffix, const QuantizedTensor& q) {
    const int64_t groups = q.groups();
    PackedTensor tensor = NewTensor(std::move(suffix), DType::kF16, {groups, q.rows});
    for (int64_t row_idx = 0; row_idx < q.rows; ++row_idx) {
        for (int64_t group_idx = 0; group_idx < groups; ++group_idx) {
            const float scale = q.scales[static_cast<size_t>(row_idx * groups + group_idx)];
            StoreU16(tensor.bytes, static_cast<size_t>(group_idx * q.rows + row_idx), F32ToF16Ref(scale));
        }
    }
    return tensor;
}

void ReadGroupMajorF16(std::span<const std::byte> bytes, QuantizedTensor& q) {
    const int64_t groups = q.groups();
    q.scales.assign(static_cast<size_t>(q.rows * groups), 0.0f);
    for (int64_t row_idx = 0; row_idx < q.rows; ++row_idx) {
        for (int64_t group_idx = 0; group_idx < groups; ++group_idx) {
            const uint16_t half = LoadU16(bytes, static_cast<size_t>(group_idx * q.rows + row_idx));
            q.scales[static_cast<size_t>(row_idx * groups + group_idx)] = F16ToF32Ref(half);
        }
    }
}

Result<std::vector<uint8_t>> GroupMajorZeroFields(Layout layout, const QuantizedTensor& q, int bias,
                                                  std::string_view advice) {
    const int64_t groups = q.groups();
    const float lowest = static_cast<float>(bias);
    const float highest = static_cast<float>(bias + (1 << q.bits) - 1);
    std::vector<uint8_t> fields(q.zeros.size());
    for (int64_t row_idx = 0; row_idx < q.rows; ++row_idx) {
        for (int64_t group_idx = 0; group_idx < groups; ++group_idx) {
            const float zero = q.zeros[static_cast<size_t>(row_idx * groups + group_idx)];
            // The negated test also rejects NaN.
            if (!(zero >= lowest && zero <= highest && std::floor(zero) == zero)) {
                std::string what = "zero point " + FloatString(zero) + " (row " + std::to_string(row_idx) + ", group " +
                                   std::to_string(group_idx) + ") is not a whole number in " + std::to_string(bias) +
                                   ".." + std::to_string(bias + (1 << q.bits) - 1);
                if (!advice.empty()) what += "; " + std::string(advice);
                return CannotHold(layout, what);
            }
            fields[static_cast<size_t>(group_idx * q.rows + row_idx)] = static_cast<uint8_t>(zero - lowest);
        }
    }
    return fields;
}

void SetZerosFromFields(std::span<const uint8_t> fields, int bias, QuantizedTensor& q) {
    const int64_t groups = q.groups();
    q.zeros.assign(static_cast<size_t>(q.rows * groups), 0.0f);
    for (int64_t row_idx = 0; row_idx < q.rows; ++row_idx) {
        for (int64_t group_idx = 0; group_idx < groups; ++group_idx) {
            const uint8_t field = fields[static_cast<size_t>(group_idx * q.rows + row_idx)];
            q.zeros[static_cast<size_t>(row_idx * groups + group_idx)] = static_cast<float>(field + bias);
        }
    }
}

}  // namespace tenpak::quantformat::internal
