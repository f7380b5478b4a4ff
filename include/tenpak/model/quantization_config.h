// The `quantization_config` of a pre-quantized Hugging Face folder (GPTQ, AWQ, bitsandbytes), read
// the way vLLM, TGI and transformers read it (shared/formats.md B.6, C.3, D.3), so that TenPak opens
// folders written by AutoGPTQ, GPTQModel, AutoAWQ and bitsandbytes as well as its own.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tenpak/core/result.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::model {

struct QuantizationConfig {
    std::string quant_method;  // "gptq", "awq", "bitsandbytes"
    quantformat::Layout layout = quantformat::Layout::kGptq;
    quantformat::LayoutParams params;
    bool desc_act = false;                          // GPTQ act-order (g_idx is read either way)
    bool double_quant = false;                      // bitsandbytes 4-bit
    nlohmann::json raw = nlohmann::json::object();  // as read
};

// Reads config.json's "quantization_config", or else the legacy side files a folder may carry
// (`quantize_config_text`: quantize_config.json, `quant_config_text`: quant_config.json; empty when
// absent). nullopt when the model is not quantized. Errors name the file and key; methods TenPak
// cannot run (e.g. AWQ's GEMV layout, exl2) are kUnsupported with the supported list.
Result<std::optional<QuantizationConfig>> ReadQuantizationConfig(const nlohmann::json& config,
                                                                 const std::string& quantize_config_text,
                                                                 const std::string& quant_config_text,
                                                                 const std::string& folder);

}  // namespace tenpak::model
