// OpenModel: finds out what an input is, reads its config and vocabulary, and builds the canonical
// (HF-named, HF-layout) view of its tensors, checking them against the family's ModelSpec.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "canonical_source.h"
#include "tenpak/artifact/artifact.h"
#include "tenpak/remote/remote_artifact.h"
#include "tenpak/io/llama2c.h"
#include "tenpak/io/mapped_file.h"
#include "tenpak/io/tokenizer_json.h"
#include "tenpak/model/model.h"

namespace tenpak::model {
namespace fs = std::filesystem;
using internal::CanonicalEntry;
using internal::LayoutChange;

std::string_view SourceFormatName(SourceFormat format) {
    switch (format) {
        case SourceFormat::kHfFolder:
            return "hf";
        case SourceFormat::kGguf:
            return "gguf";
        case SourceFormat::kLlama2c:
            return "llama2c";
        case SourceFormat::kArtifact:
            return "tnpk";
    }
    return "unknown";
}

uint64_t Model::ParameterCount() const {
    uint64_t total = 0;
    for (const io::TensorInfo& info : tensors->tensors()) total += info.NumElements();
    return total;
}

namespace {

bool IsGgufFile(const std::string& path) {
    Result<std::shared_ptr<const io::MappedFile>> file = io::MappedFile::Open(path);
    if (!file.ok() || (*file)->size() < 4) return false;
    uint32_t magic = 0;
    std::memcpy(&magic, (*file)->bytes().data(), 4);
    return magic == io::kGgufMagic;
}

// Whether the linear layer whose float weight would be `weight_name` is stored in the folder's
// quantized layout instead (GPTQ / AWQ store `<prefix>.qweight` and no `<prefix>.weight`).
bool HasQuantizedLayer(const ModelConfig& config, const TensorRole& role, const std::string& weight_name,
                       const std::set<std::string>& names) {
    if (!config.quantization || !role.is_linear()) return false;
    constexpr std::string_view kWeight = ".weight";
    if (weight_name.size() < kWeight.size() || !weight_name.ends_with(kWeight)) return false;
    const std::string prefix = weight_name.substr(0, weight_name.size() - kWeight.size());
    const std::vector<std::string> suffixes = quantformat::LayoutSuffixes(config.quantization->layout);
    return !suffixes.empty() && names.count(prefix + "." + suffixes.front()) > 0;
}

// Builds the canonical entries from the native tensors, then checks them against the spec.
Status BuildCanonical(Model& model, Naming naming, bool permute_rotary) {
    const ModelSpec& spec = *model.spec;
    const ModelConfig& config = model.config;
    std::vector<CanonicalEntry> entries;
    std::set<std::string> names;
    for (const io::TensorInfo& native : model.native->tensors()) {
        CanonicalEntry entry;
        entry.info = native;
        entry.native_name = native.name;
        const std::optional<RoleMatch> match = MatchName(spec, native.name, naming);
        if (!match) {
            if (naming != Naming::kHuggingFace) {
                model.notes.push_back("tensor '" + native.name + "' is not part of a " + std::string(spec.family) +
                                      " model; kept under its own name");
            }
        } else {
            const TensorRole& role = *match->role;
            if (role.presence == Presence::kBuffer) {
                model.notes.push_back("dropped '" + native.name + "' (a buffer, not a weight)");
                continue;
            }
            if (match->layer >= config.num_layers) {
                return Status::Corruption(model.origin + ": tensor '" + native.name + "' is for layer " +
                                          std::to_string(match->layer) + " but the config has " +
                                          std::to_string(config.num_layers) + " layers");
            }
            entry.info.name = RoleName(role, Naming::kHuggingFace, match->layer);
            if (naming != Naming::kHuggingFace && role.conv1d) {
                if (entry.info.shape.size() != 2 || Traits(entry.info.dtype).block_elems != 1) {
                    return Status::Unsupported(model.origin + ": tensor '" + native.name + "' (" +
                                               std::string(DTypeName(native.dtype)) +
                                               ") cannot be transposed to HF's Conv1D layout");
                }
                std::swap(entry.info.shape[0], entry.info.shape[1]);
                entry.change = LayoutChange::kTransposed;
            }
            if (permute_rotary && role.row_layout != RowLayout::kSame) {
                entry.change = LayoutChange::kRotaryToHf;
                entry.heads = role.row_layout == RowLayout::kRotaryQuery ? config.num_heads : config.num_kv_heads;
            }
            const std::optional<std::vector<int64_t>> expected = ExpectedShape(role, config);
            // A bitsandbytes 4-bit weight is a column of packed bytes; its layout's reader checks it.
            // A bitsandbytes 8-bit weight is Linear8bitLt's [out, in], also for GPT-2's Conv1D roles
            // (transformers replaces Conv1D by Linear when it quantizes).
            const std::optional<quantformat::Layout> quantized =
                role.is_linear() && config.quantization ? std::optional(config.quantization->layout) : std::nullopt;
            const bool packed_weight = quantized == quantformat::Layout::kBnb4;
            const bool linear_orientation = quantized == quantformat::Layout::kBnb8 && role.conv1d && expected &&
                                            expected->size() == 2 &&
                                            entry.info.shape == std::vector<int64_t>{(*expected)[1], (*expected)[0]};
            if (expected && *expected != entry.info.shape && !packed_weight && !linear_orientation) {
                io::TensorInfo want = entry.info;
                want.shape = *expected;
                return Status::Corruption(model.origin + ": tensor '" + native.name + "' has shape " +
                                          entry.info.ShapeString() + " but the config implies " + want.ShapeString());
            }
        }
        if (!names.insert(entry.info.name).second) {
            return Status::Corruption(model.origin + ": two tensors map to '" + entry.info.name + "'");
        }
        entries.push_back(std::move(entry));
    }
    for (const TensorRole& role : spec.roles) {
        if (!ExpectedShape(role, config)) continue;
        const int layers = role.per_layer() ? static_cast<int>(config.num_layers) : 1;
        for (int layer = 0; layer < layers; ++layer) {
            const std::string name = RoleName(role, Naming::kHuggingFace, layer);
            if (names.count(name) == 0 && !HasQuantizedLayer(config, role, name, names)) {
                return Status::Corruption(model.origin + ": missing tensor '" + RoleName(role, naming, layer) + "' (" +
                                          name + "), which a " + model.config.model_type + " model with " +
                                          std::to_string(config.num_layers) + " layers needs");
            }
        }
    }
    model.tensors = std::make_unique<internal::CanonicalSource>(model.native, std::move(entries));
    return Status::Ok();
}

// The vocabulary of a folder that has tokenizer.json but no tokenizer.model (what GGUF export
// needs), with tokenizer_config.json's special tokens. A file TenPak cannot read is noted, not fatal:
// the weights are still usable.
void TokenizerJsonVocab(const std::string& dir, Model& model) {
    const auto find = [&](std::string_view name) {
        return std::find_if(model.aux_files.begin(), model.aux_files.end(),
                            [&](const io::AuxFile& f) { return f.name == name; });
    };
    const auto json = find("tokenizer.json");
    if (json == model.aux_files.end()) return;
    const std::string path = (fs::path(dir) / json->name).string();
    Result<io::Vocab> vocab = io::VocabFromTokenizerJson(json->content, path);
    if (!vocab.ok()) {
        model.notes.push_back("vocabulary not read: " + vocab.status().message());
        return;
    }
    if (const auto config = find("tokenizer_config.json"); config != model.aux_files.end()) {
        const Status status =
            io::ApplyTokenizerConfig(config->content, (fs::path(dir) / config->name).string(), *vocab);
        if (!status.ok()) model.notes.push_back("special tokens not read: " + status.message());
    }
    model.vocab = std::move(vocab).value();
}

// A small JSON file beside config.json, or "" when there is none or it cannot be read.
std::string ReadSideFile(const std::string& dir, const char* name) {
    std::ifstream in(fs::path(dir) / name, std::ios::binary);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The rest of opening an HF folder once its files are at hand: `dir` names it in messages, the
// side texts are quantize_config.json and quant_config.json ("" when absent).
Status OpenHfParts(io::HfFolder folder, const std::string& dir, const std::string& quantize_config_text,
                   const std::string& quant_config_text, Model& model) {
    const std::string config_path = (fs::path(dir) / "config.json").string();
    if (!folder.config.contains("model_type") || !folder.config["model_type"].is_string()) {
        return Status::InvalidArgument(config_path + ": required key 'model_type' is missing");
    }
    const std::string model_type = folder.config["model_type"].get<std::string>();
    model.spec = FindSpecByModelType(model_type, &model.variant);
    if (model.spec == nullptr) {
        return Status::Unsupported(config_path + ": model_type '" + model_type +
                                   "' is not supported (supported: " + SupportedModelTypes() + ")");
    }
    Result<ModelConfig> config = model.spec->config_from_hf(folder.config, *model.variant);
    if (!config.ok()) return config.status().WithContext(config_path);
    model.config = std::move(config).value();
    Result<std::optional<QuantizationConfig>> quantization =
        ReadQuantizationConfig(folder.config, quantize_config_text, quant_config_text, dir);
    if (!quantization.ok()) return quantization.status();
    model.config.quantization = std::move(quantization).value();
    model.native = std::move(folder.tensors);
    model.aux_files = std::move(folder.aux_files);
    for (const io::AuxFile& file : model.aux_files) {
        if (file.name != "tokenizer.model") continue;
        Result<io::Vocab> vocab = io::VocabFromSentencePiece(file.content, (fs::path(dir) / file.name).string());
        if (vocab.ok()) model.vocab = std::move(vocab).value();
    }
    if (!model.vocab) TokenizerJsonVocab(dir, model);
    return BuildCanonical(model, Naming::kHuggingFace, false);
}

Status OpenHf(const std::string& dir, Model& model) {
    TP_ASSIGN_OR_RETURN(io::HfFolder folder, io::OpenHfFolder(dir));
    return OpenHfParts(std::move(folder), dir, ReadSideFile(dir, "quantize_config.json"),
                       ReadSideFile(dir, "quant_config.json"), model);
}


// A GGUF model from its metadata and tensors (a GGUF file's reader, or the tensors of a .tnpk that
// packs one); `path` names it in messages.
Status OpenGgufParts(io::GgufMetadata metadata, std::shared_ptr<const io::TensorSource> tensors,
                     const std::string& path, Model& model) {
    model.gguf_metadata = std::move(metadata);
    const io::GgufValue* arch = io::FindGgufKey(model.gguf_metadata, "general.architecture");
    if (arch == nullptr || arch->AsString() == nullptr) {
        return Status::InvalidArgument(path + ": GGUF key 'general.architecture' is missing");
    }
    model.spec = FindSpecByGgufArch(*arch->AsString(), &model.variant);
    if (model.spec == nullptr) {
        return Status::Unsupported(path + ": GGUF architecture '" + *arch->AsString() +
                                   "' is not supported (supported: llama, qwen2, gpt2)");
    }
    Result<ModelConfig> config = model.spec->config_from_gguf(model.gguf_metadata, *model.variant);
    if (!config.ok()) return config.status().WithContext(path);
    model.config = std::move(config).value();
    model.config.tie_word_embeddings = tensors->Find("output.weight") == nullptr;
    if (const io::TensorInfo* embed = tensors->Find("token_embd.weight"); embed && model.config.vocab_size == 0) {
        model.config.vocab_size = embed->shape.front();
    }
    TP_RETURN_IF_ERROR(ValidateConfig(model.config).WithContext(path));
    Result<io::Vocab> vocab = io::VocabFromGguf(model.gguf_metadata, path);
    if (vocab.ok()) {
        model.vocab = std::move(vocab).value();
    } else if (vocab.status().code() != StatusCode::kNotFound) {
        return vocab.status();
    }
    model.native = std::move(tensors);
    return BuildCanonical(model, Naming::kGguf, model.variant->gguf_permutes_rotary);
}

Status OpenGguf(const std::string& path, Model& model) {
    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::GgufReader> reader, io::GgufReader::Open(path));
    io::GgufMetadata metadata = reader->metadata();
    return OpenGgufParts(std::move(metadata), std::move(reader), path, model);
}

// A .tnpk of a GGUF file: the header comes from the bytes before the first tensor (the file's
// first segment), the tensors from the artifact.
Status OpenArtifactGguf(std::shared_ptr<const artifact::Artifact> packed, Model& model) {
    const std::string path = packed->origin();
    const artifact::Manifest& manifest = packed->manifest();
    if (manifest.files.size() != 1 || manifest.files[0].segments.empty() ||
        !manifest.files[0].segments[0].tensor.empty()) {
        return Status::Corruption(path + ": a packed GGUF must be one file that starts with its header");
    }
    const artifact::FileEntry& file = manifest.files[0];
    std::string header;
    for (uint32_t index : file.segments[0].chunks) {
        TP_ASSIGN_OR_RETURN(const io::TensorData chunk, packed->ReadChunk(index));
        header.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    }
    TP_ASSIGN_OR_RETURN(io::GgufHeader parsed, io::ParseGgufHeaderPrefix(std::as_bytes(std::span(header)), file.size,
                                                                        path + ": " + file.name));
    const size_t parallel = remote::IsHttpUrl(path) ? 4 : 1;
    return OpenGgufParts(std::move(parsed.metadata),
                         std::make_shared<artifact::ArtifactTensorSource>(std::move(packed), parallel), path, model);
}

// A .tnpk of an HF folder opens like the folder: its config, carried files and tensors come from
// the artifact, each chunk checked against its hash as it is read. A .tnpk of a GGUF file opens
// like the GGUF file.
Status OpenArtifact(std::shared_ptr<const artifact::Artifact> packed, const OpenOptions& options, Model& model) {
    const std::string path = packed->origin();
    if (packed->manifest().source == "gguf") return OpenArtifactGguf(std::move(packed), model);
    const bool delta = packed->manifest().source == "delta";
    if (delta && !options.delta_tensors) {
        return Status::InvalidArgument(path + ": a delta of a fine-tune against a base model; give the base it was "
                                              "made against (--base BASE), or rebuild the fine-tune with `tenpak delta "
                                              "apply " + path + " --base BASE -o DIR`");
    }
    if (packed->manifest().source != "hf" && !delta) {
        return Status::Unsupported(path + ": this artifact packs a " + packed->manifest().source +
                                   " input, which TenPak opens only unpacked (tenpak unpack " + path + " -o DIR)");
    }
    const auto optional_file = [&](std::string_view name) -> Result<std::string> {
        if (packed->manifest().FindFile(name) == nullptr) return std::string();
        return packed->ReadFile(name);
    };
    io::HfFolder folder;
    folder.path = path;
    TP_ASSIGN_OR_RETURN(const std::string config_text, packed->ReadFile("config.json"));
    folder.config = nlohmann::json::parse(config_text, nullptr, false);
    if (folder.config.is_discarded() || !folder.config.is_object()) {
        return Status::Corruption(path + "/config.json: not a JSON object");
    }
    for (std::string_view name : io::kCarriedFiles) {
        TP_ASSIGN_OR_RETURN(std::string content, optional_file(name));
        if (packed->manifest().FindFile(name) != nullptr) folder.aux_files.push_back({std::string(name), std::move(content)});
    }
    TP_ASSIGN_OR_RETURN(const std::string quantize_config, optional_file("quantize_config.json"));
    TP_ASSIGN_OR_RETURN(const std::string quant_config, optional_file("quant_config.json"));
    // Remote artifacts fetch a large tensor's chunks over several connections.
    const size_t parallel = remote::IsHttpUrl(path) ? 4 : 1;
    if (delta) {
        TP_ASSIGN_OR_RETURN(folder.tensors, options.delta_tensors(std::move(packed)));
    } else {
        folder.tensors = std::make_unique<artifact::ArtifactTensorSource>(std::move(packed), parallel);
    }
    return OpenHfParts(std::move(folder), path, quantize_config, quant_config, model);
}

// A tokenizer for a llama2.c checkpoint: the one asked for, or one beside it whose size matches.
Status FindLlama2cTokenizer(const std::string& checkpoint, const OpenOptions& options, int64_t vocab_size,
                            Model& model) {
    std::vector<std::string> candidates;
    if (!options.tokenizer_path.empty()) {
        candidates.push_back(options.tokenizer_path);
    } else {
        const fs::path dir =
            fs::path(checkpoint).parent_path().empty() ? fs::path(".") : fs::path(checkpoint).parent_path();
        std::vector<std::string> found;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            const fs::path& p = entry.path();
            if (!entry.is_regular_file() || fs::equivalent(p, checkpoint, ec)) continue;
            if (p.extension() == ".model" || p.extension() == ".bin") found.push_back(p.string());
        }
        // SentencePiece models first (the reference), then llama2.c tokenizers; by name within each.
        std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
            const bool am = fs::path(a).extension() == ".model";
            const bool bm = fs::path(b).extension() == ".model";
            return am != bm ? am : a < b;
        });
        candidates = std::move(found);
    }
    for (const std::string& candidate : candidates) {
        const bool sentencepiece = fs::path(candidate).extension() == ".model";
        Result<io::Vocab> vocab = Status::NotFound("");
        std::string content;
        if (sentencepiece) {
            Result<std::string> bytes = io::ReadFileToString(candidate);
            if (!bytes.ok()) return bytes.status();
            content = std::move(bytes).value();
            vocab = io::VocabFromSentencePiece(content, candidate);
        } else {
            vocab = io::ReadLlama2cTokenizer(candidate);
        }
        if (!vocab.ok()) {
            if (!options.tokenizer_path.empty()) return vocab.status();
            continue;  // a neighbouring file that is not a tokenizer
        }
        if (static_cast<int64_t>(vocab->size()) != vocab_size) {
            if (!options.tokenizer_path.empty()) {
                return Status::InvalidArgument(candidate + ": tokenizer has " + std::to_string(vocab->size()) +
                                               " tokens but the model's vocabulary has " + std::to_string(vocab_size));
            }
            continue;
        }
        model.vocab = std::move(vocab).value();
        if (sentencepiece) {
            model.aux_files.push_back({"tokenizer.model", std::move(content)});
            model.notes.push_back("tokenizer: " + candidate + " (carried over as tokenizer.model)");
        } else {
            model.notes.push_back("tokenizer: " + candidate);
        }
        break;
    }
    if (!model.vocab) {
        model.notes.push_back("no tokenizer found next to " + checkpoint + " (looked for *.model and *.bin with " +
                              std::to_string(vocab_size) + " tokens; pass --tokenizer)");
    }
    return Status::Ok();
}

Status OpenLlama2c(const std::string& path, const OpenOptions& options, Model& model) {
    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::Llama2cReader> reader, io::Llama2cReader::Open(path));
    model.config = ConfigFromLlama2c(reader->header());
    model.spec = FindSpecByModelType("llama", &model.variant);
    TP_RETURN_IF_ERROR(ValidateConfig(model.config).WithContext(path));
    TP_RETURN_IF_ERROR(FindLlama2cTokenizer(path, options, model.config.vocab_size, model));
    model.native = std::move(reader);
    return BuildCanonical(model, Naming::kMeta, true);
}

}  // namespace

Result<Model> OpenModel(const std::string& path_or_id, const OpenOptions& options) {
    std::string path = path_or_id;
    std::error_code ec;
    if (remote::IsHttpUrl(path)) {
        Model model;
        model.origin = path;
        model.format = SourceFormat::kArtifact;
        remote::RemoteOptions remote_options;
        TP_ASSIGN_OR_RETURN(const remote::RemoteArtifact remote, remote::OpenRemoteArtifact(path, remote_options));
        TP_RETURN_IF_ERROR(OpenArtifact(remote.artifact, options, model));
        return model;
    }
    if (!fs::exists(path, ec)) {
        if (io::LooksLikeHubId(path_or_id)) {
            TP_ASSIGN_OR_RETURN(path, io::ResolveHubId(path_or_id));
        } else {
            return Status::NotFound(path_or_id + ": no such file or folder");
        }
    }
    Model model;
    model.origin = path;
    if (!fs::is_directory(path, ec) && artifact::IsArtifactFile(path)) {
        model.format = SourceFormat::kArtifact;
        TP_ASSIGN_OR_RETURN(std::shared_ptr<const artifact::Artifact> packed, artifact::Artifact::OpenFile(path));
        TP_RETURN_IF_ERROR(OpenArtifact(std::move(packed), options, model));
    } else if (fs::is_directory(path, ec)) {
        model.format = SourceFormat::kHfFolder;
        TP_RETURN_IF_ERROR(OpenHf(path, model));
    } else if (IsGgufFile(path) || fs::path(path).extension() == ".gguf") {
        model.format = SourceFormat::kGguf;
        TP_RETURN_IF_ERROR(OpenGguf(path, model));
    } else if (fs::path(path).extension() == ".safetensors") {
        return Status::InvalidArgument(path +
                                       ": a lone .safetensors file has no config; pass the folder that holds "
                                       "it and its config.json");
    } else {
        model.format = SourceFormat::kLlama2c;
        Status status = OpenLlama2c(path, options, model);
        if (!status.ok() && fs::path(path).extension() != ".bin" && status.code() == StatusCode::kCorruption) {
            return Status::InvalidArgument(path +
                                           ": not a recognised model (expected a Hugging Face folder, a .gguf "
                                           "file or a llama2.c .bin checkpoint)");
        }
        TP_RETURN_IF_ERROR(status);
    }
    return model;
}

}  // namespace tenpak::model
