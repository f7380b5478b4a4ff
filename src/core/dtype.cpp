#include "tenpak/core/dtype.h"

#include <array>
#include <string>

namespace tenpak {
namespace {

// Sizes from the safetensors README (plain types) and ggml-common.h (block types).
constexpr std::array<DTypeTraits, 27> kTraits = {{
    {DType::kF64, "F64", 1, 8, true, true, 28},
    {DType::kF32, "F32", 1, 4, true, true, 0},
    {DType::kF16, "F16", 1, 2, true, true, 1},
    {DType::kBF16, "BF16", 1, 2, true, true, 30},
    {DType::kI64, "I64", 1, 8, false, true, 27},
    {DType::kI32, "I32", 1, 4, false, true, 26},
    {DType::kI16, "I16", 1, 2, false, true, 25},
    {DType::kI8, "I8", 1, 1, false, true, 24},
    {DType::kU8, "U8", 1, 1, false, true, std::nullopt},
    {DType::kBool, "BOOL", 1, 1, false, true, std::nullopt},
    {DType::kF8E4M3, "F8_E4M3", 1, 1, true, true, std::nullopt},
    {DType::kF8E5M2, "F8_E5M2", 1, 1, true, true, std::nullopt},
    {DType::kU16, "U16", 1, 2, false, true, std::nullopt},
    {DType::kU32, "U32", 1, 4, false, true, std::nullopt},
    {DType::kU64, "U64", 1, 8, false, true, std::nullopt},
    {DType::kQ4_0, "Q4_0", 32, 18, false, false, 2},
    {DType::kQ4_1, "Q4_1", 32, 20, false, false, 3},
    {DType::kQ5_0, "Q5_0", 32, 22, false, false, 6},
    {DType::kQ5_1, "Q5_1", 32, 24, false, false, 7},
    {DType::kQ8_0, "Q8_0", 32, 34, false, false, 8},
    {DType::kQ8_1, "Q8_1", 32, 36, false, false, 9},
    {DType::kQ2_K, "Q2_K", 256, 84, false, false, 10},
    {DType::kQ3_K, "Q3_K", 256, 110, false, false, 11},
    {DType::kQ4_K, "Q4_K", 256, 144, false, false, 12},
    {DType::kQ5_K, "Q5_K", 256, 176, false, false, 13},
    {DType::kQ6_K, "Q6_K", 256, 210, false, false, 14},
    {DType::kQ8_K, "Q8_K", 256, 292, false, false, 15},
}};

}  // namespace

std::span<const DTypeTraits> AllDTypes() {
    return kTraits;
}

const DTypeTraits& Traits(DType dtype) {
    for (const DTypeTraits& t : kTraits) {
        if (t.dtype == dtype) return t;
    }
    TP_CHECK(false && "DType missing from kTraits");
    return kTraits[0];
}

std::optional<DType> DTypeFromName(std::string_view name) {
    for (const DTypeTraits& t : kTraits) {
        if (t.name == name) return t.dtype;
    }
    return std::nullopt;
}

std::optional<DType> DTypeFromGgmlType(uint32_t ggml_type) {
    for (const DTypeTraits& t : kTraits) {
        if (t.ggml_type && *t.ggml_type == ggml_type) return t.dtype;
    }
    return std::nullopt;
}

Result<uint64_t> ElementCount(std::span<const int64_t> shape) {
    uint64_t count = 1;
    for (int64_t dim : shape) {
        if (dim < 0) return Status::InvalidArgument("negative dimension " + std::to_string(dim));
        if (dim != 0 && count > UINT64_MAX / static_cast<uint64_t>(dim)) {
            return Status::InvalidArgument("element count overflows 64 bits");
        }
        count *= static_cast<uint64_t>(dim);
    }
    return count;
}

Result<uint64_t> TensorByteSize(DType dtype, std::span<const int64_t> shape) {
    TP_ASSIGN_OR_RETURN(uint64_t count, ElementCount(shape));
    const DTypeTraits& t = Traits(dtype);
    if (t.block_elems > 1) {
        const int64_t inner = shape.empty() ? 1 : shape.back();
        if (inner % t.block_elems != 0) {
            return Status::InvalidArgument("innermost dimension " + std::to_string(inner) + " is not a multiple of " +
                                           std::string(t.name) + "'s block size " + std::to_string(t.block_elems));
        }
    }
    const uint64_t blocks = count / t.block_elems;
    if (blocks > UINT64_MAX / t.block_bytes) return Status::InvalidArgument("byte size overflows 64 bits");
    return blocks * t.block_bytes;
}

}  // namespace tenpak
