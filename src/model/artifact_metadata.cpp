#include "tenpak/model/artifact_metadata.h"

#include <filesystem>
#include <optional>

#include "tenpak/io/mapped_file.h"
#include "tenpak/model/quantization_config.h"

namespace tenpak::model {
namespace fs = std::filesystem;
namespace {

std::string SideFile(const fs::path& dir, const char* name) {
    std::error_code ec;
    if (!fs::exists(dir / name, ec)) return {};
    Result<std::string> text = io::ReadFileToString((dir / name).string());
    return text.ok() ? std::move(text).value() : std::string();
}

// The quantization config of the folder, if it has a readable one.
std::optional<QuantizationConfig> FolderQuantization(const fs::path& dir, std::string* note) {
    std::error_code ec;
    if (!fs::exists(dir / "config.json", ec)) return std::nullopt;
    const nlohmann::json config = nlohmann::json::parse(SideFile(dir, "config.json"), nullptr, false);
    if (config.is_discarded() || !config.is_object()) return std::nullopt;
    Result<std::optional<QuantizationConfig>> read = ReadQuantizationConfig(
        config, SideFile(dir, "quantize_config.json"), SideFile(dir, "quant_config.json"), dir.string());
    if (!read.ok()) {
        *note = "tensors carry no quantization metadata: " + read.status().message();
        return std::nullopt;
    }
    return std::move(read).value();
}

}  // namespace

std::function<nlohmann::json(const io::TensorInfo&)> QuantizationDescriber(const std::string& source_path,
                                                                           std::string* note) {
    std::optional<QuantizationConfig> quantization;
    std::error_code ec;
    if (fs::is_directory(source_path, ec)) quantization = FolderQuantization(source_path, note);
    std::vector<std::string> suffixes;
    if (quantization) {
        suffixes = quantformat::LayoutSuffixes(quantization->layout);
        if (quantization->layout == quantformat::Layout::kBnb4) {
            suffixes.push_back("weight.quant_state.bitsandbytes__fp4");
        }
    }
    return [quantization, suffixes](const io::TensorInfo& info) -> nlohmann::json {
        if (Traits(info.dtype).block_elems > 1) {  // a GGUF block type
            return {{"layout", "gguf"}, {"part", "blocks"}, {"type", std::string(DTypeName(info.dtype))}};
        }
        if (!quantization) return nullptr;
        for (const std::string& suffix : suffixes) {
            if (info.name.size() <= suffix.size() + 1 || !info.name.ends_with("." + suffix)) continue;
            // bitsandbytes keeps a quantized layer's codes in `.weight`; norms and embeddings also end
            // in `.weight` but are floats.
            if (suffix == "weight" && Traits(info.dtype).is_float) return nullptr;
            nlohmann::json entry = {{"layout", std::string(quantformat::LayoutName(quantization->layout))},
                                    {"part", suffix},
                                    {"bits", quantization->params.bits}};
            if (quantization->layout != quantformat::Layout::kBnb8) {
                entry["group_size"] = quantization->params.group_size;
            }
            return entry;
        }
        return nullptr;
    };
}

}  // namespace tenpak::model
