// tenpak inspect MODEL [--json] [--tensors]: what a model (or a .tnpk artifact) is, without reading
// its weights.
#include <cstdio>
#include <map>

#include "cli/artifact_summary.h"
#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/model/model.h"

namespace tenpak::cli {
namespace {

struct InspectArgs {
    std::string model;
    std::string tokenizer;
    bool json = false;
    bool tensors = false;
};

nlohmann::ordered_json ConfigJson(const model::ModelConfig& c) {
    nlohmann::ordered_json j = {
        {"vocab_size", c.vocab_size},
        {"hidden_size", c.hidden_size},
        {"intermediate_size", c.intermediate_size},
        {"num_layers", c.num_layers},
        {"num_heads", c.num_heads},
        {"num_kv_heads", c.num_kv_heads},
        {"head_dim", c.head_dim},
        {"max_position_embeddings", c.max_position_embeddings},
        {"norm_eps", c.norm_eps},
        {"rope_theta", c.rope_theta},
        {"tie_word_embeddings", c.tie_word_embeddings},
        {"qkv_bias", c.qkv_bias},
    };
    if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
    if (c.eos_token_id) j["eos_token_id"] = *c.eos_token_id;
    return j;
}

Status RunInspect(const InspectArgs& args) {
    // An artifact: its own summary, then (for a packed HF folder or GGUF file) the model inside.
    std::shared_ptr<const artifact::Artifact> packed;
    if (artifact::IsArtifactFile(args.model)) {
        TP_ASSIGN_OR_RETURN(packed, artifact::Artifact::OpenFile(args.model));
        if (packed->manifest().source != "hf" && packed->manifest().source != "gguf") {
            if (args.json) {
                PrintJson({{"artifact", ArtifactSummaryJson(*packed)}});
            } else {
                PrintArtifactSummary(*packed);
            }
            return Status::Ok();
        }
    }
    model::OpenOptions options;
    options.tokenizer_path = args.tokenizer;
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(args.model, options));

    std::map<std::string, uint64_t> bytes_by_dtype;
    uint64_t total_bytes = 0;
    for (const io::TensorInfo& info : m.native->tensors()) {
        bytes_by_dtype[std::string(DTypeName(info.dtype))] += info.nbytes;
        total_bytes += info.nbytes;
    }
    const uint64_t params = m.ParameterCount();
    const model::ModelConfig& c = m.config;

    if (args.json) {
        nlohmann::ordered_json out;
        if (packed) out["artifact"] = ArtifactSummaryJson(*packed);
        out["path"] = m.origin;
        out["format"] = model::SourceFormatName(m.format);
        out["architecture"] = m.spec->family;
        out["model_type"] = c.model_type;
        out["config"] = ConfigJson(c);
        out["parameters"] = params;
        out["tensor_count"] = m.tensors->tensors().size();
        out["total_bytes"] = total_bytes;
        out["bytes_by_dtype"] = bytes_by_dtype;
        if (c.quantization) {
            const model::QuantizationConfig& q = *c.quantization;
            out["quantization"] = {{"quant_method", q.quant_method},
                                   {"layout", quantformat::LayoutName(q.layout)},
                                   {"bits", q.params.bits},
                                   {"group_size", q.params.group_size},
                                   {"sym", q.params.symmetric}};
        } else {
            out["quantization"] = nullptr;
        }
        if (m.vocab) {
            out["vocab"] = {{"model", m.vocab->model}, {"size", m.vocab->size()}};
            if (m.vocab->bos_id) out["vocab"]["bos_id"] = *m.vocab->bos_id;
            if (m.vocab->eos_id) out["vocab"]["eos_id"] = *m.vocab->eos_id;
        } else {
            out["vocab"] = nullptr;
        }
        nlohmann::ordered_json files = nlohmann::ordered_json::array();
        for (const io::AuxFile& f : m.aux_files) files.push_back(f.name);
        out["aux_files"] = files;
        out["notes"] = m.notes;
        if (m.format == model::SourceFormat::kGguf) {
            nlohmann::ordered_json meta = nlohmann::ordered_json::object();
            for (const auto& [key, value] : m.gguf_metadata) meta[key] = value.Describe();
            out["gguf_metadata"] = meta;
        }
        if (args.tensors) {
            nlohmann::ordered_json list = nlohmann::ordered_json::array();
            for (const io::TensorInfo& info : m.tensors->tensors()) {
                list.push_back({{"name", info.name},
                                {"dtype", DTypeName(info.dtype)},
                                {"shape", info.shape},
                                {"bytes", info.nbytes}});
            }
            out["tensors"] = list;
        }
        PrintJson(out);
        return Status::Ok();
    }

    if (packed) {
        PrintArtifactSummary(*packed);
        std::printf("\n");
    }
    PrintField("model", m.origin);
    PrintField("format", std::string(model::SourceFormatName(m.format)));
    PrintField("arch", std::string(m.spec->family) + " (model_type " + c.model_type + ")");
    PrintField("layers", std::to_string(c.num_layers) + " x (hidden " + std::to_string(c.hidden_size) +
                             ", intermediate " + std::to_string(c.intermediate_size) + ", heads " +
                             std::to_string(c.num_heads) + ", kv heads " + std::to_string(c.num_kv_heads) +
                             ", head_dim " + std::to_string(c.head_dim) + ")");
    char misc[256];
    std::snprintf(misc, sizeof(misc), "vocab %lld, context %lld, rope_theta %g, norm_eps %g, %s embeddings%s",
                  static_cast<long long>(c.vocab_size), static_cast<long long>(c.max_position_embeddings), c.rope_theta,
                  c.norm_eps, c.tie_word_embeddings ? "tied" : "untied", c.qkv_bias ? ", q/k/v bias" : "");
    PrintField("config", misc);
    PrintField("parameters", WithThousands(params) + (c.quantization ? " (stored elements: quantized layers are packed)" : ""));
    std::string dtypes;
    for (const auto& [dtype, bytes] : bytes_by_dtype) {
        if (!dtypes.empty()) dtypes += ", ";
        dtypes += dtype + " " + FormatBytes(bytes);
    }
    PrintField("bytes", FormatBytes(total_bytes) + " (" + dtypes + ")");
    if (c.quantization) {
        const model::QuantizationConfig& q = *c.quantization;
        PrintField("quantized", q.quant_method + " (" + std::string(quantformat::LayoutName(q.layout)) + " layout), " +
                                    std::to_string(q.params.bits) + "-bit, group " + std::to_string(q.params.group_size) +
                                    (q.params.symmetric ? ", sym" : ", asym"));
    }
    if (m.vocab) {
        std::string vocab = std::to_string(m.vocab->size()) + " tokens (" + m.vocab->model + ")";
        if (m.vocab->bos_id) vocab += ", bos " + std::to_string(*m.vocab->bos_id);
        if (m.vocab->eos_id) vocab += ", eos " + std::to_string(*m.vocab->eos_id);
        PrintField("vocab", vocab);
    } else {
        PrintField("vocab", "none found");
    }
    std::string files;
    for (const io::AuxFile& f : m.aux_files) files += (files.empty() ? "" : ", ") + f.name;
    PrintField("files", files.empty() ? "none" : files);
    for (const std::string& note : m.notes) PrintField("note", note);
    if (args.tensors) {
        std::printf("\n%-52s %-6s %-16s %12s\n", "tensor", "dtype", "shape", "bytes");
        for (const io::TensorInfo& info : m.tensors->tensors()) {
            std::printf("%-52s %-6s %-16s %12s\n", info.name.c_str(), std::string(DTypeName(info.dtype)).c_str(),
                        info.ShapeString().c_str(), WithThousands(info.nbytes).c_str());
        }
    }
    return Status::Ok();
}

}  // namespace

void AddInspectCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<InspectArgs>();
    CLI::App* cmd = app.add_subcommand("inspect", "Show a model's architecture, config, parameter count and tensors");
    cmd->add_option("MODEL", args->model, "HF folder, .gguf, llama2.c .bin, .tnpk, or org/name in the local HF cache")
        ->required();
    cmd->add_flag("--json", args->json, "Print JSON for scripts");
    cmd->add_flag("--tensors", args->tensors, "List every tensor (name, dtype, shape, bytes)");
    cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer for a llama2.c checkpoint (.bin or .model)");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunInspect(*args); }; });
}

}  // namespace tenpak::cli
