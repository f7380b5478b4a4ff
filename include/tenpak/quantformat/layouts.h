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
#include <optional>
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
    kGptqV2 = 1,    // GPTQModel's "gptq_v2": zero points stored as they are (fewer loaders read it)
    kAwqGemm = 2,   // AutoAWQ GEMM: 4-bit, interleaved nibbles along the output dimension
    kBnb4 = 3,      // bitsandbytes Linear4bit (nf4 / fp4, optional double quant)
    kBnb8 = 4,      // bitsandbytes Linear8bitLt (int8 + SCB)
    kGgufQ8_0 = 5,  // GGML blocks in `<prefix>.weight` (one tensor, dtype Q8_0 / Q4_0 / Q4_1)
    kGgufQ4_0 = 6,
    kGgufQ4_1 = 7,
    kGgufQ4_K = 8,  // GGML k-quant super-blocks in `<prefix>.weight` (QuantizedTensor::super_blocks)
    kGgufQ6_K = 9,
};
// "gptq", "gptq_v2", "awq", "bnb4", "bnb8", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q6_K"
std::string_view LayoutName(Layout layout);
std::optional<Layout> LayoutFromName(std::string_view name);  // the inverse; nullopt when unknown

// One stored tensor of a packed layer.
struct PackedTensor {
    std::string suffix;  // "qweight", "weight.absmax", "weight.quant_state.bitsandbytes__nf4", "SCB" ...
    DType dtype = DType::kU8;
    std::vector<int64_t> shape;  // outermost first
    std::vector<std::byte> bytes;
};

// Whether `layout` can hold a (rows x cols) matrix quantized with these parameters, checked before
// any work starts. `group_size` -1 means per channel (one group of `cols`). The error
// (kInvalidArgument) lists what the layout supports (e.g. "AWQ stores 4-bit codes only; use --bits 4"
// or "GPTQ needs the input size 4100 to be a multiple of 32"). The rules:
//   GPTQ  kAffine, bits 2/3/4/8, cols % 32 == 0, rows % (32 / bits) == 0 (rows % 32 for 3 bits),
//         cols % group_size == 0.
//   AWQ   kAffine, bits 4, rows % 8 == 0, cols % group_size == 0.
//   bnb4  kNf4 or kFp4, bits 4, group_size = bitsandbytes' block size: a power of two 32..4096.
//   bnb8  kInt8Absmax, bits 8, one scale per row (group_size -1 or cols).
//   Q8_0  kAffine 8-bit, Q4_0 kAffine 4-bit, Q4_1 kAffineMin 4-bit; group 32, cols % 32 == 0.
//   Q4_K  kAffineMin 4-bit, group 32; Q6_K kAffine 8-bit (6-bit codes, zero 32), group 16; both
//         cols % 256 == 0 and super_blocks set (the encoders of quant make them).
Status CanHold(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, Scheme scheme);

// Packs `q`. Fails (kInvalidArgument, naming the row and group) when Validate(q) or CanHold fails,
// or when `q` holds a value the format cannot store:
//   - GPTQ and AWQ store integer zero points in a `bits`-wide field: zeros must be whole numbers in
//     0..2^bits-1 (AWQ, gptq_v2). GPTQ v1 stores zero - 1, so its zeros must be in 1..2^bits; a
//     zero point of 0 cannot be written (formats.md B.4), and GPTQ quantizers clamp zeros to >= 1
//     for this layout. AWQ has no g_idx (act-order).
//   - Q8_0 needs zero 128 and Q4_0 zero 8 everywhere; GGUF scales (and Q4_1 minimums) must be exact
//     F16 values, as llama.cpp's encoders produce them (nothing is rounded silently).
//   - bnb4 with double quant: `q.scales[b]` must be the statistic a loader reconstructs,
//     DynamicMap8()[codes[b]] * nested_absmax[b / nested_block] + offset (within 1e-6 relative),
//     because the file stores only the codes. The offset must be finite.
// GPTQ and AWQ scales are rounded to F16 (round to nearest even), so `q.scales` should already be F16
// values for a lossless round trip. `weight_dtype_name` is what bnb4 records as the original dtype
// ("float16", "bfloat16" or "float32"); the other layouts ignore it.
// The tensors come out in the order the reference writers emit them (LayoutSuffixes order).
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
// GPTQ reads all three; AWQ reads bits (must be 4), group_size and symmetric; bitsandbytes and the
// GGUF layouts ignore them, because their tensors say everything (bnb4's block size is in its JSON
// state, bnb8 is always per row, a GGUF dtype fixes bits and block).
struct LayoutParams {
    int bits = 4;
    int64_t group_size = 128;  // -1: per channel (one group of the whole input size)
    bool symmetric = true;     // copied into QuantizedTensor::symmetric; informational
};

// Unpacks one layer of `rows` x `cols` (the nn.Linear shape, from the model's config). Every dtype,
// shape and byte size is checked against the layout before anything is read; errors name the
// layout and the suffix and say what was expected (kCorruption for tensors that disagree with the
// layout, kInvalidArgument for parameters it cannot hold, the lookup's own error for a missing
// tensor). The result passes Validate(). Details:
//   - GPTQ: g_idx is optional (some writers leave it out); it is kept only when it is not the
//     trivial k / group_size. v1 zeros come back as field + 1, so a field of 2^bits - 1 reads as
//     2^bits, as every v1 loader computes it.
//   - bnb4 asks for both the nf4 and the fp4 state and needs exactly one (as bitsandbytes does); the
//     JSON state is checked key by key, and the stored quant_map (and nested_quant_map) must equal
//     Nf4Table() / Fp4Table() (DynamicMap8()).
//   - For GGUF layouts the lookup is asked for "weight".
Result<QuantizedTensor> Unpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams& params,
                               const TensorLookup& lookup);

// The GGUF layout whose one tensor has this GGML dtype (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K), and back;
// nullopt for any other dtype or layout.
std::optional<Layout> GgufLayoutOf(DType dtype);
std::optional<DType> GgufDTypeOf(Layout layout);

// An all-zero Q4_K or Q6_K tensor (`layout` kGgufQ4_K / kGgufQ6_K) of rows x cols, REQUIRES cols % 256
// == 0, with every field, super_blocks included, sized: what the k-quant encoders fill in and the
// layouts unpack into.
QuantizedTensor KQuantTensor(Layout layout, int64_t rows, int64_t cols);

// The suffixes a layout stores for one layer (for readers that need to know which names belong to
// a quantized layer). bnb4 lists the nf4 state key; "weight.quant_state.bitsandbytes__fp4" is the
// fp4 alternative, and the double-quant keys are optional.
std::vector<std::string> LayoutSuffixes(Layout layout);

}  // namespace tenpak::quantformat
