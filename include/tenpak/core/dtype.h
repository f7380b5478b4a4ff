// Element types of tensors, as stored on disk.
//
// Plain types (F32, F16, I8 ...) have a fixed size per element. GGML block types (Q4_0, Q8_0 ...)
// store elements in blocks of `block_elems` consecutive values along the innermost dimension, each
// block taking `block_bytes` bytes (layouts in tenpak/core/ggml_blocks.h).
//
// The numeric values are TenPak's own ids and are stored in .tnpk manifests: never renumber, never
// reuse a retired value (comment it out instead).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "tenpak/core/result.h"

namespace tenpak {

enum class DType : uint8_t {
    kF64 = 0,
    kF32 = 1,
    kF16 = 2,
    kBF16 = 3,
    kI64 = 4,
    kI32 = 5,
    kI16 = 6,
    kI8 = 7,
    kU8 = 8,
    kBool = 9,
    kF8E4M3 = 10,
    kF8E5M2 = 11,
    kU16 = 12,
    kU32 = 13,
    kU64 = 14,
    // GGML block-quantized types.
    kQ4_0 = 32,
    kQ4_1 = 33,
    kQ5_0 = 34,
    kQ5_1 = 35,
    kQ8_0 = 36,
    kQ8_1 = 37,
    kQ2_K = 38,
    kQ3_K = 39,
    kQ4_K = 40,
    kQ5_K = 41,
    kQ6_K = 42,
    kQ8_K = 43,
};

struct DTypeTraits {
    DType dtype;
    std::string_view name;              // "F32", "BF16", "Q4_0": the safetensors / GGML spelling
    uint32_t block_elems;               // 1 for plain types
    uint32_t block_bytes;               // bytes per block (= bytes per element for plain types)
    bool is_float;                      // F64/F32/F16/BF16/F8
    bool in_safetensors;                // may appear in a safetensors header
    std::optional<uint32_t> ggml_type;  // id in GGUF tensor infos, if GGUF can store it
};

// Every DType TenPak knows, in id order.
std::span<const DTypeTraits> AllDTypes();
const DTypeTraits& Traits(DType dtype);
inline std::string_view DTypeName(DType dtype) {
    return Traits(dtype).name;
}

// "F16" -> kF16 (case-sensitive, as safetensors writes them). nullopt when unknown.
std::optional<DType> DTypeFromName(std::string_view name);
std::optional<DType> DTypeFromGgmlType(uint32_t ggml_type);

// Bytes of a tensor of `shape` (outermost first). Fails on negative dimensions, on overflow of
// uint64, and when the innermost dimension is not a multiple of the type's block size.
Result<uint64_t> TensorByteSize(DType dtype, std::span<const int64_t> shape);

// Product of dimensions, failing on negatives or overflow.
Result<uint64_t> ElementCount(std::span<const int64_t> shape);

}  // namespace tenpak
