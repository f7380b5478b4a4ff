// Linear layers stored in a quantized layout (GPTQ, AWQ, bitsandbytes 4/8-bit, GGUF Q8_0/Q4_0/Q4_1),
// unpacked by tenpak/quantformat and repacked once, at load, into the form the packed kernels read
// (tenpak/kernels/packed.h): codes row-major along the input, F32 scales and offsets per group,
// act-order columns gathered through an index. A layer that form cannot hold (a group size that is
// not a multiple of 32, bitsandbytes blocks that straddle rows, uneven act-order groups) is
// dequantized to F32 instead, and a note says so.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tenpak/kernels/kernels.h"
#include "tenpak/kernels/packed.h"
#include "tenpak/model/model.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::engine::internal {

// What a PackedMatrix points into.
struct PackedStorage {
    std::vector<uint8_t> codes;
    std::vector<float> scales;
    std::vector<float> offsets;
    std::array<float, 16> table{};
    std::vector<int32_t> column_order;
    std::vector<float> dense;  // the F32 fallback
};

// A quantized layer as the engine runs it: `packed` when the kernels take it, else `dense` (F32).
struct LoadedQuantized {
    std::optional<kernels::PackedMatrix> packed;
    kernels::WeightView dense;
    std::unique_ptr<PackedStorage> storage;
    std::string layout;           // "gptq", "Q4_0" ... for notes
    std::string fallback_reason;  // why it runs dense, when it does
};

// The layout `<prefix>` is stored in, when it is stored quantized: config.json's quantization
// method when the layer has that layout's tensors, or the GGML block dtype of `<prefix>.weight`.
std::optional<quantformat::Layout> QuantizedLayoutOf(const model::Model& model, const std::string& prefix);

// Reads and repacks the layer (rows = output features, cols = input features, from the config).
Result<LoadedQuantized> LoadQuantizedLinear(const model::Model& model, const std::string& prefix,
                                            quantformat::Layout layout, int64_t rows, int64_t cols);

// The kernels' form of `q`; nullopt (with `reason`) when it cannot hold it.
std::optional<kernels::PackedMatrix> ToPackedMatrix(const quantformat::QuantizedTensor& q, PackedStorage& storage,
                                                    std::string& reason);

}  // namespace tenpak::engine::internal
