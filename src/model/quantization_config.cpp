#include "tenpak/model/quantization_config.h"

#include <filesystem>

namespace tenpak::model {
namespace {

namespace fs = std::filesystem;
using quantformat::Layout;

// The first of `keys` present in `object` as an integer.
std::optional<int64_t> IntKey(const nlohmann::json& object, std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
        if (object.contains(key) && object[key].is_number_integer()) return object[key].get<int64_t>();
    }
    return std::nullopt;
}

std::optional<bool> BoolKey(const nlohmann::json& object, const char* key) {
    if (object.contains(key) && object[key].is_boolean()) return object[key].get<bool>();
    return std::nullopt;
}

std::string StringKey(const nlohmann::json& object, std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
        if (object.contains(key) && object[key].is_string()) return object[key].get<std::string>();
    }
    return {};
}

Status MissingKey(const std::string& where, const std::string& key) {
    return Status::InvalidArgument(where + ": quantization config has no '" + key + "'");
}

Result<QuantizationConfig> ReadGptq(const nlohmann::json& q, const std::string& where) {
    QuantizationConfig out;
    out.quant_method = "gptq";
    const std::optional<int64_t> bits = IntKey(q, {"bits"});
    if (!bits) return MissingKey(where, "bits");
    out.params.bits = static_cast<int>(*bits);
    out.params.group_size = IntKey(q, {"group_size"}).value_or(128);  // transformers' default
    out.params.symmetric = BoolKey(q, "sym").value_or(true);
    out.desc_act = BoolKey(q, "desc_act").value_or(false);
    const std::string format = StringKey(q, {"checkpoint_format", "format"});
    if (format.empty() || format == "gptq") {
        out.layout = Layout::kGptq;
    } else if (format == "gptq_v2") {
        out.layout = Layout::kGptqV2;
    } else {
        return Status::Unsupported(where + ": GPTQ checkpoint_format '" + format +
                                   "' is not supported (supported: gptq, gptq_v2)");
    }
    return out;
}

Result<QuantizationConfig> ReadAwq(const nlohmann::json& q, const std::string& where) {
    QuantizationConfig out;
    out.quant_method = "awq";
    out.layout = Layout::kAwqGemm;
    const std::optional<int64_t> bits = IntKey(q, {"bits", "w_bit"});
    if (!bits) return MissingKey(where, "bits");
    out.params.bits = static_cast<int>(*bits);
    out.params.group_size = IntKey(q, {"group_size", "q_group_size"}).value_or(128);
    out.params.symmetric = !BoolKey(q, "zero_point").value_or(true);
    std::string version = StringKey(q, {"version", "format"});
    for (char& c : version) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!version.empty() && version != "gemm") {
        return Status::Unsupported(where + ": AWQ version '" + version + "' is not supported (supported: gemm)");
    }
    return out;
}

Result<QuantizationConfig> ReadBitsAndBytes(const nlohmann::json& q, const std::string& where) {
    QuantizationConfig out;
    out.quant_method = "bitsandbytes";
    const bool four = BoolKey(q, "load_in_4bit").value_or(BoolKey(q, "_load_in_4bit").value_or(false));
    const bool eight = BoolKey(q, "load_in_8bit").value_or(BoolKey(q, "_load_in_8bit").value_or(false));
    if (four == eight) {
        return Status::InvalidArgument(where +
                                       ": bitsandbytes config must set exactly one of load_in_4bit and "
                                       "load_in_8bit");
    }
    if (four) {
        out.layout = Layout::kBnb4;
        out.params.bits = 4;
        out.params.group_size = 64;  // the real block size is in each tensor's quant_state
        out.double_quant = BoolKey(q, "bnb_4bit_use_double_quant").value_or(false);
    } else {
        out.layout = Layout::kBnb8;
        out.params.bits = 8;
        out.params.group_size = -1;
    }
    return out;
}

Result<nlohmann::json> ParseSideFile(const std::string& text, const std::string& path) {
    nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) return Status::Corruption(path + ": not a JSON object");
    return json;
}

}  // namespace

Result<std::optional<QuantizationConfig>> ReadQuantizationConfig(const nlohmann::json& config,
                                                                 const std::string& quantize_config_text,
                                                                 const std::string& quant_config_text,
                                                                 const std::string& folder) {
    nlohmann::json q;
    std::string where;
    if (config.contains("quantization_config")) {
        q = config["quantization_config"];
        where = (fs::path(folder) / "config.json").string();
        if (!q.is_object()) return Status::Corruption(where + ": 'quantization_config' is not an object");
    } else if (!quantize_config_text.empty()) {
        where = (fs::path(folder) / "quantize_config.json").string();
        TP_ASSIGN_OR_RETURN(q, ParseSideFile(quantize_config_text, where));
    } else if (!quant_config_text.empty()) {
        where = (fs::path(folder) / "quant_config.json").string();
        TP_ASSIGN_OR_RETURN(q, ParseSideFile(quant_config_text, where));
    } else {
        return std::optional<QuantizationConfig>();
    }
    std::string method = StringKey(q, {"quant_method"});
    if (method.empty()) {
        // Side files of AutoGPTQ carry no quant_method; AutoAWQ's are recognised by zero_point (as TGI does).
        method = q.contains("zero_point") ? "awq" : "gptq";
    }
    Result<QuantizationConfig> read = Status::Unsupported(where + ": quant_method '" + method +
                                                          "' is not supported (supported: gptq, awq, bitsandbytes)");
    if (method == "gptq") read = ReadGptq(q, where);
    if (method == "awq") read = ReadAwq(q, where);
    if (method == "bitsandbytes") read = ReadBitsAndBytes(q, where);
    if (!read.ok()) return read.status();
    QuantizationConfig out = std::move(read).value();
    out.raw = q;
    return std::optional<QuantizationConfig>(std::move(out));
}

}  // namespace tenpak::model
