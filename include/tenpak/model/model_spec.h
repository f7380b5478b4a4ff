// ModelSpec: what TenPak knows about one transformer family. It is data plus a few small
// functions: the tensors the family has (with their names in each file convention), which of them
// are linear layers a quantizer may replace and in which order they run, and how to read and write
// its hyper-parameters. Adding a family is one file in src/model/ plus one row in registry.cpp.
//
// Name conventions: kHuggingFace is TenPak's canonical one (every TensorSource handed to the rest
// of TenPak by OpenModel uses HF names and HF tensor layouts); kGguf is llama.cpp's; kMeta is the
// original Llama / llama2.c naming.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/result.h"
#include "tenpak/io/gguf.h"
#include "tenpak/io/llama2c.h"
#include "tenpak/model/model_config.h"

namespace tenpak::model {

enum class Naming : uint8_t { kHuggingFace = 0, kGguf = 1, kMeta = 2 };

// How a tensor's rows differ between the HF layout and the GGUF / Meta layout.
enum class RowLayout : uint8_t {
    kSame = 0,
    kRotaryQuery = 1,  // q_proj: rotary pairs as halves (HF) vs adjacent (Meta/GGUF); heads = num_heads
    kRotaryKey = 2,    // k_proj: the same with num_kv_heads
};

// Symbolic dimensions, resolved against a ModelConfig by ExpectedShape().
enum class Dim : uint8_t {
    kVocab = 0,
    kHidden = 1,
    kIntermediate = 2,
    kQueryDim = 3,     // num_heads x head_dim
    kKeyValueDim = 4,  // num_kv_heads x head_dim
    kPositions = 5,    // max_position_embeddings (GPT-2's learned positions)
    kFusedQkv = 6,     // 3 x hidden (GPT-2's c_attn)
};

// When a role's tensor exists in a model.
enum class Presence : uint8_t {
    kAlways = 0,
    kWhenUntied = 1,   // lm_head: only when the output head is not the embedding
    kWhenQkvBias = 2,  // q/k/v biases (Qwen2, llama with attention_bias)
    kBuffer = 3,       // not a weight (GPT-2's attn.bias causal mask): dropped on read
};

// One kind of tensor in the family. Patterns contain "{i}" for the layer index when per-layer.
// An empty pattern means the convention has no such tensor.
struct TensorRole {
    std::string_view hf;
    std::string_view gguf;
    std::string_view meta;
    std::vector<Dim> dims;  // HF shape, outermost first
    RowLayout row_layout = RowLayout::kSame;
    // Linear layers a quantizer may replace; `sequential_group` orders them as they run inside a
    // block (GPTQ's true-sequential order): 0 q/k/v, 1 o, 2 gate/up, 3 down. -1 for non-linear.
    int sequential_group = -1;
    Presence presence = Presence::kAlways;
    bool conv1d = false;  // GPT-2 Conv1D: stored [in, out] in HF, [out, in] in GGUF

    bool per_layer() const { return hf.find("{i}") != std::string_view::npos; }
    bool is_linear() const { return sequential_group >= 0; }
    std::string_view pattern(Naming naming) const;
};

// A model_type within a family and how llama.cpp names it.
struct ModelVariant {
    std::string_view model_type;        // config.json "model_type"
    std::string_view hf_class;          // config.json "architectures"[0]
    std::string_view gguf_arch;         // general.architecture
    bool gguf_permutes_rotary = false;  // llama.cpp's "llama" arch rotates adjacent pairs
    bool qkv_bias = false;
};

struct ModelSpec {
    std::string_view family;  // "llama", "gpt2"
    std::span<const ModelVariant> variants;
    std::span<const TensorRole> roles;

    Result<ModelConfig> (*config_from_hf)(const nlohmann::json& config, const ModelVariant& variant);
    nlohmann::json (*config_to_hf)(const ModelConfig& config, const ModelVariant& variant);
    Result<ModelConfig> (*config_from_gguf)(const io::GgufMetadata& metadata, const ModelVariant& variant);
    // Appends the `<arch>.*` keys llama.cpp needs.
    void (*config_to_gguf)(const ModelConfig& config, const ModelVariant& variant, io::GgufMetadata& metadata);
    // HF checkpoints of some families omit a leading module name ("h.0..." for
    // "transformer.h.0..."); names are canonicalised by adding it.
    std::string_view hf_optional_prefix;

    const ModelVariant* FindVariant(std::string_view model_type) const;
    const ModelVariant* FindGgufVariant(std::string_view gguf_arch) const;
};

// The registry (registry.cpp): every family TenPak supports.
std::span<const ModelSpec* const> AllSpecs();
// Looks a config.json model_type up across families; sets *variant.
const ModelSpec* FindSpecByModelType(std::string_view model_type, const ModelVariant** variant);
const ModelSpec* FindSpecByGgufArch(std::string_view gguf_arch, const ModelVariant** variant);
// "llama, mistral, qwen2, gpt2": for error messages.
std::string SupportedModelTypes();

// A tensor name matched against a spec.
struct RoleMatch {
    const TensorRole* role = nullptr;
    int layer = -1;  // -1 for non-layer tensors
};
std::optional<RoleMatch> MatchName(const ModelSpec& spec, std::string_view name, Naming naming);
// The role's name in `naming` for `layer`; empty when the convention has no such tensor.
std::string RoleName(const TensorRole& role, Naming naming, int layer);

// The HF shape a role's tensor must have under `config`; nullopt when the role does not exist
// for it (a bias the model has not, a tied lm_head, a buffer).
std::optional<std::vector<int64_t>> ExpectedShape(const TensorRole& role, const ModelConfig& config);

// Parameter count of a config as the spec describes it (tied embeddings counted once).
uint64_t ExpectedParameterCount(const ModelSpec& spec, const ModelConfig& config);

// llama2.c's header as a llama config.
ModelConfig ConfigFromLlama2c(const io::Llama2cHeader& header);

}  // namespace tenpak::model
