// The on-disk layouts of quantized linear layers (shared/formats.md B-E, docs/formats/quantized.md):
// packing a QuantizedTensor into the tensors a format stores for one layer, and unpacking them.
//
// Tensor names are suffixes of the layer's prefix: for `model.layers.0.self_attn.q_proj` GPTQ stores
// `<prefix>.qweight`, `<prefix>.qzeros`, `<prefix>.scales`, `<prefix>.g_idx`. A bias is not part of
// the layout (it is written as it was, in F16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quantformat {

enum class Layout : uint8_t {
    kGptq = 0,      // GPTQ v1 ("gptq" checkpoint_format): zero points stored minus one; bits 2/3/4/8
    kGptqV2 = 1,    // GPTQModel's "gptq_v2": zero points stored as they are (read only)
    kAwqGemm = 2,   // AutoAWQ GEMM: 4-bit, interleaved nibbles along the output dimension
    kBnb4 = 3,      // bitsandbytes Linear4bit (nf4 / fp4, optional double quant)
    kBnb8 = 4,      // bitsandbytes Linear8bitLt (int8 + SCB)
    kGgufQ8_0 = 5,  // GGML blocks in `<prefix>.weight` (one tensor, dtype Q8_0 / Q4_0 / Q4_1)
    kGgufQ4_0 = 6,
    kGgufQ4_1 = 7,
};
std::string_view LayoutName(Layout layout);  // "gptq", "gptq_v2", "awq", "bnb4", "bnb8", "Q8_0", "Q4_0", "Q4_1"

// One stored tensor of a packed layer.
struct PackedTensor {
    std::string suffix;  // "qweight", "weight.absmax", "weight.quant_state.bitsandbytes__nf4", "SCB" ...
    DType dtype = DType::kU8;
    std::vector<int64_t> shape;  // outermost first
    std::vector<std::byte> bytes;
};

// Whether `layout` can hold a (rows x cols) matrix quantized with these parameters, checked before
// any work starts. The error lists what the layout supports (e.g. "AWQ stores 4-bit codes only;
// use --bits 4" or "GPTQ needs the input size 4000 to be a multiple of 32").
Status CanHold(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, Scheme scheme);

// Packs `q` (REQUIRES Validate(q).ok()). Fails when the layout cannot hold it (CanHold) or when `q`'s
// scheme is not the layout's: GPTQ and AWQ take kAffine; bnb4 kNf4 / kFp4; bnb8 kInt8Absmax; Q8_0
// kAffine 8-bit with zero 128 and group 32; Q4_0 kAffine 4-bit with zero 8 and group 32; Q4_1
// kAffineMin 4-bit, group 32. Scales are stored in F16 where the format stores F16 (GPTQ, AWQ, GGUF),
// so `q.scales` should already be F16 values for a lossless round trip.
// `weight_dtype_name` is what bnb records as the original dtype ("float16", "bfloat16", "float32").
Result<std::vector<PackedTensor>> Pack(Layout layout, const QuantizedTensor& q,
                                       std::string_view weight_dtype_name = "float16");

// What Unpack reads: the stored tensor with this suffix, or an error naming it when missing.
struct StoredTensor {
    DType dtype = DType::kU8;
    std::vector<int64_t> shape;
    std::span<const std::byte> bytes;
};
using TensorLookup = std::function<Result<StoredTensor>(std::string_view suffix)>;

// Parameters a layout's tensors do not carry themselves (they come from quantization_config).
struct LayoutParams {
    int bits = 4;
    int64_t group_size = 128;  // -1: per channel
    bool symmetric = true;
};

// Unpacks one layer of `rows` x `cols` (the nn.Linear shape, from the model's config). Every shape,
// dtype and size is checked against the layout; errors name the suffix and what was expected.
// For GGUF layouts the lookup is asked for "weight".
Result<QuantizedTensor> Unpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams& params,
                               const TensorLookup& lookup);

// The suffixes a layout stores for one layer (for readers that need to know which names belong to
// a quantized layer). bnb4 lists the nf4 state key; "weight.quant_state.bitsandbytes__fp4" is the
// fp4 alternative, and the double-quant keys are optional.
std::vector<std::string> LayoutSuffixes(Layout layout);

}  // namespace tenpak::quantformat
