// The CPU inference engine: runs a model's forward pass over tokens, keeping a KV cache.
//
// Prefill (several tokens) multiplies whole windows with sgemm; decode (one token) uses the
// matrix-vector kernels, which read F16/BF16 weights straight from the mmap'd model file. Weights
// are never copied into an F32 model, except tensors the kernels cannot read yet (GGML blocks),
// which are dequantized once at load.
//
// Thread safety: an Engine is used from one thread at a time; it runs its own worker pool.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/model/model.h"

namespace tenpak::engine {

struct EngineOptions {
    size_t threads = 0;           // 0: every core
    int64_t context = 0;          // KV cache length; 0: the model's max_position_embeddings
    bool check_numerics = false;  // stop at the first NaN/Inf, naming the layer
};

class Engine {
public:
    // REQUIRES: `model` outlives the engine (weights are views into its files).
    static Result<std::unique_ptr<Engine>> Create(const model::Model& model, const EngineOptions& options);
    ~Engine();

    // Runs `tokens` at positions [position(), position() + n), appending to the KV cache, and
    // writes the logits of tokens [first_logit, n) into `logits` ((n - first_logit) x vocab,
    // row-major). kInvalidArgument when the cache would overflow or a token id is out of range;
    // with check_numerics, kInternal naming the layer where NaN or Inf first appeared.
    Status Forward(std::span<const int32_t> tokens, int64_t first_logit, std::vector<float>& logits);

    // Forgets the KV cache: the next Forward starts at position 0.
    void Reset();

    int64_t position() const;
    int64_t context() const;
    int64_t vocab_size() const;
    size_t threads() const;
    const model::ModelConfig& config() const;
    // Bytes of weights a decode step reads (every linear layer and the output head once).
    uint64_t weight_bytes_per_token() const;
    // Notes from loading (tensors dequantized at load, for instance).
    const std::vector<std::string>& notes() const;

private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tenpak::engine
