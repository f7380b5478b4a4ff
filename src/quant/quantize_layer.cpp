#include "tenpak/quant/quantize_layer.h"

#include <chrono>

#include "quant/awq.h"
#include "quant/gptq.h"

namespace tenpak::quant {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<LayerQuantization> Gptq(std::span<const float> w, int64_t rows, int64_t cols, std::span<const float> x,
                               int64_t tokens, const QuantOptions& o, ThreadPool& pool) {
    LayerQuantization out;
    Clock::time_point start = Clock::now();
    HessianAccumulator hessian(cols);
    TP_RETURN_IF_ERROR(hessian.Add(x.data(), tokens));
    out.phases.push_back({"hessian", SecondsSince(start)});
    start = Clock::now();
    TP_ASSIGN_OR_RETURN(GptqResult result, GptqQuantize(w, rows, cols, hessian.Take(), GptqOptionsFrom(o), pool));
    out.phases.push_back({"gptq", SecondsSince(start)});
    out.tensor = std::move(result.tensor);
    out.warnings = std::move(result.warnings);
    return out;
}

Result<LayerQuantization> Awq(std::span<const float> w, int64_t rows, int64_t cols, std::span<const float> x,
                              int64_t tokens, const QuantOptions& o, ThreadPool& pool) {
    TP_ASSIGN_OR_RETURN(AwqLinearResult result,
                        AwqQuantizeLinear(w, rows, cols, x, tokens, AwqOptionsFrom(o), pool));
    LayerQuantization out;
    out.tensor = std::move(result.tensor);
    out.awq_scales = std::move(result.search.scales);
    out.phases = {{"awq scale search", result.search_seconds},
                  {"awq clip", result.clip_seconds},
                  {"quantize", result.quantize_seconds}};
    return out;
}

}  // namespace

Result<LayerQuantization> QuantizeLayer(std::span<const float> w, int64_t rows, int64_t cols,
                                        std::span<const float> x, int64_t tokens, const QuantOptions& options,
                                        ThreadPool& pool) {
    TP_RETURN_IF_ERROR(ValidateOptions(options));
    if (static_cast<int64_t>(w.size()) != rows * cols) {
        return Status::InvalidArgument("W has " + std::to_string(w.size()) + " values, not " + std::to_string(rows) +
                                       " x " + std::to_string(cols));
    }
    if (IsCalibrated(options.method) && (tokens <= 0 || static_cast<int64_t>(x.size()) != tokens * cols)) {
        return Status::InvalidArgument("X must be [tokens, " + std::to_string(cols) + "] with at least one token");
    }
    LayerQuantization out;
    switch (options.method) {
        case Method::kGptq: {
            TP_ASSIGN_OR_RETURN(out, Gptq(w, rows, cols, x, tokens, options, pool));
            break;
        }
        case Method::kAwq: {
            TP_ASSIGN_OR_RETURN(out, Awq(w, rows, cols, x, tokens, options, pool));
            break;
        }
        default: {
            TP_ASSIGN_OR_RETURN(std::unique_ptr<Quantizer> quantizer, MakeQuantizer(options));
            const Clock::time_point start = Clock::now();
            TP_ASSIGN_OR_RETURN(out.tensor, quantizer->Quantize(w, rows, cols, pool));
            out.phases.push_back({"quantize", SecondsSince(start)});
            break;
        }
    }
    const Clock::time_point start = Clock::now();
    out.w_hat.resize(w.size());
    quantformat::Dequantize(out.tensor, out.w_hat);
    if (!out.awq_scales.empty()) {
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) out.w_hat[r * cols + c] /= out.awq_scales[static_cast<size_t>(c)];
        }
    }
    out.phases.push_back({"dequantize", SecondsSince(start)});
    return out;
}

}  // namespace tenpak::quant
