// Runs a model one transformer block at a time over calibration windows, for the calibrated
// quantizers (GPTQ, AWQ): embed the windows, then for each block let a tap see the inputs of its
// linear layers, change the block's weights (quantized, rescaled), and run it again to get the next
// block's inputs. Only the block being worked on has its linear weights in memory (as F32 copies
// the caller may change); the model file stays mapped and is read one block at a time.
//
// Thread safety: one thread at a time; the runner uses the pool it is given.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/model/model.h"

namespace tenpak::engine {

// The activations a block's linear layers read, in the order the block computes them. Each point
// is the shared input of one group of linears (llama names, then gpt2's):
//   kAttentionInput  the normalised block input          q_proj, k_proj, v_proj | attn.c_attn
//   kAttentionOutput the attention heads' output          o_proj | attn.c_proj
//   kMlpInput        the normalised attention residual    gate_proj, up_proj | mlp.c_fc
//   kMlpHidden       act(gate) * up, or gelu(c_fc)        down_proj | mlp.c_proj
enum class TapPoint : uint8_t { kAttentionInput = 0, kAttentionOutput = 1, kMlpInput = 2, kMlpHidden = 3 };
constexpr int kTapPoints = 4;

// Sees the activations at a TapPoint ([tokens, features] of one window); returns false to stop
// the block there.
using TapFn = std::function<bool(TapPoint point, const float* x, int64_t tokens)>;

// One linear layer of the block being worked on: its canonical (HF) weight name and its weights as
// [out, in] F32 (GPT-2's Conv1D transposed), which the runner uses from then on.
struct BlockLinear {
    std::string name;  // e.g. "model.layers.3.self_attn.q_proj.weight"
    TapPoint input = TapPoint::kAttentionInput;
    int64_t rows = 0;  // out
    int64_t cols = 0;  // in
    std::span<float> weight;
    std::span<float> bias;  // empty when the layer has none
};

// A norm of the block being worked on (AWQ folds scales into it).
struct BlockNorm {
    std::string name;  // e.g. "model.layers.3.input_layernorm.weight"
    std::span<float> weight;
    std::span<float> bias;  // LayerNorm only
};

class LayerRunner {
public:
    // REQUIRES: `model` outlives the runner. Windows hold `window` tokens each (positions 0 ..
    // window - 1, as separate sequences). Fails for architectures the engine does not run and for
    // quantized models (calibration starts from float weights).
    static Result<std::unique_ptr<LayerRunner>> Create(const model::Model& model, int64_t window, ThreadPool& pool);
    ~LayerRunner();

    int64_t layers() const;
    int64_t hidden_size() const;
    int64_t window() const;

    // x = the embeddings of `tokens` (a whole number of windows), [tokens, hidden].
    Status Embed(std::span<const int32_t> tokens, float* x) const;

    // Copies block `layer`'s linear weights and norms into F32 buffers the caller may change (and
    // the runner then uses), and lets the mapped file drop that block's pages. The previous block's
    // buffers are freed.
    Status Load(int64_t layer);
    int64_t loaded_layer() const;
    std::vector<BlockLinear> Linears();  // of the loaded block, in TapPoint order
    std::vector<BlockNorm> Norms();      // attention norm, then MLP norm

    // Runs the loaded block over every window of x ([tokens, hidden]) in place.
    void Run(float* x, int64_t tokens);
    // Runs the loaded block over a copy of each window of x, calling `tap` at each TapPoint with
    // that window's activations until it returns false, which ends that window's run.
    void Observe(const float* x, int64_t tokens, const TapFn& tap);

    // The loaded block's attention half (from its normalised input, [tokens, hidden], to the
    // output projection's result before the residual) and MLP half, per window: the modules AWQ
    // inspects.
    void AttentionPart(const float* normed, int64_t tokens, float* out);
    void MlpPart(const float* normed, int64_t tokens, float* out);

private:
    struct Impl;
    explicit LayerRunner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tenpak::engine
