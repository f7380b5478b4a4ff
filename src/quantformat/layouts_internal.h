// What the layout files share: the per-layout function table that layouts.cpp dispatches through,
// and the helpers every layout uses to build PackedTensors and to fetch and check StoredTensors.
//
// All stored numbers are little-endian (safetensors and GGUF both are); the Load/Store helpers
// assemble them byte by byte, so neither host byte order nor alignment of the input matters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"
#include "tenpak/quantformat/layouts.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quantformat::internal {

// One layout family's functions (GPTQ v1 and v2 share one, as do the three GGUF block types; the
// Layout argument tells them apart). The dispatcher in layouts.cpp runs the checks that every
// layout needs before calling them: see each REQUIRES.
struct LayoutOps {
    Status (*can_hold)(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, Scheme scheme);
    // REQUIRES Validate(q).ok() and can_hold(q's parameters).ok().
    Result<std::vector<PackedTensor>> (*pack)(Layout layout, const QuantizedTensor& q,
                                              std::string_view weight_dtype_name);
    // REQUIRES rows > 0, cols > 0 and rows * cols fits in int64_t and size_t. The result is
    // Validate()d by the dispatcher.
    Result<QuantizedTensor> (*unpack)(Layout layout, int64_t rows, int64_t cols, const LayoutParams& params,
                                      const TensorLookup& lookup);
    std::vector<std::string> (*suffixes)(Layout layout);
};

const LayoutOps& GptqLayoutOps();  // gptq_layout.cpp
const LayoutOps& AwqLayoutOps();   // awq_layout.cpp
const LayoutOps& Bnb4LayoutOps();  // bnb4_layout.cpp
const LayoutOps& Bnb8LayoutOps();  // bnb8_layout.cpp
const LayoutOps& GgmlLayoutOps();  // ggml_layout.cpp
const LayoutOps& GgmlKQuantLayoutOps();  // ggml_kquant_layout.cpp
// Every GGUF layout stores one tensor, "weight".
std::vector<std::string> GgufWeightSuffixes(Layout layout);

// --- Errors -----------------------------------------------------------------------------------

// "[2, 8]"
std::string ShapeString(std::span<const int64_t> shape);
// "F16", or "unknown dtype #200" for a value outside the enum (never aborts, unlike DTypeName).
std::string DTypeLabel(DType dtype);
// The shortest text that reads back as `value` ("0.1", "1e-05", "nan").
std::string FloatString(float value);
// kInvalidArgument "<layout>: <what>", for parameters and QuantizedTensors a layout cannot hold.
Status CannotHold(Layout layout, const std::string& what);
// kCorruption "<layout> tensor '<suffix>': <what>", for stored tensors that disagree with the layout.
Status BadTensor(Layout layout, std::string_view suffix, const std::string& what);

// --- Packing ----------------------------------------------------------------------------------

// A tensor of `shape` with zeroed bytes of the size the dtype and shape need.
PackedTensor NewTensor(std::string suffix, DType dtype, std::vector<int64_t> shape);
// An I32 tensor holding `words` (uint32 bit patterns, stored as two's complement int32).
PackedTensor WordsTensor(std::string suffix, std::vector<int64_t> shape, std::span<const uint32_t> words);

void StoreU16(std::span<std::byte> bytes, size_t index, uint16_t value);
void StoreU32(std::span<std::byte> bytes, size_t index, uint32_t value);
void StoreF32(std::span<std::byte> bytes, size_t index, float value);

// The F16 bits of `value` ("scale" / "minimum" of block `group`), failing when F16 cannot hold it
// exactly: GGUF's encoders round these to F16 before choosing codes, so anything else is a bug.
Result<uint16_t> ExactF16(Layout layout, const char* what, float value, int64_t group);

// --- Unpacking --------------------------------------------------------------------------------

// Asks `lookup` for `suffix` and checks that it is `dtype` with exactly `shape` and the matching
// byte count. `shape_meaning` ("(K * bits / 32, N)") goes into the message when the shape is wrong.
// A missing tensor keeps the lookup's status code, with the layout and suffix added.
Result<StoredTensor> FetchTensor(const TensorLookup& lookup, Layout layout, std::string_view suffix, DType dtype,
                                 const std::vector<int64_t>& shape, std::string_view shape_meaning);
// The same checks on the answer of a lookup already made (for optional tensors).
Result<StoredTensor> CheckTensor(Result<StoredTensor> found, Layout layout, std::string_view suffix, DType dtype,
                                 const std::vector<int64_t>& shape, std::string_view shape_meaning);

uint16_t LoadU16(std::span<const std::byte> bytes, size_t index);
uint32_t LoadU32(std::span<const std::byte> bytes, size_t index);
float LoadF32(std::span<const std::byte> bytes, size_t index);
// Every 4-byte element of `bytes` (REQUIRES a multiple of 4 bytes).
std::vector<uint32_t> LoadWords(std::span<const std::byte> bytes);

// --- Transposed groups (GPTQ and AWQ) ------------------------------------------------------------
// Both store W^T's group parameters as (groups, N) matrices, where TenPak keeps [N][groups].

// The group size a config's value stands for: -1 (per channel) is the whole input size.
int64_t ResolveGroupSize(int64_t group_size, int64_t cols);

// q.scales as an F16 (groups, rows) tensor, rounded to nearest even.
PackedTensor GroupMajorF16(std::string suffix, const QuantizedTensor& q);
// Fills q.scales from such a tensor. REQUIRES q.rows, q.cols, q.group_size set and the size checked.
void ReadGroupMajorF16(std::span<const std::byte> bytes, QuantizedTensor& q);

// q.zeros as group-major integer fields `zero - bias` (GPTQ v1 stores zero - 1). Fails, naming the
// row and group, when a zero is not a whole number in bias .. bias + 2^bits - 1; `advice` ends the
// message (how the quantizer avoids it).
Result<std::vector<uint8_t>> GroupMajorZeroFields(Layout layout, const QuantizedTensor& q, int bias,
                                                  std::string_view advice);
// Fills q.zeros from group-major fields: zero = field + bias.
void SetZerosFromFields(std::span<const uint8_t> fields, int bias, QuantizedTensor& q);

}  // namespace tenpak::quantformat::internal
