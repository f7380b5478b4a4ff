// The GPT-2 family: learned positions, LayerNorm (with bias), fused q/k/v, GELU (tanh) MLP, output
// head tied to the token embedding. HF stores the linear layers as Conv1D, i.e. [in, out]; llama.cpp
// stores them [out, in] (convert_hf_to_gguf transposes them), which `conv1d` records.
#include "config_keys.h"
#include "tenpak/model/model_spec.h"

namespace tenpak::model {
namespace {
using internal::NumberOr;
using internal::PositiveIntOr;
using internal::RequiredPositiveInt;
using nlohmann::json;

const TensorRole kRoles[] = {
    {"transformer.wte.weight", "token_embd.weight", "", {Dim::kVocab, Dim::kHidden}},
    {"transformer.wpe.weight", "position_embd.weight", "", {Dim::kPositions, Dim::kHidden}},
    {"transformer.ln_f.weight", "output_norm.weight", "", {Dim::kHidden}},
    {"transformer.ln_f.bias", "output_norm.bias", "", {Dim::kHidden}},
    {"lm_head.weight", "output.weight", "", {Dim::kVocab, Dim::kHidden}, RowLayout::kSame, -1, Presence::kWhenUntied},
    {"transformer.h.{i}.ln_1.weight", "blk.{i}.attn_norm.weight", "", {Dim::kHidden}},
    {"transformer.h.{i}.ln_1.bias", "blk.{i}.attn_norm.bias", "", {Dim::kHidden}},
    {"transformer.h.{i}.attn.c_attn.weight",
     "blk.{i}.attn_qkv.weight",
     "",
     {Dim::kHidden, Dim::kFusedQkv},
     RowLayout::kSame,
     0,
     Presence::kAlways,
     /*conv1d=*/true},
    {"transformer.h.{i}.attn.c_attn.bias", "blk.{i}.attn_qkv.bias", "", {Dim::kFusedQkv}},
    {"transformer.h.{i}.attn.c_proj.weight",
     "blk.{i}.attn_output.weight",
     "",
     {Dim::kHidden, Dim::kHidden},
     RowLayout::kSame,
     1,
     Presence::kAlways,
     true},
    {"transformer.h.{i}.attn.c_proj.bias", "blk.{i}.attn_output.bias", "", {Dim::kHidden}},
    {"transformer.h.{i}.ln_2.weight", "blk.{i}.ffn_norm.weight", "", {Dim::kHidden}},
    {"transformer.h.{i}.ln_2.bias", "blk.{i}.ffn_norm.bias", "", {Dim::kHidden}},
    {"transformer.h.{i}.mlp.c_fc.weight",
     "blk.{i}.ffn_up.weight",
     "",
     {Dim::kHidden, Dim::kIntermediate},
     RowLayout::kSame,
     2,
     Presence::kAlways,
     true},
    {"transformer.h.{i}.mlp.c_fc.bias", "blk.{i}.ffn_up.bias", "", {Dim::kIntermediate}},
    {"transformer.h.{i}.mlp.c_proj.weight",
     "blk.{i}.ffn_down.weight",
     "",
     {Dim::kIntermediate, Dim::kHidden},
     RowLayout::kSame,
     3,
     Presence::kAlways,
     true},
    {"transformer.h.{i}.mlp.c_proj.bias", "blk.{i}.ffn_down.bias", "", {Dim::kHidden}},
    // Causal-mask buffers that old checkpoints saved: not weights.
    {"transformer.h.{i}.attn.bias", "", "", {}, RowLayout::kSame, -1, Presence::kBuffer},
    {"transformer.h.{i}.attn.masked_bias", "", "", {}, RowLayout::kSame, -1, Presence::kBuffer},
};

const ModelVariant kVariants[] = {
    {"gpt2", "GPT2LMHeadModel", "gpt2", false, false},
};

Result<ModelConfig> FromHf(const json& raw, const ModelVariant& variant) {
    ModelConfig c;
    c.model_type = std::string(variant.model_type);
    c.architecture = "gpt2";
    c.raw = raw;
    TP_ASSIGN_OR_RETURN(c.vocab_size, RequiredPositiveInt(raw, "vocab_size"));
    TP_ASSIGN_OR_RETURN(c.hidden_size, RequiredPositiveInt(raw, "n_embd"));
    TP_ASSIGN_OR_RETURN(c.num_layers, RequiredPositiveInt(raw, "n_layer"));
    TP_ASSIGN_OR_RETURN(c.num_heads, RequiredPositiveInt(raw, "n_head"));
    TP_ASSIGN_OR_RETURN(c.intermediate_size, PositiveIntOr(raw, "n_inner", 4 * c.hidden_size));
    TP_ASSIGN_OR_RETURN(c.max_position_embeddings, PositiveIntOr(raw, "n_positions", 1024));
    TP_ASSIGN_OR_RETURN(c.norm_eps, NumberOr(raw, "layer_norm_epsilon", 1e-5));
    if (c.hidden_size % c.num_heads != 0) {
        return Status::InvalidArgument("n_embd " + std::to_string(c.hidden_size) + " is not a multiple of n_head " +
                                       std::to_string(c.num_heads));
    }
    c.num_kv_heads = c.num_heads;
    c.head_dim = c.hidden_size / c.num_heads;
    c.tie_word_embeddings = internal::BoolOr(raw, "tie_word_embeddings", true);
    TP_RETURN_IF_ERROR(internal::FinishConfigFromHf(raw, c));
    return c;
}

json ToHf(const ModelConfig& c, const ModelVariant& variant) {
    json out = internal::BaseHfConfig(c, variant.hf_class, variant.model_type);
    out["vocab_size"] = c.vocab_size;
    out["n_embd"] = c.hidden_size;
    out["n_layer"] = c.num_layers;
    out["n_head"] = c.num_heads;
    out["n_positions"] = c.max_position_embeddings;
    out["n_ctx"] = c.max_position_embeddings;
    out["n_inner"] = c.intermediate_size == 4 * c.hidden_size ? json(nullptr) : json(c.intermediate_size);
    out["layer_norm_epsilon"] = c.norm_eps;
    if (!out.contains("activation_function")) out["activation_function"] = "gelu_new";
    return out;
}

Result<ModelConfig> FromGguf(const io::GgufMetadata& m, const ModelVariant& variant) {
    ModelConfig c;
    c.model_type = std::string(variant.model_type);
    c.architecture = "gpt2";
    TP_ASSIGN_OR_RETURN(c.hidden_size, internal::RequiredGgufUInt(m, "gpt2.embedding_length"));
    TP_ASSIGN_OR_RETURN(c.num_layers, internal::RequiredGgufUInt(m, "gpt2.block_count"));
    TP_ASSIGN_OR_RETURN(c.num_heads, internal::RequiredGgufUInt(m, "gpt2.attention.head_count"));
    c.intermediate_size =
        static_cast<int64_t>(internal::GgufUInt(m, "gpt2.feed_forward_length").value_or(4 * c.hidden_size));
    c.max_position_embeddings = static_cast<int64_t>(internal::GgufUInt(m, "gpt2.context_length").value_or(1024));
    c.norm_eps = internal::GgufFloat(m, "gpt2.attention.layer_norm_epsilon").value_or(1e-5);
    c.num_kv_heads = c.num_heads;
    c.head_dim = c.hidden_size / c.num_heads;
    c.tie_word_embeddings = true;
    if (const io::GgufValue* tokens = io::FindGgufKey(m, "tokenizer.ggml.tokens"); tokens && tokens->AsArray()) {
        c.vocab_size = static_cast<int64_t>(tokens->AsArray()->items.size());
    }
    return c;
}

void ToGguf(const ModelConfig& c, const ModelVariant&, io::GgufMetadata& m) {
    auto u32 = [](int64_t v) { return io::GgufValue::U32(static_cast<uint32_t>(v)); };
    m.emplace_back("gpt2.block_count", u32(c.num_layers));
    m.emplace_back("gpt2.context_length", u32(c.max_position_embeddings));
    m.emplace_back("gpt2.embedding_length", u32(c.hidden_size));
    m.emplace_back("gpt2.feed_forward_length", u32(c.intermediate_size));
    m.emplace_back("gpt2.attention.head_count", u32(c.num_heads));
    m.emplace_back("gpt2.attention.layer_norm_epsilon", io::GgufValue::F32(static_cast<float>(c.norm_eps)));
}

}  // namespace

extern const ModelSpec kGpt2Spec;
const ModelSpec kGpt2Spec = {"gpt2", kVariants, kRoles, FromHf, ToHf, FromGguf, ToGguf, "transformer."};

}  // namespace tenpak::model
