// One linear layer quantized on its own, given its calibration inputs: what `tenpak
// quantize-layer` runs, so that TenPak's GPTQ, AWQ and RTN can be compared with other
// implementations on identical data, phase by phase.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {

struct LayerPhase {
    std::string name;  // "hessian", "gptq", "awq scale search", "awq clip", "quantize"
    double seconds = 0.0;
};

struct LayerQuantization {
    // The codes. For AWQ they quantize W * diag(s), and the layer runs on x / s (s is folded into
    // the operator before it in a model).
    quantformat::QuantizedTensor tensor;
    std::vector<float> w_hat;       // [rows, cols]: what the quantized layer computes, on the original x
    std::vector<float> awq_scales;  // AWQ: s, cols entries; empty otherwise
    std::vector<LayerPhase> phases;
    std::vector<std::string> warnings;  // GPTQ's extra dampening
};

// W: [rows, cols] F32 (out x in); X: [tokens, cols] (unused by rtn). options.method is rtn, gptq or
// awq, with their options (ValidateOptions).
Result<LayerQuantization> QuantizeLayer(std::span<const float> w, int64_t rows, int64_t cols,
                                        std::span<const float> x, int64_t tokens, const QuantOptions& options,
                                        ThreadPool& pool);

}  // namespace tenpak::quant
