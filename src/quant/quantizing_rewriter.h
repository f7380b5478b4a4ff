// The TensorRewriter behind `tenpak quantize`: decides, per canonical tensor, whether it is
// quantized and into which layout, and makes the layout's tensors from the F32 weights when the
// writer asks for them. One layer's packed tensors are kept until the writer has taken them all.
//
// Lookahead (calibration-free methods only): while the writer writes one layer's tensors, the next
// layer in the writer's order is read, quantized and packed on a background thread (which drives
// the pool). The first starts when planning ends, so it overlaps the float tensors written before
// the first layer. At most two layers are in memory: the one being written and the one being made.
// The calibrated methods (a CalibrationPipeline is set) make every layer when asked, in order.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "quant/blockwise.h"
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
    bool conv1d = false;  // stored [in, out]: transposed before quantizing (even when square)
};

class QuantizingRewriter : public model::TensorRewriter {
public:
    QuantizingRewriter(const model::Model& model, const QuantizeRequest& request, ThreadPool& pool);
    // Waits for a layer still being made in the background.
    ~QuantizingRewriter() override;
    QuantizingRewriter(const QuantizingRewriter&) = delete;
    QuantizingRewriter& operator=(const QuantizingRewriter&) = delete;

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
    // Layers made in the background and taken by the writer, and ones made in the background but
    // not the one the writer asked for next (work thrown away; a wrong guess of the writer's order).
    int64_t lookahead_hits() const { return lookahead_hits_; }
    int64_t lookahead_misses() const { return lookahead_misses_; }

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
    // Plan's work; Plan adds the layer to the write order and starts the lookahead.
    Result<std::optional<std::vector<io::TensorInfo>>> PlanTensor(const io::TensorInfo& info, bool gguf);
    Result<const Quantizer*> QuantizerFor(Method method);
    // F32 [out, in] weights of a canonical tensor, in `scratch` (reused from layer to layer).
    Result<std::span<const float>> ReadWeights(const io::TensorInfo& info, const Target& target,
                                               std::vector<float>& scratch);
    nlohmann::json QuantizationConfigJson() const;
    // The quantized form of a planned tensor of a calibrated method, from the calibration pipeline.
    Result<quantformat::QuantizedTensor> QuantizedOf(const io::TensorInfo& canonical, const Target& target);
    // A calibration-free layer read, quantized and packed. Touches no member but the scratch
    // buffers (weights, codes), so it may run on the lookahead thread (one at a time).
    // Weights stored [out, in] in F16, BF16 or F32 are quantized as they are cast, group by group by
    // `recipe` (or super-block by super-block by QuantizeKQuantStored for the k-quants, which have no
    // recipe: `recipe` null), with no F32 copy of the layer; others (Conv1D's [in, out]) are cast,
    // then quantized by `quantizer`. Both give the same tensors.
    Result<std::vector<quantformat::PackedTensor>> MakeCalibrationFree(const io::TensorInfo& canonical,
                                                                      const Target& target, const Quantizer& quantizer,
                                                                      const BlockwiseRecipe* recipe);
    // The method's BlockwiseRecipe, or null for a method that has none (IsKQuant).
    Result<const BlockwiseRecipe*> RecipeFor(Method method);
    // Lookahead: the planned layers in the writer's order; starting the layer after `name` (or
    // the first when `name` is empty); waiting for and dropping a layer made in vain.
    bool LookaheadEnabled() const;
    const std::string& LastMatrixName();
    void SortWriteOrder();
    void StartAfter(const std::string& name);
    void DropAhead();
    // A float tensor the calibration changed (AWQ's folded norms), in the dtype planned.
    Result<io::TensorData> ProduceChanged(const io::TensorInfo& canonical, const io::TensorInfo& out);

    const model::Model& model_;
    QuantizeRequest request_;
    ThreadPool& pool_;
    std::map<Method, std::unique_ptr<Quantizer>> quantizers_;
    std::map<Method, BlockwiseRecipe> recipes_;
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

    // A planned layer and where the writer puts it: GGUF by (layer, role, GGUF name), as
    // WriteGguf sorts; HF folders by the natural order of the output names, as WriteHfFolder does
    // (a layer comes where its first output does).
    struct OrderedLayer {
        io::TensorInfo canonical;
        int layer = -1;
        size_t role = 0;
        std::string key;
    };
    bool gguf_ = false;
    std::optional<std::string> last_matrix_;  // the name of the source's last 2-D tensor
    std::vector<OrderedLayer> write_order_;
    bool write_order_sorted_ = false;
    // The layer being made in the background.
    struct Ahead {
        std::string name;
        std::future<Result<std::vector<quantformat::PackedTensor>>> packed;
    };
    std::optional<Ahead> ahead_;
    std::vector<float> weights_scratch_;    // F32 weights of the layer being made
    std::vector<float> transpose_scratch_;  // Conv1D: the weights as stored, before the transpose
    std::vector<uint8_t> codes_scratch_;    // the last layer's codes, packed: the next one's buffer
    int64_t lookahead_hits_ = 0;
    int64_t lookahead_misses_ = 0;
};

// The Layout of an HF output format for a method (gptq/awq/bnb), or an error naming the choices.
Result<quantformat::Layout> HfLayoutFor(OutputFormat format, Method method);
quantformat::Scheme SchemeOf(Method method);
// The GGML block type a GGUF request writes its weights in, and the method that makes it.
Result<DType> GgufTypeOf(const QuantizeRequest& request);
Method GgufMethod(DType type);

}  // namespace tenpak::quant::internal
