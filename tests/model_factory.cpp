#include "model_factory.h"

#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

#include "tenpak/core/cast.h"
#include "tenpak/io/safetensors.h"
#include "test_util.h"

namespace tenpak::testing {
namespace {

struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
};

void WriteTensors(const std::string& dir, const std::vector<Tensor>& tensors, DType dtype, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.5f);
    std::vector<io::TensorInfo> plan;
    for (const Tensor& t : tensors) {
        io::TensorInfo info{t.name, dtype, t.shape, 0};
        info.nbytes = *TensorByteSize(dtype, t.shape);
        plan.push_back(info);
    }
    auto writer = io::SafetensorsWriter::Create(dir + "/model.safetensors", {{"format", "pt"}});
    if (!writer.ok()) throw std::runtime_error(writer.status().ToString());
    if (!(*writer)->Begin(plan).ok()) throw std::runtime_error("Begin failed");
    for (const io::TensorInfo& info : plan) {
        std::vector<float> values(info.NumElements());
        const bool is_norm = info.shape.size() == 1 && info.name.find("bias") == std::string::npos;
        for (float& v : values) v = is_norm ? 1.0f + 0.1f * normal(rng) : normal(rng);
        std::vector<std::byte> bytes(info.nbytes);
        Status st = CastTensor(DType::kF32, {reinterpret_cast<const std::byte*>(values.data()), values.size() * 4},
                               dtype, bytes, values.size());
        if (!st.ok()) throw std::runtime_error(st.ToString());
        if (!(*writer)->Write(info.name, bytes).ok()) throw std::runtime_error("Write failed");
    }
    if (!(*writer)->Finish().ok()) throw std::runtime_error("Finish failed");
}

std::string TorchName(DType dtype) {
    return dtype == DType::kF16 ? "float16" : dtype == DType::kBF16 ? "bfloat16" : "float32";
}

}  // namespace

nlohmann::json ConfigJson(const TinyLlama& s) {
    const std::string cls = s.model_type == "qwen2"     ? "Qwen2ForCausalLM"
                            : s.model_type == "mistral" ? "MistralForCausalLM"
                                                        : "LlamaForCausalLM";
    return {{"architectures", {cls}},
            {"model_type", s.model_type},
            {"vocab_size", s.vocab},
            {"hidden_size", s.hidden},
            {"intermediate_size", s.intermediate},
            {"num_hidden_layers", s.layers},
            {"num_attention_heads", s.heads},
            {"num_key_value_heads", s.kv_heads},
            {"max_position_embeddings", s.context},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0},
            {"tie_word_embeddings", s.tied},
            {"bos_token_id", 1},
            {"eos_token_id", 2},
            {"torch_dtype", TorchName(s.dtype)}};
}

void WriteTinyLlama(const std::string& dir, const TinyLlama& s) {
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/config.json", ConfigJson(s).dump(2));
    const int64_t head_dim = s.hidden / s.heads;
    const int64_t q = s.heads * head_dim, kv = s.kv_heads * head_dim;
    std::vector<Tensor> t = {{"model.embed_tokens.weight", {s.vocab, s.hidden}}, {"model.norm.weight", {s.hidden}}};
    if (!s.tied) t.push_back({"lm_head.weight", {s.vocab, s.hidden}});
    for (int64_t i = 0; i < s.layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        t.push_back({p + "input_layernorm.weight", {s.hidden}});
        t.push_back({p + "self_attn.q_proj.weight", {q, s.hidden}});
        t.push_back({p + "self_attn.k_proj.weight", {kv, s.hidden}});
        t.push_back({p + "self_attn.v_proj.weight", {kv, s.hidden}});
        if (s.model_type == "qwen2") {
            t.push_back({p + "self_attn.q_proj.bias", {q}});
            t.push_back({p + "self_attn.k_proj.bias", {kv}});
            t.push_back({p + "self_attn.v_proj.bias", {kv}});
        }
        t.push_back({p + "self_attn.o_proj.weight", {s.hidden, q}});
        t.push_back({p + "post_attention_layernorm.weight", {s.hidden}});
        t.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}});
        t.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}});
        t.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}});
    }
    WriteTensors(dir, t, s.dtype, s.seed);
}

void WriteTinyGpt2(const std::string& dir, const TinyGpt2& s) {
    std::filesystem::create_directories(dir);
    const nlohmann::json config = {{"architectures", {"GPT2LMHeadModel"}},
                                   {"model_type", "gpt2"},
                                   {"vocab_size", s.vocab},
                                   {"n_embd", s.hidden},
                                   {"n_layer", s.layers},
                                   {"n_head", s.heads},
                                   {"n_positions", s.context},
                                   {"n_ctx", s.context},
                                   {"layer_norm_epsilon", 1e-5},
                                   {"activation_function", "gelu_new"},
                                   {"bos_token_id", 0},
                                   {"eos_token_id", 0},
                                   {"torch_dtype", TorchName(s.dtype)}};
    WriteFile(dir + "/config.json", config.dump(2));
    const std::string root = s.with_prefix ? "transformer." : "";
    const int64_t h = s.hidden;
    std::vector<Tensor> t = {{root + "wte.weight", {s.vocab, h}},
                             {root + "wpe.weight", {s.context, h}},
                             {root + "ln_f.weight", {h}},
                             {root + "ln_f.bias", {h}}};
    for (int64_t i = 0; i < s.layers; ++i) {
        const std::string p = root + "h." + std::to_string(i) + ".";
        t.push_back({p + "ln_1.weight", {h}});
        t.push_back({p + "ln_1.bias", {h}});
        t.push_back({p + "attn.c_attn.weight", {h, 3 * h}});
        t.push_back({p + "attn.c_attn.bias", {3 * h}});
        t.push_back({p + "attn.c_proj.weight", {h, h}});
        t.push_back({p + "attn.c_proj.bias", {h}});
        t.push_back({p + "ln_2.weight", {h}});
        t.push_back({p + "ln_2.bias", {h}});
        t.push_back({p + "mlp.c_fc.weight", {h, 4 * h}});
        t.push_back({p + "mlp.c_fc.bias", {4 * h}});
        t.push_back({p + "mlp.c_proj.weight", {4 * h, h}});
        t.push_back({p + "mlp.c_proj.bias", {h}});
        if (s.with_mask_buffers) t.push_back({p + "attn.bias", {1, 1, s.context, s.context}});
    }
    WriteTensors(dir, t, s.dtype, s.seed);
}

}  // namespace tenpak::testing
