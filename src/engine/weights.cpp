#include "weights.h"

#include <cstring>

#include "tenpak/core/cast.h"
#include "tenpak/core/half.h"

namespace tenpak::engine::internal {
namespace {

bool KernelReadable(DType dtype) {
    return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

class Loader {
public:
    explicit Loader(const model::Model& model, ModelWeights& out) : model_(model), out_(out) {}

    // A 2-D tensor as a kernel view; GGML blocks are dequantized to F32 (noted once per dtype).
    Result<kernels::WeightView> Matrix(const std::string& name) {
        const io::TensorInfo* info = model_.tensors->Find(name);
        if (info == nullptr) return Status::NotFound(model_.origin + ": missing tensor '" + name + "'");
        if (info->shape.size() != 2) {
            return Status::Corruption(model_.origin + ": tensor '" + name + "' should be 2-D, has shape " +
                                      info->ShapeString());
        }
        TP_ASSIGN_OR_RETURN(io::TensorData data, model_.tensors->Read(*info));
        DType dtype = info->dtype;
        if (!KernelReadable(dtype)) {
            if (!CanCast(dtype, DType::kF32)) {
                return Status::Unsupported(model_.origin + ": tensor '" + name + "' has dtype " +
                                           std::string(DTypeName(dtype)) + ", which the engine cannot run");
            }
            std::vector<std::byte> f32(info->NumElements() * 4);
            TP_RETURN_IF_ERROR(CastTensor(dtype, data.bytes(), DType::kF32, f32, info->NumElements()));
            NoteDequantized(dtype);
            data = io::TensorData::Own(std::move(f32));
            dtype = DType::kF32;
        }
        kernels::WeightView view{dtype, data.data(), info->shape[0], info->shape[1]};
        out_.storage.push_back(std::move(data));
        return view;
    }

    // A 1-D tensor widened to F32 (norm weights, biases).
    Result<std::vector<float>> Vector(const std::string& name, int64_t expected) {
        const io::TensorInfo* info = model_.tensors->Find(name);
        if (info == nullptr) return Status::NotFound(model_.origin + ": missing tensor '" + name + "'");
        if (static_cast<int64_t>(info->NumElements()) != expected) {
            return Status::Corruption(model_.origin + ": tensor '" + name + "' has " +
                                      std::to_string(info->NumElements()) + " values, expected " +
                                      std::to_string(expected));
        }
        TP_ASSIGN_OR_RETURN(io::TensorData data, model_.tensors->Read(*info));
        std::vector<float> out(static_cast<size_t>(expected));
        TP_RETURN_IF_ERROR(CastTensor(info->dtype, data.bytes(), DType::kF32,
                                      {reinterpret_cast<std::byte*>(out.data()), out.size() * 4}, out.size()));
        return out;
    }

    bool Has(const std::string& name) const { return model_.tensors->Find(name) != nullptr; }

    // `out` x `in` is the layer's shape from the config (a quantized layout does not store it plainly).
    Result<Linear> LinearLayer(const std::string& prefix, bool transposed, bool with_bias, int64_t out, int64_t in) {
        Linear linear;
        linear.name = prefix;
        if (const std::optional<quantformat::Layout> layout = QuantizedLayoutOf(model_, prefix)) {
            TP_ASSIGN_OR_RETURN(LoadedQuantized loaded, LoadQuantizedLinear(model_, prefix, *layout, out, in));
            NoteQuantized(loaded);
            if (loaded.packed) {
                linear.packed = loaded.packed;
                out_.bytes_per_token += loaded.packed->StreamedBytes();
            } else {
                linear.weight = loaded.dense;
                out_.bytes_per_token += static_cast<uint64_t>(out) * in * 4;
            }
            out_.packed_storage.push_back(std::move(loaded.storage));
        } else {
            TP_ASSIGN_OR_RETURN(linear.weight, Matrix(prefix + ".weight"));
            linear.transposed = transposed;
            out_.bytes_per_token += static_cast<uint64_t>(linear.weight.rows) * linear.weight.cols *
                                    Traits(linear.weight.dtype).block_bytes;
        }
        if (linear.out() != out || linear.in() != in) {
            return Status::Corruption(model_.origin + ": layer '" + prefix + "' is " + std::to_string(linear.out()) +
                                      " x " + std::to_string(linear.in()) + ", the config implies " +
                                      std::to_string(out) + " x " + std::to_string(in));
        }
        if (with_bias) {
            TP_ASSIGN_OR_RETURN(linear.bias, Vector(prefix + ".bias", linear.out()));
        }
        return linear;
    }

    Result<Norm> NormLayer(const std::string& prefix, int64_t size, bool with_bias) {
        Norm norm;
        norm.name = prefix;
        TP_ASSIGN_OR_RETURN(norm.weight, Vector(prefix + ".weight", size));
        if (with_bias) {
            TP_ASSIGN_OR_RETURN(norm.bias, Vector(prefix + ".bias", size));
        }
        return norm;
    }

private:
    void NoteDequantized(DType dtype) {
        AddNote(std::string(DTypeName(dtype)) +
                " tensors are dequantized to F32 at load (no native kernel for them yet)");
    }

    void NoteQuantized(const LoadedQuantized& loaded) {
        if (loaded.packed) {
            AddNote(loaded.layout + " layers run on packed codes");
        } else {
            AddNote(loaded.layout + " layers dequantized to F32 at load: " + loaded.fallback_reason);
        }
    }

    void AddNote(const std::string& note) {
        for (const std::string& n : out_.notes) {
            if (n == note) return;
        }
        out_.notes.push_back(note);
    }

    const model::Model& model_;
    ModelWeights& out_;
};

Status LoadLlama(const model::Model& model, Loader& load, ModelWeights& w) {
    const model::ModelConfig& c = model.config;
    TP_ASSIGN_OR_RETURN(w.embed, load.Matrix("model.embed_tokens.weight"));
    TP_ASSIGN_OR_RETURN(w.final_norm, load.NormLayer("model.norm", c.hidden_size, false));
    if (load.Has("lm_head.weight")) {
        TP_ASSIGN_OR_RETURN(w.lm_head, load.LinearLayer("lm_head", false, false, c.vocab_size, c.hidden_size));
    } else {
        w.lm_head.weight = w.embed;
        w.bytes_per_token += static_cast<uint64_t>(w.embed.rows) * w.embed.cols * Traits(w.embed.dtype).block_bytes;
    }
    const int64_t q_dim = c.num_heads * c.head_dim;
    const int64_t kv_dim = c.num_kv_heads * c.head_dim;
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        LayerWeights layer;
        TP_ASSIGN_OR_RETURN(layer.attn_norm, load.NormLayer(p + "input_layernorm", c.hidden_size, false));
        TP_ASSIGN_OR_RETURN(layer.mlp_norm, load.NormLayer(p + "post_attention_layernorm", c.hidden_size, false));
        TP_ASSIGN_OR_RETURN(layer.q, load.LinearLayer(p + "self_attn.q_proj", false, c.qkv_bias, q_dim, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.k,
                            load.LinearLayer(p + "self_attn.k_proj", false, c.qkv_bias, kv_dim, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.v,
                            load.LinearLayer(p + "self_attn.v_proj", false, c.qkv_bias, kv_dim, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.o, load.LinearLayer(p + "self_attn.o_proj", false, false, c.hidden_size, q_dim));
        TP_ASSIGN_OR_RETURN(layer.gate,
                            load.LinearLayer(p + "mlp.gate_proj", false, false, c.intermediate_size, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.up,
                            load.LinearLayer(p + "mlp.up_proj", false, false, c.intermediate_size, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.down,
                            load.LinearLayer(p + "mlp.down_proj", false, false, c.hidden_size, c.intermediate_size));
        w.layers.push_back(std::move(layer));
    }
    return Status::Ok();
}

Status LoadGpt2(const model::Model& model, Loader& load, ModelWeights& w) {
    const model::ModelConfig& c = model.config;
    TP_ASSIGN_OR_RETURN(w.embed, load.Matrix("transformer.wte.weight"));
    TP_ASSIGN_OR_RETURN(w.positions, load.Matrix("transformer.wpe.weight"));
    TP_ASSIGN_OR_RETURN(w.final_norm, load.NormLayer("transformer.ln_f", c.hidden_size, true));
    if (load.Has("lm_head.weight")) {
        TP_ASSIGN_OR_RETURN(w.lm_head, load.LinearLayer("lm_head", false, false, c.vocab_size, c.hidden_size));
    } else {
        w.lm_head.weight = w.embed;
        w.bytes_per_token += static_cast<uint64_t>(w.embed.rows) * w.embed.cols * Traits(w.embed.dtype).block_bytes;
    }
    for (int64_t i = 0; i < c.num_layers; ++i) {
        const std::string p = "transformer.h." + std::to_string(i) + ".";
        LayerWeights layer;
        TP_ASSIGN_OR_RETURN(layer.attn_norm, load.NormLayer(p + "ln_1", c.hidden_size, true));
        TP_ASSIGN_OR_RETURN(layer.mlp_norm, load.NormLayer(p + "ln_2", c.hidden_size, true));
        TP_ASSIGN_OR_RETURN(layer.qkv,
                            load.LinearLayer(p + "attn.c_attn", true, true, 3 * c.hidden_size, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.o, load.LinearLayer(p + "attn.c_proj", true, true, c.hidden_size, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.up, load.LinearLayer(p + "mlp.c_fc", true, true, c.intermediate_size, c.hidden_size));
        TP_ASSIGN_OR_RETURN(layer.down,
                            load.LinearLayer(p + "mlp.c_proj", true, true, c.hidden_size, c.intermediate_size));
        w.layers.push_back(std::move(layer));
    }
    return Status::Ok();
}

}  // namespace

Result<ModelWeights> LoadWeights(const model::Model& model) {
    ModelWeights weights;
    Loader loader(model, weights);
    if (model.config.architecture == "llama") {
        TP_RETURN_IF_ERROR(LoadLlama(model, loader, weights));
    } else if (model.config.architecture == "gpt2") {
        TP_RETURN_IF_ERROR(LoadGpt2(model, loader, weights));
    } else {
        return Status::Unsupported(model.origin + ": the engine does not run architecture '" +
                                   model.config.architecture + "' (supported: llama, mistral, qwen2, gpt2)");
    }
    return weights;
}

void ReadRow(const kernels::WeightView& matrix, int64_t row, float* out) {
    const size_t n = static_cast<size_t>(matrix.cols);
    const size_t elem = Traits(matrix.dtype).block_bytes;
    const std::byte* src = static_cast<const std::byte*>(matrix.data) + static_cast<size_t>(row) * n * elem;
    switch (matrix.dtype) {
        case DType::kF32:
            std::memcpy(out, src, n * 4);
            break;
        case DType::kF16:
            ConvertF16ToF32(reinterpret_cast<const uint16_t*>(src), out, n);
            break;
        case DType::kBF16:
            ConvertBF16ToF32(reinterpret_cast<const uint16_t*>(src), out, n);
            break;
        default:
            TP_CHECK(false && "ReadRow: weights are F32, F16 or BF16 after loading");
    }
}

}  // namespace tenpak::engine::internal
