// Writes a Model as a Hugging Face folder that transformers, vLLM and TGI load: config.json,
// model.safetensors (or shards and an index), and the tokenizer / generation files.
#include <algorithm>
#include <filesystem>
#include <string_view>

#include "export_stream.h"
#include "tenpak/io/atomic_output.h"
#include "tenpak/io/tokenizer_json.h"
#include "tenpak/model/model_writer.h"

namespace tenpak::model {
namespace fs = std::filesystem;

Result<DType> ParseFloatDType(std::string_view text) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "f32" || lower == "float32") return DType::kF32;
    if (lower == "f16" || lower == "float16") return DType::kF16;
    if (lower == "bf16" || lower == "bfloat16") return DType::kBF16;
    return Status::InvalidArgument("dtype '" + std::string(text) + "' is not one of f32, f16, bf16");
}

namespace {


std::string TorchDTypeName(DType dtype) {
    switch (dtype) {
        case DType::kF16:
            return "float16";
        case DType::kBF16:
            return "bfloat16";
        default:
            return "float32";
    }
}

bool HasAux(const Model& model, std::string_view name) {
    return std::any_of(model.aux_files.begin(), model.aux_files.end(),
                       [&](const io::AuxFile& f) { return f.name == name; });
}

// Tokenizer files for a model whose vocabulary came without them (llama2.c checkpoints, GGUF):
// tokenizer.json (io::WriteTokenizerJson) and transformers' settings, so that AutoTokenizer opens
// the folder. A tokenizer.model that travels with the model is kept (it is among aux_files).
std::vector<io::AuxFile> TokenizerFiles(const Model& model, std::vector<std::string>& notes) {
    std::vector<io::AuxFile> files;
    if (!model.vocab || (model.vocab->model != "llama" && model.vocab->model != "gpt2")) return files;
    const io::Vocab& v = *model.vocab;
    const bool sentencepiece = v.model == "llama";
    bool has_json = HasAux(model, "tokenizer.json");
    if (!has_json) {
        Result<std::string> json = io::WriteTokenizerJson(v);
        if (json.ok()) {
            files.push_back({"tokenizer.json", std::move(json).value()});
            has_json = true;
        } else {
            notes.push_back("tokenizer.json not written: " + json.status().message());
        }
    }
    if (HasAux(model, "tokenizer_config.json") || !(has_json || HasAux(model, "tokenizer.model"))) return files;
    auto token = [&](const std::optional<int32_t>& id) -> nlohmann::json {
        return id ? nlohmann::json(v.tokens[static_cast<size_t>(*id)]) : nlohmann::json(nullptr);
    };
    // LlamaTokenizer reads tokenizer.model; with tokenizer.json only, the fast class is the one.
    const char* tokenizer_class = !sentencepiece                     ? "PreTrainedTokenizerFast"
                                  : HasAux(model, "tokenizer.model") ? "LlamaTokenizer"
                                                                     : "LlamaTokenizerFast";
    nlohmann::ordered_json config = {
        {"add_bos_token", v.add_bos.value_or(sentencepiece)},
        {"add_eos_token", false},
        {"bos_token", token(v.bos_id)},
        {"eos_token", token(v.eos_id)},
        {"unk_token", token(v.unk_id)},
        {"pad_token", token(v.pad_id)},
        {"clean_up_tokenization_spaces", false},
    };
    if (sentencepiece) config["legacy"] = true;
    config["model_max_length"] = model.config.max_position_embeddings;
    if (sentencepiece) config["sp_model_kwargs"] = nlohmann::json::object();
    config["tokenizer_class"] = tokenizer_class;
    files.push_back({"tokenizer_config.json", config.dump(2) + "\n"});
    if (!HasAux(model, "special_tokens_map.json")) {
        nlohmann::ordered_json special = {
            {"bos_token", token(v.bos_id)}, {"eos_token", token(v.eos_id)}, {"unk_token", token(v.unk_id)}};
        files.push_back({"special_tokens_map.json", special.dump(2) + "\n"});
    }
    return files;
}

io::AuxFile GenerationConfig(const Model& model) {
    nlohmann::ordered_json config = {{"_from_model_config", true}};
    if (model.config.bos_token_id) config["bos_token_id"] = *model.config.bos_token_id;
    if (model.config.eos_token_id) config["eos_token_id"] = *model.config.eos_token_id;
    return {"generation_config.json", config.dump(2) + "\n"};
}

}  // namespace

bool HfWriteOrderLess(std::string_view a, std::string_view b) {
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    size_t i = 0;
    size_t j = 0;
    while (i < a.size() && j < b.size()) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            size_t ei = i;
            size_t ej = j;
            while (ei < a.size() && is_digit(a[ei])) ++ei;
            while (ej < b.size() && is_digit(b[ej])) ++ej;
            const std::string_view na = a.substr(i, ei - i);
            const std::string_view nb = b.substr(j, ej - j);
            // Equal-valued runs with different leading zeros fall through to the plain comparison.
            const std::string_view ta = na.substr(std::min(na.find_first_not_of('0'), na.size()));
            const std::string_view tb = nb.substr(std::min(nb.find_first_not_of('0'), nb.size()));
            if (ta.size() != tb.size()) return ta.size() < tb.size();
            if (ta != tb) return ta < tb;
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
    }
    if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
    return a < b;
}

Result<WriteReport> WriteHfFolder(const Model& model, const std::string& out_dir, const WriteOptions& options) {
    WriteReport report;
    std::vector<internal::ExportTensor> tensors;
    DType main_dtype = options.dtype.value_or(DType::kF32);
    bool main_dtype_set = options.dtype.has_value();
    for (const io::TensorInfo& info : model.tensors->tensors()) {
        if (options.rewriter != nullptr) {
            TP_ASSIGN_OR_RETURN(std::optional<std::vector<io::TensorInfo>> replaced,
                                options.rewriter->Plan(info, /*gguf=*/false));
            if (replaced) {
                for (io::TensorInfo& out : *replaced) {
                    internal::ExportTensor t;
                    t.canonical = info;
                    t.out = std::move(out);
                    t.rewritten = true;
                    tensors.push_back(std::move(t));
                }
                continue;
            }
        }
        internal::ExportTensor t;
        t.canonical = info;
        t.out = info;
        const bool is_float = Traits(info.dtype).is_float;
        const bool is_block = Traits(info.dtype).block_elems > 1;
        if (options.dtype && (is_float || is_block)) {
            t.out.dtype = *options.dtype;
        } else if (is_block) {
            t.out.dtype = DType::kF16;
            report.notes.push_back("'" + info.name + "' (" + std::string(DTypeName(info.dtype)) +
                                   ") dequantized to F16");
        }
        if (!main_dtype_set && Traits(t.out.dtype).is_float && info.shape.size() == 2) {
            main_dtype = t.out.dtype;
            main_dtype_set = true;
        }
        TP_RETURN_IF_ERROR(internal::PlanExportTensor(t));
        tensors.push_back(std::move(t));
    }
    // Layer by layer ("layers.2" before "layers.10"), as transformers' state dicts are ordered: the
    // calibrated quantizers produce blocks in that order, one at a time.
    std::sort(tensors.begin(), tensors.end(), [](const internal::ExportTensor& a, const internal::ExportTensor& b) {
        return HfWriteOrderLess(a.out.name, b.out.name);
    });

    TP_ASSIGN_OR_RETURN(io::AtomicDirectory dir, io::AtomicDirectory::Create(out_dir, options.overwrite));
    ModelConfig config = model.config;
    config.torch_dtype = TorchDTypeName(main_dtype);
    nlohmann::json config_json = model.spec->config_to_hf(config, *model.variant);
    if (options.rewriter != nullptr) options.rewriter->EditConfig(config_json);
    TP_RETURN_IF_ERROR(dir.WriteFile("config.json", config_json.dump(2) + "\n"));
    report.files.push_back("config.json");

    std::vector<io::AuxFile> aux = model.aux_files;
    if (options.rewriter != nullptr) {
        for (io::AuxFile& file : options.rewriter->ExtraFiles()) aux.push_back(std::move(file));
    }
    for (io::AuxFile& file : TokenizerFiles(model, report.notes)) aux.push_back(std::move(file));
    if (!HasAux(model, "generation_config.json")) aux.push_back(GenerationConfig(model));
    for (const io::AuxFile& file : aux) {
        TP_RETURN_IF_ERROR(dir.WriteFile(file.name, file.content));
        report.files.push_back(file.name);
    }

    io::ShardedSafetensorsWriter::Options shard_options;
    shard_options.max_shard_bytes = options.max_shard_bytes;
    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::ShardedSafetensorsWriter> writer,
                        io::ShardedSafetensorsWriter::Create(dir.temp_path(), shard_options));
    TP_RETURN_IF_ERROR(
        internal::StreamTensors(model, tensors, *writer, options.progress, "writing " + out_dir, options.rewriter));
    TP_RETURN_IF_ERROR(writer->Finish());
    for (const std::string& shard : writer->shard_names()) report.files.push_back(shard);
    if (writer->shard_names().size() > 1) report.files.emplace_back(io::kSafetensorsIndexName);
    TP_RETURN_IF_ERROR(dir.Commit());

    report.tensors = tensors.size();
    for (const internal::ExportTensor& t : tensors) report.tensor_bytes += t.out.nbytes;
    return report;
}

}  // namespace tenpak::model
