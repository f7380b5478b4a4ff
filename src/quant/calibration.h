// The layer-streaming calibration pipeline behind the calibrated methods (GPTQ, AWQ): embed the
// calibration windows once, then for each transformer block in turn load its weights, run the
// current activations through it while collecting what the method needs, quantize its linear
// layers, and run it again with the quantized weights to get the next block's inputs. Memory is
// the activations plus one block; nothing of earlier blocks is kept once the writer has taken it.
//
// GPTQ is true-sequential, as AutoGPTQ's default: q/k/v, then o, then gate/up, then down, each
// group's Hessian collected with the groups before it already quantized. AWQ follows AutoAWQ
// within a block (every scaling group is searched on the float block, scales are folded in, then
// the clipping search, then the quantization); unlike AutoAWQ, the next block's inputs come from
// the quantized block, as in GPTQ, so that later blocks calibrate on what they will see.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tenpak/core/progress.h"
#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/engine/layer_runner.h"
#include "tenpak/model/model.h"
#include "tenpak/quant/quantize_model.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant::internal {

// Whether the linear with this weight name is quantized (the format can hold it).
using QuantizeFilter = std::function<bool(const std::string& weight_name)>;

class CalibrationPipeline {
public:
    // Reads and tokenizes the calibration text, embeds the windows. Fails before any block runs
    // on: an architecture the method does not support, a text too short, windows longer than the
    // model's context.
    static Result<std::unique_ptr<CalibrationPipeline>> Create(const model::Model& model,
                                                               const QuantizeRequest& request, QuantizeFilter filter,
                                                               ThreadPool& pool);
    ~CalibrationPipeline();

    // The float tensors (norm weights, biases) the method will change, by canonical name: known
    // before any block runs, so that the writer can plan them.
    bool Changes(const std::string& name) const;

    // Makes block `layer` ready: runs the blocks up to it (each once, in order). Asking for a block
    // before the last one run is an error.
    Status RunThrough(int64_t layer);
    // The quantized weight `weight_name` of the last block run (each taken once).
    Result<quantformat::QuantizedTensor> TakeQuantized(const std::string& weight_name);
    // The new values of a float tensor Changes() named, of the last block run.
    Result<std::vector<float>> TakeChanged(const std::string& name);

    int64_t tokens() const;
    const std::vector<double>& layer_seconds() const;
    const std::vector<std::string>& warnings() const;

private:
    struct Impl;
    explicit CalibrationPipeline(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tenpak::quant::internal
