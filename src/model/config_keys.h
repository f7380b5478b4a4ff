// Small typed readers for config.json values and GGUF metadata keys, shared by the family files.
// Errors name the key; callers add the file name.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tenpak/core/result.h"
#include "tenpak/io/gguf.h"
#include "tenpak/model/model_config.h"

namespace tenpak::model::internal {

// A positive integer that must be present.
Result<int64_t> RequiredPositiveInt(const nlohmann::json& config, const char* key);
// A positive integer, or `fallback` when the key is absent or null.
Result<int64_t> PositiveIntOr(const nlohmann::json& config, const char* key, int64_t fallback);
// A number, or `fallback` when absent or null.
Result<double> NumberOr(const nlohmann::json& config, const char* key, double fallback);
bool BoolOr(const nlohmann::json& config, const char* key, bool fallback);
// A token id: an integer, or the first of a list (Llama 3.1 lists several eos ids).
std::optional<int64_t> TokenId(const nlohmann::json& config, const char* key);
std::string StringOr(const nlohmann::json& config, const char* key, const std::string& fallback);

// The keys every family reads the same way (token ids, dtype), then ValidateConfig.
Status FinishConfigFromHf(const nlohmann::json& raw, ModelConfig& config);
// config.raw (keys TenPak does not model survive) with the keys every family writes the same way:
// architectures, model_type, tie_word_embeddings, token ids, torch_dtype.
nlohmann::json BaseHfConfig(const ModelConfig& config, std::string_view hf_class, std::string_view model_type);

Result<int64_t> RequiredGgufUInt(const io::GgufMetadata& metadata, const std::string& key);
std::optional<uint64_t> GgufUInt(const io::GgufMetadata& metadata, const std::string& key);
std::optional<double> GgufFloat(const io::GgufMetadata& metadata, const std::string& key);

}  // namespace tenpak::model::internal
