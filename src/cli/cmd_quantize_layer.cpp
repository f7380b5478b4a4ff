// tenpak quantize-layer IN.safetensors -o OUT.safetensors --method gptq|awq|rtn [--bits B]
// [--group-size G] [--sym|--asym] [--act-order] [--static-groups] [--damp D] [--json]
//
// IN holds `W` (out x in) and `X` (tokens x in), float. OUT gets `W_hat` (F32: what the quantized
// layer computes on the original inputs), the packed tensors of the method's layout under
// `packed.` (GPTQ for gptq and rtn, AWQ GEMM for awq) and, for awq, the scales `awq_scales`.
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/cast.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/quant/quantize_layer.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::cli {
namespace {

struct QuantizeLayerArgs {
    std::string input;
    std::string output;
    std::string method = "gptq";
    int bits = 4;
    int64_t group_size = 128;
    bool sym = false;
    bool asym = false;
    bool act_order = false;
    bool static_groups = false;
    double damp = 0.01;
    int threads = 0;
    bool json = false;
};

struct Matrix {
    std::vector<float> values;
    int64_t rows = 0;
    int64_t cols = 0;
};

Result<Matrix> ReadMatrix(const io::SafetensorsReader& reader, const std::string& path, const std::string& name) {
    const io::TensorInfo* info = reader.Find(name);
    if (info == nullptr) {
        return Status::InvalidArgument(path + " has no tensor '" + name + "' (it needs W [out, in] and X [tokens, in])");
    }
    if (info->shape.size() != 2 || !Traits(info->dtype).is_float) {
        return Status::InvalidArgument(path + ": tensor '" + name + "' must be a 2-D float matrix, is " +
                                       std::string(DTypeName(info->dtype)) + " " + info->ShapeString());
    }
    TP_ASSIGN_OR_RETURN(io::TensorData data, reader.Read(*info));
    Matrix m;
    m.rows = info->shape[0];
    m.cols = info->shape[1];
    m.values.resize(info->NumElements());
    TP_RETURN_IF_ERROR(CastTensor(info->dtype, data.bytes(), DType::kF32,
                                  {reinterpret_cast<std::byte*>(m.values.data()), m.values.size() * sizeof(float)},
                                  m.values.size()));
    return m;
}

Result<quant::QuantOptions> Options(const QuantizeLayerArgs& args) {
    quant::QuantOptions o;
    bool found = false;
    for (quant::Method m : {quant::Method::kGptq, quant::Method::kAwq, quant::Method::kRtn}) {
        if (args.method == quant::MethodName(m)) {
            o = quant::DefaultOptions(m);
            found = true;
        }
    }
    if (!found) return Status::InvalidArgument("unknown --method '" + args.method + "' (supported: gptq, awq, rtn)");
    if (args.sym && args.asym) return Status::InvalidArgument("--sym and --asym exclude each other");
    o.bits = args.bits;
    o.group_size = args.group_size;
    if (args.sym || args.asym) o.symmetric = args.sym;
    o.act_order = args.act_order;
    o.static_groups = args.static_groups;
    if (o.method == quant::Method::kGptq) o.damp = args.damp;
    TP_RETURN_IF_ERROR(quant::ValidateOptions(o));
    return o;
}

std::vector<std::byte> Bytes(const std::vector<float>& values) {
    const auto* p = reinterpret_cast<const std::byte*>(values.data());
    return {p, p + values.size() * sizeof(float)};
}

Status RunQuantizeLayer(const QuantizeLayerArgs& args) {
    TP_ASSIGN_OR_RETURN(const quant::QuantOptions options, Options(args));
    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::SafetensorsReader> reader, io::SafetensorsReader::Open(args.input));
    TP_ASSIGN_OR_RETURN(const Matrix w, ReadMatrix(*reader, args.input, "W"));
    Matrix x;
    if (quant::IsCalibrated(options.method)) {
        TP_ASSIGN_OR_RETURN(x, ReadMatrix(*reader, args.input, "X"));
        if (x.cols != w.cols) {
            return Status::InvalidArgument(args.input + ": X has " + std::to_string(x.cols) + " columns, W has " +
                                           std::to_string(w.cols) + " inputs");
        }
    }
    ThreadPool pool(args.threads > 0 ? static_cast<size_t>(args.threads) : 0);
    TP_ASSIGN_OR_RETURN(quant::LayerQuantization q,
                        quant::QuantizeLayer(w.values, w.rows, w.cols, x.values, x.rows, options, pool));

    // The tensors written: W_hat, the packed layout when it holds the shape, AWQ's scales.
    std::vector<std::pair<io::TensorInfo, std::vector<std::byte>>> tensors;
    tensors.push_back({{"W_hat", DType::kF32, {w.rows, w.cols}, 0}, Bytes(q.w_hat)});
    if (!q.awq_scales.empty()) tensors.push_back({{"awq_scales", DType::kF32, {w.cols}, 0}, Bytes(q.awq_scales)});
    const quantformat::Layout layout =
        options.method == quant::Method::kAwq ? quantformat::Layout::kAwqGemm : quantformat::Layout::kGptq;
    std::string packed_note;
    if (Result<std::vector<quantformat::PackedTensor>> packed = quantformat::Pack(layout, q.tensor); packed.ok()) {
        for (quantformat::PackedTensor& p : *packed) {
            tensors.push_back({{"packed." + p.suffix, p.dtype, p.shape, 0}, std::move(p.bytes)});
        }
    } else {
        packed_note = "packed form not written: " + packed.status().message();
    }
    std::vector<io::TensorInfo> plan;
    for (auto& [info, bytes] : tensors) {
        info.nbytes = bytes.size();
        plan.push_back(info);
    }
    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::SafetensorsWriter> writer,
                        io::SafetensorsWriter::Create(args.output, {{"format", "pt"}}));
    TP_RETURN_IF_ERROR(writer->Begin(plan));
    for (const auto& [info, bytes] : tensors) TP_RETURN_IF_ERROR(writer->Write(info.name, bytes));
    TP_RETURN_IF_ERROR(writer->Finish());

    if (args.json) {
        nlohmann::ordered_json phases = nlohmann::ordered_json::array();
        for (const quant::LayerPhase& p : q.phases) phases.push_back({{"phase", p.name}, {"seconds", p.seconds}});
        PrintJson({{"input", args.input},
                   {"output", args.output},
                   {"method", args.method},
                   {"rows", w.rows},
                   {"cols", w.cols},
                   {"tokens", x.rows},
                   {"bits", options.bits},
                   {"group_size", options.group_size},
                   {"phases", phases},
                   {"warnings", q.warnings},
                   {"note", packed_note}});
        return Status::Ok();
    }
    std::printf("%s %lld x %lld (%lld calibration tokens) -> %s\n", args.method.c_str(),
                static_cast<long long>(w.rows), static_cast<long long>(w.cols), static_cast<long long>(x.rows),
                args.output.c_str());
    for (const quant::LayerPhase& p : q.phases) std::printf("  %-18s %9.3f s\n", p.name.c_str(), p.seconds);
    for (const std::string& warning : q.warnings) std::printf("warning: %s\n", warning.c_str());
    if (!packed_note.empty()) std::printf("note: %s\n", packed_note.c_str());
    return Status::Ok();
}

}  // namespace

void AddQuantizeLayerCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<QuantizeLayerArgs>();
    CLI::App* cmd = app.add_subcommand(
        "quantize-layer", "Quantize one linear layer W given its inputs X (a .safetensors with W and X), for comparisons");
    cmd->add_option("IN", args->input, ".safetensors with W [out, in] and X [tokens, in]")->required();
    cmd->add_option("-o,--output", args->output, ".safetensors to write (W_hat, packed.*, awq_scales)")->required();
    cmd->add_option("--method", args->method, "gptq (default), awq or rtn");
    cmd->add_option("--bits", args->bits, "2, 3, 4 or 8 (awq: 4; default 4)");
    cmd->add_option("--group-size", args->group_size, "32, 64, 128 or -1 (awq: 32, 64, 128; default 128)");
    cmd->add_flag("--sym", args->sym, "symmetric (gptq and rtn's default)");
    cmd->add_flag("--asym", args->asym, "asymmetric (awq's only choice)");
    cmd->add_flag("--act-order", args->act_order, "gptq: columns by decreasing Hessian diagonal");
    cmd->add_flag("--static-groups", args->static_groups, "gptq: group parameters fixed up front");
    cmd->add_option("--damp", args->damp, "gptq: dampening (default 0.01)");
    cmd->add_option("--threads", args->threads, "Threads (default: all cores)");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunQuantizeLayer(*args); }; });
}

}  // namespace tenpak::cli
