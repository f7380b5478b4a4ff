// One transformer family's forward pass, as the engine drives it: embed the tokens, run each
// block in place on the hidden states, apply the final norm. The engine owns the KV cache,
// scratch buffers, the output head and the loop over layers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ops.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/engine/layer_runner.h"
#include "tenpak/model/model_config.h"
#include "weights.h"

namespace tenpak::engine::internal {

// K and V of one layer for positions [0, context): [context, kv_heads * head_dim] each.
struct KvCache {
    std::vector<float> k;
    std::vector<float> v;
};

// Buffers reused across calls; sized for the largest token count seen.
struct Scratch {
    std::vector<float> normed, q, k, v, attention, mlp_a, mlp_b;
    std::vector<float> scores;  // attention scores of one head, [tokens, positions]
    const TapFn* tap = nullptr;  // calibration only (tenpak/engine/layer_runner.h)
    bool stopped = false;       // the tap stopped the last block early
};

// Sizes the buffers for blocks of up to `tokens` tokens.
void SizeScratch(const model::ModelConfig& config, int64_t tokens, Scratch& scratch);

// y = x W^T (+ b) for `tokens` rows of x: matrix-vector for one token, sgemm for more.
void ApplyLinear(const Linear& linear, const float* x, int64_t tokens, float* y, ThreadPool& pool);

class Architecture {
public:
    virtual ~Architecture() = default;
    // x = embeddings of `tokens` at positions first_position ... ([tokens, hidden]).
    virtual void Embed(std::span<const int32_t> tokens, int64_t first_position, float* x) const = 0;
    // Runs block `layer` on x in place, writing this block's K and V for the new positions:
    //   x += AttentionPart(AttentionNorm(x)); x += MlpPart(MlpNorm(x)),
    // the pre-norm residual structure every supported family shares. When scratch.tap stops the
    // block (scratch.stopped), x holds whatever was computed so far.
    void Block(int64_t layer, float* x, int64_t tokens, int64_t first_position, KvCache& cache,
               Scratch& scratch) const;
    virtual void FinalNorm(const float* x, int64_t rows, float* y) const = 0;
    virtual int64_t hidden_size() const = 0;

    // The two halves of a block, from their normalised input to their output before the residual
    // add; `out` may be `normed`. Calibration runs them alone (AWQ inspects each half's output).
    virtual void AttentionNorm(int64_t layer, const float* x, int64_t tokens, float* y) const = 0;
    virtual void MlpNorm(int64_t layer, const float* x, int64_t tokens, float* y) const = 0;
    virtual void AttentionPart(int64_t layer, const float* normed, int64_t tokens, int64_t first_position,
                               KvCache& cache, Scratch& scratch, float* out) const = 0;
    virtual void MlpPart(int64_t layer, const float* normed, int64_t tokens, Scratch& scratch, float* out) const = 0;
};

// Shows x to the scratch's tap, if any; false when the tap stopped the block (scratch.stopped).
bool TapContinues(Scratch& scratch, TapPoint point, const float* x, int64_t tokens);

std::unique_ptr<Architecture> MakeLlamaArchitecture(const model::ModelConfig& config, const ModelWeights& weights,
                                                    int64_t context, ThreadPool& pool);
std::unique_ptr<Architecture> MakeGpt2Architecture(const model::ModelConfig& config, const ModelWeights& weights,
                                                   int64_t context, ThreadPool& pool);
// The family's architecture (LoadWeights has refused the others).
std::unique_ptr<Architecture> MakeArchitecture(const model::ModelConfig& config, const ModelWeights& weights,
                                               int64_t context, ThreadPool& pool);

}  // namespace tenpak::engine::internal
