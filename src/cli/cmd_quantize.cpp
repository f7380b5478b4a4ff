// tenpak quantize MODEL (--preset NAME | --method M [--bits B] [--group-size G] [--sym|--asym]
// [--double-quant] [--act-order] [--static-groups] [--damp D]) [--calib FILE] [--calib-samples N]
// [--calib-seqlen L] [--seed S] [--format gptq|awq|bnb|gguf] [--gguf-type T] -o OUT [--json]
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/model/model.h"
#include "tenpak/quant/quantize_model.h"

namespace tenpak::cli {
namespace {

struct QuantizeArgs {
    std::string source;
    std::string output;
    std::string preset;
    std::string method;
    std::string format;
    std::string gguf_type;
    std::string max_shard_size = "5GB";
    int bits = 0;
    int64_t group_size = 0;
    bool sym = false;
    bool asym = false;
    bool double_quant = false;
    bool act_order = false;
    bool static_groups = false;
    double damp = 0.0;
    std::string calib;
    int64_t calib_samples = 0;
    int64_t calib_seqlen = 0;
    uint64_t seed = 0;
    int threads = 0;
    bool json = false;
    bool force = false;
};

Result<quant::Method> ParseMethod(const std::string& text) {
    for (quant::Method m : {quant::Method::kRtn, quant::Method::kGptq, quant::Method::kAwq, quant::Method::kNf4,
                            quant::Method::kFp4, quant::Method::kInt8}) {
        if (text == quant::MethodName(m)) return m;
    }
    return Status::InvalidArgument("unknown --method '" + text + "' (supported: rtn, gptq, awq, nf4, fp4, int8)");
}

Result<DType> ParseGgufType(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (DType t : {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ4_K, DType::kQ6_K}) {
        if (text == DTypeName(t)) return t;
    }
    return Status::InvalidArgument("unknown --gguf-type '" + text +
                                   "' (supported: F16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)");
}

bool IsBnbMethod(quant::Method m) {
    return m == quant::Method::kNf4 || m == quant::Method::kFp4 || m == quant::Method::kInt8;
}

// The request the flags describe; every inconsistency is refused here, before the model is opened.
Result<quant::QuantizeRequest> BuildRequest(const QuantizeArgs& args) {
    if (args.preset.empty() == args.method.empty() && args.gguf_type.empty()) {
        return Status::InvalidArgument("give one of --preset (" + [] {
            std::string names;
            for (const std::string& n : quant::PresetNames()) names += (names.empty() ? "" : ", ") + n;
            return names;
        }() + ") or --method (rtn, gptq, awq, nf4, fp4, int8)");
    }
    if (args.sym && args.asym) return Status::InvalidArgument("--sym and --asym exclude each other");
    quant::QuantizeRequest request;
    if (!args.preset.empty()) {
        if (!args.method.empty() || args.bits || args.group_size || args.sym || args.asym || args.double_quant ||
            args.act_order || args.static_groups) {
            return Status::InvalidArgument(
                "--preset sets the method and its options; drop --method, --bits, --group-size, "
                "--sym/--asym, --double-quant, --act-order and --static-groups, or drop --preset");
        }
        TP_ASSIGN_OR_RETURN(request, quant::PresetRequest(args.preset));
    } else {
        quant::QuantOptions& o = request.options;
        o.method = quant::Method::kRtn;
        if (!args.method.empty()) {
            TP_ASSIGN_OR_RETURN(o.method, ParseMethod(args.method));
        }
        const bool bnb = IsBnbMethod(o.method);
        if (bnb && args.group_size) {
            return Status::InvalidArgument(
                "bitsandbytes has no group size (nf4/fp4 quantize blocks of 64, int8 one "
                "scale per row); drop --group-size, or use --method rtn");
        }
        if (bnb && args.bits && args.bits != (o.method == quant::Method::kInt8 ? 8 : 4)) {
            return Status::InvalidArgument("--method " + args.method + " has " +
                                           (o.method == quant::Method::kInt8 ? "8" : "4") + " bits");
        }
        if (args.double_quant && o.method != quant::Method::kNf4 && o.method != quant::Method::kFp4) {
            return Status::InvalidArgument("--double-quant goes with --method nf4 or fp4");
        }
        if ((args.act_order || args.static_groups) && o.method != quant::Method::kGptq) {
            return Status::InvalidArgument("--act-order and --static-groups go with --method gptq");
        }
        if (o.method == quant::Method::kRtn || quant::IsCalibrated(o.method)) {
            o = quant::DefaultOptions(o.method);
            o.bits = args.bits ? args.bits : 4;
            o.group_size = args.group_size ? args.group_size : 128;
            if (args.sym || args.asym) o.symmetric = args.sym;
            o.act_order = args.act_order;
            o.static_groups = args.static_groups;
        } else if (o.method == quant::Method::kInt8) {
            o.bits = 8;
            o.group_size = -1;
        } else {
            o.group_size = 64;
            o.double_quant = args.double_quant;
        }
        request.format = bnb                                ? quant::OutputFormat::kBnb
                         : o.method == quant::Method::kAwq ? quant::OutputFormat::kAwq
                                                           : quant::OutputFormat::kGptq;
    }
    if (args.damp != 0.0) {
        if (request.options.method != quant::Method::kGptq) return Status::InvalidArgument("--damp goes with gptq");
        request.options.damp = args.damp;
    }
    const bool calibrated = quant::IsCalibrated(request.options.method);
    if (!calibrated && (!args.calib.empty() || args.calib_samples || args.calib_seqlen)) {
        return Status::InvalidArgument("--calib, --calib-samples and --calib-seqlen go with gptq and awq");
    }
    request.calibration.text_path = args.calib;
    if (args.calib_samples) request.calibration.samples = args.calib_samples;
    if (args.calib_seqlen) request.calibration.seqlen = args.calib_seqlen;
    request.calibration.seed = args.seed;
    if (!args.gguf_type.empty()) {
        TP_ASSIGN_OR_RETURN(request.gguf_type, ParseGgufType(args.gguf_type));
        request.format = quant::OutputFormat::kGguf;
    }
    if (!args.format.empty()) {
        TP_ASSIGN_OR_RETURN(request.format, quant::ParseOutputFormat(args.format));
    }
    if (args.format.empty() && args.gguf_type.empty() && args.output.ends_with(".gguf")) {
        request.format = quant::OutputFormat::kGguf;
    }
    request.threads = args.threads;
    request.overwrite = args.force;
    request.progress = !args.json;
    TP_ASSIGN_OR_RETURN(request.max_shard_bytes, io::ParseByteSize(args.max_shard_size));
    TP_RETURN_IF_ERROR(quant::CheckRequest(request));
    return request;
}

Status RunQuantize(const QuantizeArgs& args) {
    TP_ASSIGN_OR_RETURN(quant::QuantizeRequest request, BuildRequest(args));
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(args.source));
    std::optional<std::string> fitted;
    if (!args.preset.empty()) fitted = quant::FitPresetGroupSize(request, m.config);
    TP_ASSIGN_OR_RETURN(quant::QuantizeReport report, quant::QuantizeModel(m, request, args.output));
    if (fitted) report.notes.insert(report.notes.begin(), "--preset " + args.preset + ": " + *fitted);
    if (args.json) {
        nlohmann::ordered_json kept = nlohmann::ordered_json::array();
        for (const quant::KeptLayer& k : report.kept) kept.push_back({{"layer", k.name}, {"reason", k.reason}});
        nlohmann::ordered_json out = {{"source", m.origin},
                                      {"output", report.output},
                                      {"format", report.format},
                                      {"method", report.method},
                                      {"bits", request.options.bits},
                                      {"group_size", request.options.group_size},
                                      {"sym", request.options.symmetric},
                                      {"double_quant", request.options.double_quant},
                                      {"act_order", request.options.act_order},
                                      {"calibration_tokens", report.calibration_tokens},
                                      {"layer_seconds", report.layer_seconds},
                                      {"warnings", report.warnings},
                                      {"bytes_before", report.bytes_before},
                                      {"bytes_after", report.bytes_after},
                                      {"compression", report.compression()},
                                      {"seconds", report.seconds},
                                      {"quantized_layers", report.quantized_layers},
                                      {"kept_layers", kept},
                                      {"files", report.files},
                                      {"notes", report.notes}};
        PrintJson(out);
        return Status::Ok();
    }
    std::printf("quantized %s -> %s (%s, %s): %lld layers quantized; %s -> %s (%.2fx) in %.2f s\n", m.origin.c_str(),
                report.output.c_str(), report.format.c_str(), report.method.c_str(),
                static_cast<long long>(report.quantized_layers), FormatBytes(report.bytes_before).c_str(),
                FormatBytes(report.bytes_after).c_str(), report.compression(), report.seconds);
    if (!report.kept.empty()) {
        std::printf("kept in F16 (%zu layers the format cannot hold):\n", report.kept.size());
        for (const quant::KeptLayer& k : report.kept) std::printf("  %s: %s\n", k.name.c_str(), k.reason.c_str());
    }
    if (!report.layer_seconds.empty()) {
        double total = 0;
        for (double v : report.layer_seconds) total += v;
        std::printf("calibrated on %lld tokens: %.2f s per block\n", static_cast<long long>(report.calibration_tokens),
                    total / static_cast<double>(report.layer_seconds.size()));
    }
    for (const std::string& w : report.warnings) std::printf("warning: %s\n", w.c_str());
    for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
    return Status::Ok();
}

}  // namespace

void AddQuantizeCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<QuantizeArgs>();
    CLI::App* cmd = app.add_subcommand("quantize", "Quantize a model into GPTQ, AWQ, bitsandbytes or GGUF layouts");
    cmd->add_option("MODEL", args->source, "HF folder, .gguf, llama2.c .bin, or org/name in the local HF cache")
        ->required();
    cmd->add_option("-o,--output", args->output, "Output folder (gptq, awq, bnb) or .gguf file")->required();
    cmd->add_option("--preset", args->preset,
                    "gptq_quality, gptq_aggressive, awq_balanced, awq_fast, bnb_nf4, bnb_fp4, bnb_int8 or fp16");
    cmd->add_option("--method", args->method, "rtn, gptq, awq, nf4, fp4 or int8");
    cmd->add_option("--bits", args->bits, "rtn, gptq: 2, 3, 4 or 8; awq: 4 (default 4)");
    cmd->add_option("--group-size", args->group_size,
                    "rtn, gptq: 32, 64, 128 or -1 per channel; awq: 32, 64, 128 (default 128)");
    cmd->add_flag("--sym", args->sym, "rtn, gptq: symmetric (their default)");
    cmd->add_flag("--asym", args->asym, "asymmetric, with zero points (awq's only choice)");
    cmd->add_flag("--act-order", args->act_order, "gptq: columns by decreasing Hessian diagonal (desc_act)");
    cmd->add_flag("--static-groups", args->static_groups, "gptq: group parameters fixed before the updates");
    cmd->add_option("--damp", args->damp, "gptq: dampening, fraction of the mean Hessian diagonal (default 0.01)");
    cmd->add_option("--calib", args->calib,
                    "gptq, awq: calibration text, plain or JSONL with a \"text\" field (default: the bundled "
                    "TinyStories sample)");
    cmd->add_option("--calib-samples", args->calib_samples, "gptq, awq: calibration windows (default 128)");
    cmd->add_option("--calib-seqlen", args->calib_seqlen, "gptq, awq: tokens per window (default 512)");
    cmd->add_option("--seed", args->seed, "gptq, awq: seed of the window choice (default 0)");
    cmd->add_flag("--double-quant", args->double_quant, "nf4/fp4: quantize the block scales too (bitsandbytes)");
    cmd->add_option("--format", args->format,
                    "gptq, awq, bnb or gguf (default: gptq for rtn and gptq, awq for awq, bnb for nf4/fp4/int8, "
                    "gguf for a .gguf output)");
    cmd->add_option("--gguf-type", args->gguf_type, "F16, Q8_0, Q4_0, Q4_1, Q4_K or Q6_K (implies --format gguf)");
    cmd->add_option("--max-shard-size", args->max_shard_size, "Largest safetensors shard (default 5GB)");
    cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->add_flag("--force", args->force, "Replace an existing non-empty output folder");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunQuantize(*args); }; });
}

}  // namespace tenpak::cli
