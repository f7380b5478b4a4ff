// Helpers for the layout tests: a TensorLookup over packed tensors (what a file reader would hand to
// Unpack), typed views of packed bytes, comparison of QuantizedTensors and random valid tensors.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "tenpak/quantformat/layouts.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quantformat::testing {

// Looks suffixes up among `tensors` (which must outlive the lookup); NotFound names the suffix.
TensorLookup LookupOf(const std::vector<PackedTensor>& tensors);

// The tensor with this suffix; fails the test (and returns a dummy) when there is none.
const PackedTensor& Find(const std::vector<PackedTensor>& tensors, std::string_view suffix);
PackedTensor& FindMutable(std::vector<PackedTensor>& tensors, std::string_view suffix);
// Removes the tensor with this suffix.
void Remove(std::vector<PackedTensor>& tensors, std::string_view suffix);

// Little-endian views of the bytes.
std::vector<uint32_t> Words(const PackedTensor& tensor);
std::vector<uint16_t> Halves(const PackedTensor& tensor);
std::vector<float> Floats(const PackedTensor& tensor);
std::vector<uint8_t> Bytes(const PackedTensor& tensor);
std::vector<std::byte> ToBytes(const std::vector<uint8_t>& values);

// Every field equal (floats bit for bit).
void ExpectSameTensor(const QuantizedTensor& expected, const QuantizedTensor& actual);

// A random tensor `layout` can hold: codes, F16 scales, zeros in the range the layout stores.
// `act_order` gives GPTQ a non-trivial g_idx (needs cols / group_size >= 2); `double_quant` gives
// bnb4 double-quantized statistics.
QuantizedTensor RandomTensor(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, std::mt19937& rng,
                             bool act_order = false, bool double_quant = false);

// Pack, then Unpack through LookupOf with `params`; fails the test on an error.
QuantizedTensor RoundTrip(Layout layout, const QuantizedTensor& q, const LayoutParams& params);

}  // namespace tenpak::quantformat::testing
