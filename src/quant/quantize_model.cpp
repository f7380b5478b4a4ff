#include "tenpak/quant/quantize_model.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "quant/calibration.h"
#include "quant/calibration_data.h"
#include "quantizing_rewriter.h"
#include "tenpak/model/model_writer.h"

namespace tenpak::quant {
namespace {

struct Preset {
    std::string_view name;
    Method method;
    OutputFormat format;
    int bits;
    int64_t group_size;
    bool act_order;
    bool double_quant;
};

// The preset table (DESIGN.md). gptq_quality uses act-order as AutoGPTQ's quality recipe does
// (desc_act, g_idx written); bnb_nf4 follows QLoRA's recipe (NF4 with double quantization),
// bnb_fp4 bitsandbytes' defaults.
constexpr Preset kPresets[] = {
    {"gptq_quality", Method::kGptq, OutputFormat::kGptq, 4, 128, true, false},
    {"gptq_aggressive", Method::kGptq, OutputFormat::kGptq, 3, 128, false, false},
    {"awq_balanced", Method::kAwq, OutputFormat::kAwq, 4, 128, false, false},
    {"awq_fast", Method::kAwq, OutputFormat::kAwq, 4, 64, false, false},
    {"bnb_nf4", Method::kNf4, OutputFormat::kBnb, 4, 64, false, true},
    {"bnb_fp4", Method::kFp4, OutputFormat::kBnb, 4, 64, false, false},
    {"bnb_int8", Method::kInt8, OutputFormat::kBnb, 8, -1, false, false},
    {"fp16", Method::kRtn, OutputFormat::kHf, 4, 128, false, false},
};

}  // namespace

std::string_view OutputFormatName(OutputFormat format) {
    switch (format) {
        case OutputFormat::kGptq:
            return "gptq";
        case OutputFormat::kAwq:
            return "awq";
        case OutputFormat::kBnb:
            return "bnb";
        case OutputFormat::kGguf:
            return "gguf";
        case OutputFormat::kHf:
            return "hf";
    }
    return "unknown";
}

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
    for (OutputFormat f :
         {OutputFormat::kGptq, OutputFormat::kAwq, OutputFormat::kBnb, OutputFormat::kGguf, OutputFormat::kHf}) {
        if (text == OutputFormatName(f)) return f;
    }
    return Status::InvalidArgument("unknown format '" + std::string(text) + "' (supported: gptq, awq, bnb, gguf, hf)");
}

std::vector<std::string> PresetNames() {
    std::vector<std::string> names;
    for (const Preset& p : kPresets) names.emplace_back(p.name);
    return names;
}

Result<QuantizeRequest> PresetRequest(std::string_view preset) {
    for (const Preset& p : kPresets) {
        if (p.name != preset) continue;
        QuantizeRequest request;
        request.format = p.format;
        request.options = DefaultOptions(p.method);
        request.options.bits = p.bits;
        request.options.group_size = p.group_size;
        request.options.act_order = p.act_order;
        request.options.double_quant = p.double_quant;
        return request;
    }
    std::string names;
    for (const Preset& p : kPresets) names += (names.empty() ? "" : ", ") + std::string(p.name);
    return Status::InvalidArgument("unknown preset '" + std::string(preset) + "' (supported: " + names + ")");
}

std::optional<std::string> FitPresetGroupSize(QuantizeRequest& request, const model::ModelConfig& config) {
    if (request.format != OutputFormat::kGptq && request.format != OutputFormat::kAwq) return std::nullopt;
    const int64_t group = request.options.group_size;
    if (group <= 0) return std::nullopt;
    const std::vector<int64_t> inputs = {config.hidden_size, config.num_heads * config.head_dim, config.intermediate_size};
    auto divides_some = [&](int64_t g) {
        return std::any_of(inputs.begin(), inputs.end(), [g](int64_t n) { return n > 0 && n % g == 0; });
    };
    if (divides_some(group)) return std::nullopt;
    for (int64_t smaller : {int64_t{64}, int64_t{32}}) {
        if (smaller < group && divides_some(smaller)) {
            request.options.group_size = smaller;
            return "group size " + std::to_string(group) + " -> " + std::to_string(smaller) +
                   ": no linear layer's input size (" + std::to_string(inputs[0]) + ", " + std::to_string(inputs[1]) +
                   ", " + std::to_string(inputs[2]) + ") is a multiple of " + std::to_string(group);
        }
    }
    return std::nullopt;  // QuantizeModel says why nothing fits
}

Status CheckRequest(const QuantizeRequest& request) {
    if (request.format == OutputFormat::kHf) return Status::Ok();
    if (request.gguf_type && request.format != OutputFormat::kGguf) {
        return Status::InvalidArgument("--gguf-type goes with --format gguf");
    }
    if (request.format == OutputFormat::kGguf) return internal::GgufTypeOf(request).status();
    TP_RETURN_IF_ERROR(ValidateOptions(request.options));
    TP_RETURN_IF_ERROR(internal::HfLayoutFor(request.format, request.options.method).status());
    if (IsCalibrated(request.options.method)) TP_RETURN_IF_ERROR(internal::CheckCalibration(request.calibration));
    if (request.format == OutputFormat::kAwq && request.options.bits != 4) {
        return Status::InvalidArgument("AWQ stores 4-bit codes only (asked: " + std::to_string(request.options.bits) +
                                       " bits); use --bits 4, or --format gptq for 2, 3 and 8 bits");
    }
    if (request.format == OutputFormat::kAwq && request.options.group_size < 0) {
        return Status::InvalidArgument("AWQ needs a group size (32, 64 or 128)");
    }
    return Status::Ok();
}

Result<QuantizeReport> QuantizeModel(const model::Model& model, const QuantizeRequest& request,
                                     const std::string& output) {
    TP_RETURN_IF_ERROR(CheckRequest(request));
    if (model.config.quantization) {
        return Status::InvalidArgument(model.origin + " is already quantized (" +
                                       model.config.quantization->quant_method +
                                       "); quantize from the unquantized model");
    }
    for (const io::TensorInfo& info : model.tensors->tensors()) {
        if (Traits(info.dtype).block_elems != 1) {
            return Status::InvalidArgument(model.origin + " is already quantized (tensor '" + info.name + "' is " +
                                           std::string(DTypeName(info.dtype)) +
                                           "); quantize from the unquantized model");
        }
    }
    const auto start = std::chrono::steady_clock::now();
    QuantizeReport report;
    report.output = output;
    report.method = request.format == OutputFormat::kHf ? "fp16" : std::string(MethodName(request.options.method));
    report.format = std::string(OutputFormatName(request.format));
    for (const io::TensorInfo& info : model.tensors->tensors()) report.bytes_before += info.nbytes;

    const size_t threads = request.threads > 0 ? static_cast<size_t>(request.threads) : 0;
    ThreadPool pool(threads);
    internal::QuantizingRewriter rewriter(model, request, pool);
    std::unique_ptr<internal::CalibrationPipeline> pipeline;
    model::WriteOptions options;
    options.dtype = DType::kF16;
    options.max_shard_bytes = request.max_shard_bytes;
    options.overwrite = request.overwrite;
    options.progress = request.progress;
    Result<model::WriteReport> written = Status::Internal("not written");
    if (request.format == OutputFormat::kGguf) {
        TP_ASSIGN_OR_RETURN(const DType type, internal::GgufTypeOf(request));
        report.format = "gguf " + std::string(DTypeName(type));
        if (type == DType::kF16) report.method = "fp16";
        if (IsKQuant(internal::GgufMethod(type))) report.method = std::string(MethodName(internal::GgufMethod(type)));
        if (type != DType::kF16) {
            TP_RETURN_IF_ERROR(rewriter.Preflight(/*gguf=*/true));
            options.rewriter = &rewriter;
        }
        written = model::WriteGguf(model, output, options);
    } else {
        if (request.format != OutputFormat::kHf) {
            TP_RETURN_IF_ERROR(rewriter.Preflight(/*gguf=*/false));
            options.rewriter = &rewriter;
        }
        if (IsCalibrated(request.options.method)) {
            TP_ASSIGN_OR_RETURN(pipeline, internal::CalibrationPipeline::Create(
                                              model, request,
                                              [&rewriter](const std::string& name) { return rewriter.Quantizes(name); },
                                              pool));
            rewriter.SetPipeline(pipeline.get());
            options.progress = false;  // the calibration's bar, per block, is the one that moves
        }
        written = model::WriteHfFolder(model, output, options);
    }
    if (!written.ok()) return written.status();
    report.bytes_after = written->tensor_bytes;
    report.files = written->files;
    report.notes = written->notes;
    report.quantized_layers = rewriter.quantized_layers();
    report.kept = rewriter.kept();
    if (pipeline) {
        report.calibration_tokens = pipeline->tokens();
        report.layer_seconds = pipeline->layer_seconds();
        report.warnings = pipeline->warnings();
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace tenpak::quant
