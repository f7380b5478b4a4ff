// The one mechanism behind every calibration-free quantizer: cut the weights into groups, fit each
// group's parameters, encode each weight. A method is a GroupCodec, which knows only its fit and
// its encode rule; RunBlockwise does the rest for all of them (the walk over groups on the thread
// pool, the checks for NaN/Inf and unstorable parameters, the QuantizedTensor's bookkeeping).
//
// Groups are cut from the row-major flattening of W: group g holds elements [g * G, (g + 1) * G),
// the last one possibly shorter. For the affine schemes cols % G == 0, so every group lies inside
// one row and this is the usual "split each row into groups" (G = cols for per-row methods);
// bitsandbytes' blocks are the one case where a group may straddle rows. Groups are independent,
// so the result does not depend on how the pool splits them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "quant/group_math.h"
#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {

// A group's parameters: what the file stores, and what the encode rule uses when that differs
// (llama.cpp encodes with the F32 scale and minimum and stores their F16 roundings).
struct GroupParams {
    float scale = 0.0f;          // -> QuantizedTensor::scales
    float zero = 0.0f;           // -> QuantizedTensor::zeros (only for schemes that have zeros)
    float encode_scale = 0.0f;   // method-specific: the unrounded scale, if the encoder needs it
    float encode_offset = 0.0f;  // method-specific: the unrounded minimum (Q4_1)
};

// What a codec's output looks like.
struct CodecInfo {
    int bits = 4;
    quantformat::Scheme scheme = quantformat::Scheme::kAffine;
    bool symmetric = true;
    bool has_zeros = false;            // fills QuantizedTensor::zeros
    bool groups_span_rows = false;     // bitsandbytes: groups of the flattening; cols need not divide
    const char* group_word = "group";  // "group" or "block", for messages
};

// One quantization method's rule for a single group. Implementations are immutable after
// construction and are called from several threads at once.
class GroupCodec {
public:
    virtual ~GroupCodec() = default;
    virtual CodecInfo info() const = 0;
    // The parameters of one group, given its min and max (which the driver has computed anyway, to
    // find NaN and Inf; most fits need nothing else). REQUIRES: every value finite, group non-empty.
    virtual GroupParams Fit(std::span<const float> group, const GroupStats& stats) const = 0;
    // codes[i] = the code of group[i] under `params` (as returned by Fit for this group).
    virtual void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const = 0;
};

// Quantizes W (rows x cols, row-major) with `codec` in groups of `group_size` elements, spreading
// the groups over `pool`. Fills rows, cols, bits, scheme, symmetric, group_size, codes, scales and
// zeros of a new QuantizedTensor. Errors (kInvalidArgument): cols not a multiple of group_size
// (unless the codec's groups span rows), a NaN or Inf (naming the first one's row and column), a
// group whose stored parameters are not finite (an F16 scale that overflows).
Result<quantformat::QuantizedTensor> RunBlockwise(const GroupCodec& codec, std::span<const float> w, int64_t rows,
                                                  int64_t cols, int64_t group_size, ThreadPool& pool);

// The number of weights in `w` stored as `dtype`; kInvalidArgument for a dtype other than F16, BF16
// and F32 (the ones quantizers cast from) or a size that is no whole number of them.
Result<size_t> StoredWeightCount(DType dtype, std::span<const std::byte> w);

// RunBlockwise on W as stored: `w` holds rows * cols elements of `dtype` (F16, BF16 or F32),
// row-major. Each pool thread casts a few groups at a time into a small buffer of its own and
// quantizes them there, so no F32 copy of W is made; the result is RunBlockwise's on the F32 cast
// of W, bit for bit. Also kInvalidArgument for another dtype or a size that does not match.
// `recycled_codes`, if given, is taken as the codes' buffer (the codes of a tensor already packed
// and written): with enough capacity, no allocation, page faults or clearing.
Result<quantformat::QuantizedTensor> RunBlockwiseCast(const GroupCodec& codec, DType dtype,
                                                      std::span<const std::byte> w, int64_t rows, int64_t cols,
                                                      int64_t group_size, ThreadPool& pool,
                                                      std::vector<uint8_t>* recycled_codes = nullptr);

// A calibration-free method as the blockwise driver runs it: its codec, its group size and whether
// bitsandbytes' double quantization follows. The same table as MakeQuantizer's (quantizer.cpp);
// tests/quant/blockwise_cast_test.cpp checks that both give the same tensors for every method.
struct BlockwiseRecipe {
    static constexpr int64_t kWholeRow = -1;  // one group per row (rtn -1, int8)
    std::unique_ptr<GroupCodec> codec;
    int64_t group_size = 0;  // or kWholeRow
    bool double_quant = false;
    // Quantizer::Quantize of the F32 cast of `w` (rows x cols of `dtype`, as RunBlockwiseCast).
    Result<quantformat::QuantizedTensor> QuantizeStored(DType dtype, std::span<const std::byte> w, int64_t rows,
                                                        int64_t cols, ThreadPool& pool,
                                                        std::vector<uint8_t>* recycled_codes = nullptr) const;
};
// ValidateOptions, then the recipe; kInvalidArgument for the calibrated methods.
Result<BlockwiseRecipe> MakeBlockwiseRecipe(const QuantOptions& options);

// The methods (one file each).
// rtn.cpp. `zero_floor_one`: clamp asymmetric zero points to >= 1 (see rtn.cpp); false only to
// measure what the clamp costs.
std::unique_ptr<GroupCodec> MakeRtnCodec(int bits, bool symmetric, bool zero_floor_one = true);
std::unique_ptr<GroupCodec> MakeNf4Codec();       // bnb4.cpp
std::unique_ptr<GroupCodec> MakeFp4Codec();       // bnb4.cpp
std::unique_ptr<GroupCodec> MakeInt8Codec();      // int8.cpp
std::unique_ptr<GroupCodec> MakeGgufQ8_0Codec();  // ggml_encoders.cpp
std::unique_ptr<GroupCodec> MakeGgufQ4_0Codec();  // ggml_encoders.cpp
std::unique_ptr<GroupCodec> MakeGgufQ4_1Codec();  // ggml_encoders.cpp

// bitsandbytes' double quantization of the nf4/fp4 block absmax values (bnb4.cpp): fills
// q.double_quant from q.scales and replaces q.scales with the values a loader reconstructs.
void DoubleQuantize(quantformat::QuantizedTensor& q);

}  // namespace tenpak::quant
