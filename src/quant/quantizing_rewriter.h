// The TensorRewriter behind `tenpak quantize`: decides, per canonical tensor, whether it is
// quantized and into which layout, and makes the layout's tensors from the F32 weights when the
// writer asks for them. One layer's packed tensors are kept until the writer has taken them all.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "quant/calibration.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"
#include "tenpak/quant/quantize_model.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quant::internal {

using quantformat::Layout;

// What one quantized tensor becomes.
struct Target {
    quantformat::Layout layout;
    Method method;
    int64_t rows = 0;  // the [out, in] shape quantized (Conv1D weights are stored [in, out])
    int64_t cols = 0;
};

class QuantizingRewriter : public model::TensorRewriter {
public:
    QuantizingRewriter(const model::Model& model, const QuantizeRequest& request, ThreadPool& pool);

    Result<std::optional<std::vector<io::TensorInfo>>> Plan(const io::TensorInfo& info, bool gguf) override;
    Result<io::TensorData> Produce(const io::TensorInfo& canonical, const io::TensorInfo& out) override;
    void EditConfig(nlohmann::json& config) const override;
    std::vector<io::AuxFile> ExtraFiles() const override;

    // Before any work: fails when the format can hold none of the model's linear layers (then the
    // output would not be quantized at all), naming the first layer and why.
    Status Preflight(bool gguf) const;

    // Whether the HF writer will quantize this canonical tensor (the format holds it).
    bool Quantizes(const std::string& name) const;
    // The calibrated methods' source of quantized tensors and changed float tensors; not owned.
    void SetPipeline(CalibrationPipeline* pipeline) { pipeline_ = pipeline; }

    int64_t quantized_layers() const { return quantized_layers_; }
    const std::vector<KeptLayer>& kept() const { return kept_; }

private:
    // What happens to a canonical tensor: quantized to a target; written as usual (neither set); or
    // kept in F16 because the format cannot hold it (`kept_reason` set).
    struct Decision {
        std::optional<Target> target;
        std::string kept_reason;
        int64_t rows = 0;
        int64_t cols = 0;
    };
    Decision Decide(const io::TensorInfo& info, bool gguf) const;
    Result<const Quantizer*> QuantizerFor(Method method);
    // F32 [out, in] weights of a canonical tensor.
    Result<std::vector<float>> ReadWeights(const io::TensorInfo& info, int64_t rows, int64_t cols) const;
    nlohmann::json QuantizationConfigJson() const;
    // The quantized form of a planned tensor: from the calibration pipeline, or quantized here.
    Result<quantformat::QuantizedTensor> QuantizedOf(const io::TensorInfo& canonical, const Target& target);
    // A float tensor the calibration changed (AWQ's folded norms), in the dtype planned.
    Result<io::TensorData> ProduceChanged(const io::TensorInfo& canonical, const io::TensorInfo& out);

    const model::Model& model_;
    QuantizeRequest request_;
    ThreadPool& pool_;
    std::map<Method, std::unique_ptr<Quantizer>> quantizers_;
    CalibrationPipeline* pipeline_ = nullptr;
    std::map<std::string, Target> targets_;  // canonical name -> what Plan decided
    // The packed tensors' (suffix, dtype, shape, size) per (layout, method, rows, cols): they depend on
    // nothing else, and a model has only a few distinct layer shapes, so each is planned once.
    std::map<std::tuple<Layout, Method, int64_t, int64_t>, std::vector<io::TensorInfo>> planned_shapes_;
    std::vector<KeptLayer> kept_;
    int64_t quantized_layers_ = 0;
    // The layer being written: its canonical name and packed tensors.
    std::string cached_name_;
    std::vector<quantformat::PackedTensor> cached_;
};

// The Layout of an HF output format for a method (gptq/awq/bnb), or an error naming the choices.
Result<quantformat::Layout> HfLayoutFor(OutputFormat format, Method method);
quantformat::Scheme SchemeOf(Method method);
// The GGML block type a GGUF request writes its weights in, and the method that makes it.
Result<DType> GgufTypeOf(const QuantizeRequest& request);
Method GgufMethod(DType type);
quantformat::Layout GgufLayout(DType type);

}  // namespace tenpak::quant::internal
