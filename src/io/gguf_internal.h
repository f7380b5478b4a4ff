// Limits and encoding helpers shared by the GGUF reader (gguf_reader.cpp) and writer
// (gguf_writer.cpp). The format is described in docs/formats/gguf.md and shared/formats.md section E.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tenpak/io/gguf.h"

namespace tenpak::io::gguf_internal {

// Versions we read. v1 used u32 counts and lengths; v2 moved them to u64 and is laid out like v3
// (v3 only added big-endian files, which carry the same version number and which we do not read).
constexpr uint32_t kMinVersion = 2;
constexpr uint32_t kMaxVersion = 3;
constexpr uint32_t kWriteVersion = 3;

// Fixed part of the header: magic, version, tensor_count, kv_count.
constexpr size_t kFixedHeaderBytes = 4 + 4 + 8 + 8;
// ggml's GGML_MAX_DIMS.
constexpr uint32_t kMaxDims = 4;
// ggml's GGML_MAX_NAME is 64 bytes including the NUL, so a name has at most 63.
constexpr size_t kMaxTensorNameBytes = 63;
// docs/gguf.md: keys are at most 2^16 - 1 bytes.
constexpr size_t kMaxKeyBytes = 65535;
// Arrays of arrays may nest this deep (1 = a plain array). Real files use 1; the limit bounds the
// recursion on hostile input.
constexpr int kMaxArrayDepth = 8;

// Array items in all metadata together. Each item becomes a GgufValue of ~48 bytes, so a u8 array
// would otherwise cost 48 times its size on disk; real files stay far below (a 256K-token vocabulary
// with scores, types and merges is about 1M items).
constexpr uint64_t kMaxMetadataItems = uint64_t{1} << 24;

constexpr std::string_view kAlignmentKey = "general.alignment";

// Smallest encoding of any tensor info: u64 name length, u32 n_dims, u32 type, u64 offset.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;
// Smallest encoding of a key/value pair: u64 key length, u32 value type, a 1-byte value.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;

// True for the 13 value types of the spec.
inline bool IsKnownType(uint32_t type) {
    return type <= static_cast<uint32_t>(GgufType::kF64);
}

// Bytes one value of `type` takes at the least (an array: u32 element type + u64 count).
inline uint64_t MinValueBytes(GgufType type) {
    switch (type) {
        case GgufType::kU8:
        case GgufType::kI8:
        case GgufType::kBool:
            return 1;
        case GgufType::kU16:
        case GgufType::kI16:
            return 2;
        case GgufType::kU32:
        case GgufType::kI32:
        case GgufType::kF32:
            return 4;
        case GgufType::kU64:
        case GgufType::kI64:
        case GgufType::kF64:
        case GgufType::kString:
            return 8;
        case GgufType::kArray:
            return 4 + 8;
    }
    return 1;
}

inline bool IsPowerOfTwo(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

// `v` rounded up to a multiple of `alignment` (a power of two). REQUIRES: no overflow.
inline uint64_t AlignUp(uint64_t v, uint64_t alignment) {
    return (v + alignment - 1) & ~(alignment - 1);
}

// A key or tensor name quoted for a message, with control bytes as \xNN and long names shortened,
// so that hostile names cannot garble a terminal or a log.
std::string QuoteName(std::string_view name);

}  // namespace tenpak::io::gguf_internal
