#include "config_keys.h"

namespace tenpak::model::internal {
using nlohmann::json;

Result<int64_t> PositiveIntOr(const json& config, const char* key, int64_t fallback) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
        return Status::InvalidArgument(std::string("'") + key + "' must be a positive integer, found " + it->dump());
    }
    return it->get<int64_t>();
}

Result<int64_t> RequiredPositiveInt(const json& config, const char* key) {
    if (!config.contains(key) || config[key].is_null()) {
        return Status::InvalidArgument(std::string("required key '") + key + "' is missing");
    }
    return PositiveIntOr(config, key, 0);
}

Result<double> NumberOr(const json& config, const char* key, double fallback) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return fallback;
    if (!it->is_number())
        return Status::InvalidArgument(std::string("'") + key + "' must be a number, found " + it->dump());
    return it->get<double>();
}

bool BoolOr(const json& config, const char* key, bool fallback) {
    const auto it = config.find(key);
    if (it == config.end() || !it->is_boolean()) return fallback;
    return it->get<bool>();
}

std::optional<int64_t> TokenId(const json& config, const char* key) {
    const auto it = config.find(key);
    if (it == config.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();
    return std::nullopt;
}

std::string StringOr(const json& config, const char* key, const std::string& fallback) {
    const auto it = config.find(key);
    if (it == config.end() || !it->is_string()) return fallback;
    return it->get<std::string>();
}

Status FinishConfigFromHf(const json& raw, ModelConfig& config) {
    config.bos_token_id = TokenId(raw, "bos_token_id");
    config.eos_token_id = TokenId(raw, "eos_token_id");
    // Newer transformers write "dtype" where older ones wrote "torch_dtype".
    config.torch_dtype = StringOr(raw, "torch_dtype", StringOr(raw, "dtype", "float32"));
    return ValidateConfig(config);
}

json BaseHfConfig(const ModelConfig& config, std::string_view hf_class, std::string_view model_type) {
    json out = config.raw.is_object() ? config.raw : json::object();
    out["architectures"] = {hf_class};
    out["model_type"] = model_type;
    out["tie_word_embeddings"] = config.tie_word_embeddings;
    if (config.bos_token_id) out["bos_token_id"] = *config.bos_token_id;
    // A list of eos ids (Llama 3.1) is kept as it was; TenPak models only the first.
    if (config.eos_token_id && !(out.contains("eos_token_id") && out["eos_token_id"].is_array())) {
        out["eos_token_id"] = *config.eos_token_id;
    }
    out["torch_dtype"] = config.torch_dtype;
    return out;
}

std::optional<uint64_t> GgufUInt(const io::GgufMetadata& metadata, const std::string& key) {
    const io::GgufValue* value = io::FindGgufKey(metadata, key);
    return value == nullptr ? std::nullopt : value->AsUInt();
}

std::optional<double> GgufFloat(const io::GgufMetadata& metadata, const std::string& key) {
    const io::GgufValue* value = io::FindGgufKey(metadata, key);
    return value == nullptr ? std::nullopt : value->AsFloat();
}

Result<int64_t> RequiredGgufUInt(const io::GgufMetadata& metadata, const std::string& key) {
    const std::optional<uint64_t> value = GgufUInt(metadata, key);
    if (!value || *value == 0 || *value > static_cast<uint64_t>(INT32_MAX)) {
        return Status::InvalidArgument("GGUF key '" + key + "' is missing or not a positive integer");
    }
    return static_cast<int64_t>(*value);
}

}  // namespace tenpak::model::internal
