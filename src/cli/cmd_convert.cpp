// tenpak convert SRC -o OUT [--dtype f32|f16|bf16] [--format hf|gguf]: any supported input to an
// HF folder or a GGUF file, one tensor at a time.
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"

namespace tenpak::cli {
namespace {

struct ConvertArgs {
    std::string source;
    std::string output;
    std::string dtype;
    std::string format;
    std::string max_shard_size = "5GB";
    std::string tokenizer;
    bool json = false;
    bool force = false;
};

Status RunConvert(const ConvertArgs& args) {
    model::WriteOptions options;
    if (!args.dtype.empty()) {
        TP_ASSIGN_OR_RETURN(options.dtype, model::ParseFloatDType(args.dtype));
    }
    TP_ASSIGN_OR_RETURN(options.max_shard_bytes, io::ParseByteSize(args.max_shard_size));
    std::string format = args.format;
    if (format.empty()) format = args.output.size() > 5 && args.output.ends_with(".gguf") ? "gguf" : "hf";
    if (format != "hf" && format != "gguf") {
        return Status::InvalidArgument("--format must be hf or gguf, not '" + format + "'");
    }
    options.progress = !args.json;
    options.overwrite = args.force;

    const auto start = std::chrono::steady_clock::now();
    model::OpenOptions open_options;
    open_options.tokenizer_path = args.tokenizer;
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(args.source, open_options));
    model::WriteReport report;
    if (format == "gguf") {
        TP_ASSIGN_OR_RETURN(report, model::WriteGguf(m, args.output, options));
    } else {
        TP_ASSIGN_OR_RETURN(report, model::WriteHfFolder(m, args.output, options));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (args.json) {
        nlohmann::ordered_json out = {{"source", m.origin},
                                      {"source_format", model::SourceFormatName(m.format)},
                                      {"output", args.output},
                                      {"format", format},
                                      {"tensors", report.tensors},
                                      {"tensor_bytes", report.tensor_bytes},
                                      {"parameters", m.ParameterCount()},
                                      {"files", report.files},
                                      {"notes", report.notes},
                                      {"seconds", seconds}};
        PrintJson(out);
        return Status::Ok();
    }
    std::printf("converted %s (%s) -> %s (%s): %llu tensors, %s, %.2f s\n", m.origin.c_str(),
                std::string(model::SourceFormatName(m.format)).c_str(), args.output.c_str(), format.c_str(),
                static_cast<unsigned long long>(report.tensors), FormatBytes(report.tensor_bytes).c_str(), seconds);
    for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
    return Status::Ok();
}

}  // namespace

void AddConvertCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<ConvertArgs>();
    CLI::App* cmd = app.add_subcommand("convert", "Convert a model to an HF folder or a GGUF file");
    cmd->add_option("SRC", args->source, "HF folder, .gguf, llama2.c .bin, or org/name in the local HF cache")
        ->required();
    cmd->add_option("-o,--output", args->output, "Output folder (hf) or .gguf file")->required();
    cmd->add_option("--dtype", args->dtype, "Weight dtype: f32, f16 or bf16 (default: keep)");
    cmd->add_option("--format", args->format, "hf or gguf (default: gguf when OUT ends in .gguf)");
    cmd->add_option("--max-shard-size", args->max_shard_size, "Largest safetensors shard (default 5GB)");
    cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer for a llama2.c checkpoint (.bin or .model)");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->add_flag("--force", args->force, "Replace an existing non-empty output folder");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunConvert(*args); }; });
}

}  // namespace tenpak::cli
