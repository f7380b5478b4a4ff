// AWQ (Lin et al. 2023; shared/formats.md F.2, C.1): activation-aware weight quantization. Input
// channels that carry large activations are scaled up before quantization (and the inverse
// scale folded into the operator that produces them), choosing the scale exponent from a grid by
// the inspected module's output error on calibration inputs; then each group's clipping range is
// searched. The final codes come from AWQ's own asymmetric quantizer (MakeAwqCodec), which unlike
// GPTQ's does not force the range to contain 0.
//
// The pieces here know nothing about transformer blocks: the calibration pipeline
// (calibration.cpp) supplies the inputs and evaluates the inspected module through a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "quant/blockwise.h"
#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {

struct AwqOptions {
    int bits = 4;
    int64_t group_size = 128;   // 32, 64 or 128; divides cols
    int grid = 20;              // scale exponents i / grid, i = 0 .. grid-1
    bool duo_scaling = true;    // AutoAWQ's default: s = x_mean^a / w_mean^(1-a)
    int clip_grid = 20;         // clipping: max * (1 - i / clip_grid)
    double max_shrink = 0.5;    // ... for i < clip_grid * max_shrink
    int64_t clip_tokens = 512;  // tokens sampled (by stride) for the clipping search
    bool apply_clip = true;     // AwqQuantizeLinear: run the clipping search (AutoAWQ's apply_clip)
};

// AWQ's defaults with the bits and group size of a QuantOptions.
struct QuantOptions;
AwqOptions AwqOptionsFrom(const QuantOptions& options);

// Checks the options against a matrix of `cols` input columns: bits 2, 3, 4 or 8; group size 32,
// 64 or 128 dividing cols; grid and clip_grid >= 1; max_shrink in [0, 1); clip_tokens >= 1. The
// message lists the supported choices.
Status ValidateAwqOptions(const AwqOptions& options, int64_t cols);

// mean_t |x[t, c]| per input channel, accumulated batch by batch (in double).
class ChannelMagnitude {
public:
    explicit ChannelMagnitude(int64_t cols);
    // x: [tokens, cols]. Fails (kInvalidArgument) naming the token (counted over every batch added
    // so far) and column of the first NaN or Inf; the accumulator is then unchanged.
    Status Add(const float* x, int64_t tokens);
    // cols entries; all 0 before any token was added.
    std::vector<float> Mean() const;
    int64_t tokens() const { return tokens_; }

private:
    int64_t cols_;
    int64_t tokens_ = 0;
    std::vector<double> sum_;
};

// AWQ's pseudo_quantize_tensor rule for one group (asymmetric, zero in [0, maxq], F16-rounded
// scale), usable with RunBlockwise.
std::unique_ptr<GroupCodec> MakeAwqCodec(int bits);

// W <- Q(W * diag(s)) / diag(s): what the scaled layer computes once quantized, in the original
// input basis. w: [rows, cols]; s: cols entries > 0. Q is MakeAwqCodec(options.bits) in groups of
// options.group_size, bit for bit what RunBlockwise + Dequantize give. REQUIRES: w and s finite,
// cols % options.group_size == 0 (SearchScales checks both before calling it).
void FakeQuantizeScaled(std::span<float> w, int64_t rows, int64_t cols, std::span<const float> s,
                        const AwqOptions& options, ThreadPool& pool);

// One scaling group: the linears that read the same input (e.g. q, k, v), each [rows[i], cols].
struct ScaleGroup {
    std::vector<std::span<const float>> weights;
    std::vector<int64_t> rows;
    int64_t cols = 0;
};

// Evaluates the inspected module with the candidate weights (fake-quantized, one per linear of the
// group, same order and shapes) and returns its mean squared output error against the
// unquantized module on the calibration inputs.
using ModuleLoss = std::function<Result<double>(const std::vector<std::vector<float>>& candidates)>;

struct ScaleSearchResult {
    std::vector<float> scales;   // cols entries; multiply W's columns, divide the producer's outputs
    double ratio = 0.0;          // the chosen exponent
    double loss = 0.0;           // its loss
    std::vector<double> losses;  // loss per grid point
};

// AutoAWQ's w_mean (F.2 step 1): the group's weights stacked along the output dimension, each group
// of `group_size` columns of a row divided by its max |w| (+ 1e-6), averaged over all rows. cols
// entries. REQUIRES: the group's sizes agree and group_size divides cols.
std::vector<float> AwqWeightMean(const ScaleGroup& group, int64_t group_size, ThreadPool& pool);

// The scales of one grid point (F.2 step 2): x_mean^ratio / (w_mean^(1 - ratio) + 1e-4) with
// duo_scaling, x_mean^ratio without; clamped to >= 1e-4; divided by sqrt(max * min), so that the
// largest and smallest scale multiply to 1; entries that are then Inf or NaN become 1.
std::vector<float> AwqScalesForRatio(std::span<const float> x_mean, std::span<const float> w_mean, float ratio,
                                     bool duo_scaling);

// The grid search of F.2 steps 1-3 over `grid` exponents; x_mean from ChannelMagnitude. Calls
// `loss` once per grid point, in order; its errors are returned with the ratio added. Fails
// (kInvalidArgument) on sizes that do not agree, NaN/Inf in the weights (naming the linear, row
// and column) or in x_mean (naming the channel), negative x_mean, options ValidateAwqOptions
// refuses, or when no grid point gives a finite loss.
Result<ScaleSearchResult> SearchScales(const ScaleGroup& group, std::span<const float> x_mean,
                                       const AwqOptions& options, const ModuleLoss& loss, ThreadPool& pool);

// F.2 step 5: per (row, group) the clipping bound that minimises the group's output error on x
// ([tokens, cols], subsampled to options.clip_tokens by stride), then clamps w in place. w and x
// are in the same basis (after scaling: W * diag(s) and X / diag(s)). Fails (kInvalidArgument),
// leaving w unchanged, on sizes that do not agree, no tokens, NaN/Inf in w (row, column) or x
// (token, column), or options ValidateAwqOptions refuses. The result does not depend on the
// pool's thread count.
Status SearchAndApplyClip(std::span<float> w, int64_t rows, int64_t cols, std::span<const float> x, int64_t tokens,
                          const AwqOptions& options, ThreadPool& pool);

// AWQ for a single linear that is its own inspected module (AutoAWQ's treatment of o_proj and
// down_proj): scale search with loss = mean over tokens and outputs of ((W - W') x)^2 on x, the
// clipping search on W * diag(s) with inputs X / diag(s) (if options.apply_clip), and the final
// quantization of the clipped W * diag(s) with MakeAwqCodec through RunBlockwise.
struct AwqLinearResult {
    // Q(clip(W * diag(s))): the layer computes Dequantize(tensor) applied to x / s, so s must be
    // folded into whatever produces x (or x divided by s at run time).
    quantformat::QuantizedTensor tensor;
    ScaleSearchResult search;  // search.scales is s
    double search_seconds = 0.0;    // channel magnitudes and the scale search
    double clip_seconds = 0.0;      // the clipping search
    double quantize_seconds = 0.0;  // the final codes
};
// w: [rows, cols]; x: [tokens, cols], the calibration inputs (all used for the scale search's loss
// and sampled for clipping). Fails as ChannelMagnitude, SearchScales, SearchAndApplyClip and
// RunBlockwise do.
Result<AwqLinearResult> AwqQuantizeLinear(std::span<const float> w, int64_t rows, int64_t cols,
                                          std::span<const float> x, int64_t tokens, const AwqOptions& options,
                                          ThreadPool& pool);

}  // namespace tenpak::quant
