// The llama family: Llama 1-3, Mistral, TinyLlama (model_type "llama" / "mistral"), and Qwen2,
// which adds q/k/v biases and keeps HF's rotary layout in GGUF (llama.cpp runs it as NeoX rope).
//
// RMSNorm -> attention (rotary, grouped-query) -> residual -> RMSNorm -> SwiGLU MLP -> residual.
// Names: transformers' LlamaForCausalLM, llama.cpp's gguf-py constants (MODEL_ARCH.LLAMA),
// and Meta's original / llama2.c names.
#include "config_keys.h"
#include "tenpak/model/model_spec.h"

namespace tenpak::model {
namespace {
using internal::BoolOr;
using internal::NumberOr;
using internal::PositiveIntOr;
using internal::RequiredPositiveInt;
using nlohmann::json;

const TensorRole kRoles[] = {
    {"model.embed_tokens.weight", "token_embd.weight", "tok_embeddings.weight", {Dim::kVocab, Dim::kHidden}},
    {"model.norm.weight", "output_norm.weight", "norm.weight", {Dim::kHidden}},
    {"lm_head.weight",
     "output.weight",
     "output.weight",
     {Dim::kVocab, Dim::kHidden},
     RowLayout::kSame,
     -1,
     Presence::kWhenUntied},
    {"model.layers.{i}.input_layernorm.weight",
     "blk.{i}.attn_norm.weight",
     "layers.{i}.attention_norm.weight",
     {Dim::kHidden}},
    {"model.layers.{i}.self_attn.q_proj.weight",
     "blk.{i}.attn_q.weight",
     "layers.{i}.attention.wq.weight",
     {Dim::kQueryDim, Dim::kHidden},
     RowLayout::kRotaryQuery,
     0},
    {"model.layers.{i}.self_attn.k_proj.weight",
     "blk.{i}.attn_k.weight",
     "layers.{i}.attention.wk.weight",
     {Dim::kKeyValueDim, Dim::kHidden},
     RowLayout::kRotaryKey,
     0},
    {"model.layers.{i}.self_attn.v_proj.weight",
     "blk.{i}.attn_v.weight",
     "layers.{i}.attention.wv.weight",
     {Dim::kKeyValueDim, Dim::kHidden},
     RowLayout::kSame,
     0},
    {"model.layers.{i}.self_attn.q_proj.bias",
     "blk.{i}.attn_q.bias",
     "",
     {Dim::kQueryDim},
     RowLayout::kRotaryQuery,
     -1,
     Presence::kWhenQkvBias},
    {"model.layers.{i}.self_attn.k_proj.bias",
     "blk.{i}.attn_k.bias",
     "",
     {Dim::kKeyValueDim},
     RowLayout::kRotaryKey,
     -1,
     Presence::kWhenQkvBias},
    {"model.layers.{i}.self_attn.v_proj.bias",
     "blk.{i}.attn_v.bias",
     "",
     {Dim::kKeyValueDim},
     RowLayout::kSame,
     -1,
     Presence::kWhenQkvBias},
    {"model.layers.{i}.self_attn.o_proj.weight",
     "blk.{i}.attn_output.weight",
     "layers.{i}.attention.wo.weight",
     {Dim::kHidden, Dim::kQueryDim},
     RowLayout::kSame,
     1},
    {"model.layers.{i}.post_attention_layernorm.weight",
     "blk.{i}.ffn_norm.weight",
     "layers.{i}.ffn_norm.weight",
     {Dim::kHidden}},
    {"model.layers.{i}.mlp.gate_proj.weight",
     "blk.{i}.ffn_gate.weight",
     "layers.{i}.feed_forward.w1.weight",
     {Dim::kIntermediate, Dim::kHidden},
     RowLayout::kSame,
     2},
    {"model.layers.{i}.mlp.up_proj.weight",
     "blk.{i}.ffn_up.weight",
     "layers.{i}.feed_forward.w3.weight",
     {Dim::kIntermediate, Dim::kHidden},
     RowLayout::kSame,
     2},
    {"model.layers.{i}.mlp.down_proj.weight",
     "blk.{i}.ffn_down.weight",
     "layers.{i}.feed_forward.w2.weight",
     {Dim::kHidden, Dim::kIntermediate},
     RowLayout::kSame,
     3},
};

const ModelVariant kVariants[] = {
    {"llama", "LlamaForCausalLM", "llama", /*gguf_permutes_rotary=*/true, /*qkv_bias=*/false},
    {"mistral", "MistralForCausalLM", "llama", true, false},
    {"qwen2", "Qwen2ForCausalLM", "qwen2", false, true},
};

Result<ModelConfig> FromHf(const json& raw, const ModelVariant& variant) {
    ModelConfig c;
    c.model_type = std::string(variant.model_type);
    c.architecture = "llama";
    c.raw = raw;
    TP_ASSIGN_OR_RETURN(c.vocab_size, RequiredPositiveInt(raw, "vocab_size"));
    TP_ASSIGN_OR_RETURN(c.hidden_size, RequiredPositiveInt(raw, "hidden_size"));
    TP_ASSIGN_OR_RETURN(c.intermediate_size, RequiredPositiveInt(raw, "intermediate_size"));
    TP_ASSIGN_OR_RETURN(c.num_layers, RequiredPositiveInt(raw, "num_hidden_layers"));
    TP_ASSIGN_OR_RETURN(c.num_heads, RequiredPositiveInt(raw, "num_attention_heads"));
    TP_ASSIGN_OR_RETURN(c.num_kv_heads, PositiveIntOr(raw, "num_key_value_heads", c.num_heads));
    if (c.hidden_size % c.num_heads != 0 && !raw.contains("head_dim")) {
        return Status::InvalidArgument("hidden_size " + std::to_string(c.hidden_size) +
                                       " is not a multiple of num_attention_heads " + std::to_string(c.num_heads));
    }
    TP_ASSIGN_OR_RETURN(c.head_dim, PositiveIntOr(raw, "head_dim", c.hidden_size / c.num_heads));
    TP_ASSIGN_OR_RETURN(c.max_position_embeddings, PositiveIntOr(raw, "max_position_embeddings", 2048));
    TP_ASSIGN_OR_RETURN(c.norm_eps, NumberOr(raw, "rms_norm_eps", 1e-6));  // transformers' LlamaConfig default
    TP_ASSIGN_OR_RETURN(c.rope_theta, NumberOr(raw, "rope_theta", 10000.0));
    c.tie_word_embeddings = BoolOr(raw, "tie_word_embeddings", false);
    c.qkv_bias = variant.qkv_bias || BoolOr(raw, "attention_bias", false);
    TP_RETURN_IF_ERROR(internal::FinishConfigFromHf(raw, c));
    return c;
}

json ToHf(const ModelConfig& c, const ModelVariant& variant) {
    // Start from the config as read so that keys TenPak does not model survive; a config built
    // from GGUF or llama2.c gets transformers' defaults for the rest.
    json out = internal::BaseHfConfig(c, variant.hf_class, variant.model_type);
    out["hidden_size"] = c.hidden_size;
    out["intermediate_size"] = c.intermediate_size;
    out["num_hidden_layers"] = c.num_layers;
    out["num_attention_heads"] = c.num_heads;
    out["num_key_value_heads"] = c.num_kv_heads;
    out["head_dim"] = c.head_dim;
    out["vocab_size"] = c.vocab_size;
    out["max_position_embeddings"] = c.max_position_embeddings;
    out["rms_norm_eps"] = c.norm_eps;
    out["rope_theta"] = c.rope_theta;
    if (!out.contains("rope_scaling")) out["rope_scaling"] = nullptr;
    if (!out.contains("hidden_act")) out["hidden_act"] = "silu";
    if (!variant.qkv_bias) out["attention_bias"] = c.qkv_bias;
    if (variant.model_type == "llama") {
        if (!out.contains("mlp_bias")) out["mlp_bias"] = false;
        if (!out.contains("pretraining_tp")) out["pretraining_tp"] = 1;
    }
    if (!out.contains("initializer_range")) out["initializer_range"] = 0.02;
    if (!out.contains("use_cache")) out["use_cache"] = true;
    return out;
}

Result<ModelConfig> FromGguf(const io::GgufMetadata& m, const ModelVariant& variant) {
    const std::string arch(variant.gguf_arch);
    ModelConfig c;
    c.model_type = std::string(variant.model_type);
    c.architecture = "llama";
    TP_ASSIGN_OR_RETURN(c.hidden_size, internal::RequiredGgufUInt(m, arch + ".embedding_length"));
    TP_ASSIGN_OR_RETURN(c.intermediate_size, internal::RequiredGgufUInt(m, arch + ".feed_forward_length"));
    TP_ASSIGN_OR_RETURN(c.num_layers, internal::RequiredGgufUInt(m, arch + ".block_count"));
    TP_ASSIGN_OR_RETURN(c.num_heads, internal::RequiredGgufUInt(m, arch + ".attention.head_count"));
    c.num_kv_heads =
        static_cast<int64_t>(internal::GgufUInt(m, arch + ".attention.head_count_kv").value_or(c.num_heads));
    c.head_dim = static_cast<int64_t>(
        internal::GgufUInt(m, arch + ".attention.key_length").value_or(c.hidden_size / c.num_heads));
    c.max_position_embeddings = static_cast<int64_t>(internal::GgufUInt(m, arch + ".context_length").value_or(2048));
    c.norm_eps = internal::GgufFloat(m, arch + ".attention.layer_norm_rms_epsilon").value_or(1e-5);
    c.rope_theta = internal::GgufFloat(m, arch + ".rope.freq_base").value_or(10000.0);
    c.qkv_bias = variant.qkv_bias;
    c.vocab_size = static_cast<int64_t>(internal::GgufUInt(m, arch + ".vocab_size").value_or(0));
    if (c.vocab_size == 0) {
        if (const io::GgufValue* tokens = io::FindGgufKey(m, "tokenizer.ggml.tokens"); tokens && tokens->AsArray()) {
            c.vocab_size = static_cast<int64_t>(tokens->AsArray()->items.size());
        }
    }
    if (auto bos = internal::GgufUInt(m, "tokenizer.ggml.bos_token_id"); bos && *bos < UINT32_MAX) {
        c.bos_token_id = static_cast<int64_t>(*bos);
    }
    if (auto eos = internal::GgufUInt(m, "tokenizer.ggml.eos_token_id"); eos && *eos < UINT32_MAX) {
        c.eos_token_id = static_cast<int64_t>(*eos);
    }
    return c;  // the loader sets vocab_size from the embedding when absent, and tie from output.weight
}

void ToGguf(const ModelConfig& c, const ModelVariant& variant, io::GgufMetadata& m) {
    const std::string arch(variant.gguf_arch);
    auto u32 = [](int64_t v) { return io::GgufValue::U32(static_cast<uint32_t>(v)); };
    m.emplace_back(arch + ".context_length", u32(c.max_position_embeddings));
    m.emplace_back(arch + ".embedding_length", u32(c.hidden_size));
    m.emplace_back(arch + ".feed_forward_length", u32(c.intermediate_size));
    m.emplace_back(arch + ".attention.head_count", u32(c.num_heads));
    m.emplace_back(arch + ".attention.head_count_kv", u32(c.num_kv_heads));
    m.emplace_back(arch + ".block_count", u32(c.num_layers));
    m.emplace_back(arch + ".rope.dimension_count", u32(c.head_dim));
    if (c.head_dim * c.num_heads != c.hidden_size) {
        m.emplace_back(arch + ".attention.key_length", u32(c.head_dim));
        m.emplace_back(arch + ".attention.value_length", u32(c.head_dim));
    }
    m.emplace_back(arch + ".attention.layer_norm_rms_epsilon", io::GgufValue::F32(static_cast<float>(c.norm_eps)));
    m.emplace_back(arch + ".rope.freq_base", io::GgufValue::F32(static_cast<float>(c.rope_theta)));
    m.emplace_back(arch + ".vocab_size", u32(c.vocab_size));
}

}  // namespace

extern const ModelSpec kLlamaSpec;
const ModelSpec kLlamaSpec = {"llama", kVariants, kRoles, FromHf, ToHf, FromGguf, ToGguf, ""};

ModelConfig ConfigFromLlama2c(const io::Llama2cHeader& h) {
    ModelConfig c;
    c.model_type = "llama";
    c.architecture = "llama";
    c.vocab_size = h.vocab_size;
    c.hidden_size = h.dim;
    c.intermediate_size = h.hidden_dim;
    c.num_layers = h.n_layers;
    c.num_heads = h.n_heads;
    c.num_kv_heads = h.n_kv_heads;
    c.head_dim = h.head_size();
    c.max_position_embeddings = h.seq_len;
    c.norm_eps = 1e-5;  // llama2.c's model.py ModelArgs.norm_eps
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = h.shared_classifier;
    c.bos_token_id = 1;  // llama2.c's sentencepiece tokenizers
    c.eos_token_id = 2;
    c.torch_dtype = "float32";
    return c;
}

}  // namespace tenpak::model
