// The model's weights as the forward pass uses them: views of the stored tensors (F32, F16, BF16
// straight from the mmap), small vectors (norms, biases) widened to F32, and tensors the kernels
// cannot read yet (GGML blocks) dequantized once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <memory>
#include <optional>

#include "packed_weights.h"
#include "tenpak/io/tensor_source.h"
#include "tenpak/kernels/kernels.h"
#include "tenpak/kernels/packed.h"
#include "tenpak/model/model.h"

namespace tenpak::engine::internal {

// A linear layer: y = W x (+ b), with W stored [out, in], or [in, out] when `transposed`
// (GPT-2's Conv1D), or quantized codes (`packed`, always [out, in]).
struct Linear {
    std::string name;  // the tensors' prefix, e.g. "model.layers.0.self_attn.q_proj"
    kernels::WeightView weight;
    std::optional<kernels::PackedMatrix> packed;
    bool transposed = false;
    std::vector<float> bias;  // empty when the layer has none

    int64_t in() const { return packed ? packed->cols : transposed ? weight.rows : weight.cols; }
    int64_t out() const { return packed ? packed->rows : transposed ? weight.cols : weight.rows; }
    bool present() const { return packed.has_value() || weight.data != nullptr; }
};

struct Norm {
    std::string name;  // e.g. "model.layers.0.input_layernorm"
    std::vector<float> weight;
    std::vector<float> bias;  // LayerNorm only
};

struct LayerWeights {
    Norm attn_norm;
    Norm mlp_norm;
    Linear q, k, v;  // llama
    Linear qkv;      // gpt2: fused [q | k | v]
    Linear o;
    Linear gate;  // llama's SwiGLU gate
    Linear up;    // llama up_proj, gpt2 c_fc
    Linear down;  // llama down_proj, gpt2 mlp c_proj
};

struct ModelWeights {
    kernels::WeightView embed;      // [vocab, hidden]
    kernels::WeightView positions;  // gpt2 learned positions [n_positions, hidden]
    Norm final_norm;
    Linear lm_head;  // the embedding when tied
    std::vector<LayerWeights> layers;
    std::vector<io::TensorData> storage;                         // keeps every view's bytes alive
    std::vector<std::unique_ptr<PackedStorage>> packed_storage;  // what quantized layers point into
    std::vector<std::string> notes;
    uint64_t bytes_per_token = 0;
};

Result<ModelWeights> LoadWeights(const model::Model& model);

// Row `row` of an embedding-like matrix, widened to F32.
void ReadRow(const kernels::WeightView& matrix, int64_t row, float* out);

}  // namespace tenpak::engine::internal
