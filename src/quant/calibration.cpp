#include "quant/calibration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "quant/awq.h"
#include "quant/blockwise.h"
#include "quant/calibration_data.h"
#include "quant/gptq.h"
#include "tenpak/kernels/kernels.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::quant::internal {
namespace {

using engine::BlockLinear;
using engine::TapPoint;
using quantformat::QuantizedTensor;

constexpr TapPoint kTapOrder[] = {TapPoint::kAttentionInput, TapPoint::kAttentionOutput, TapPoint::kMlpInput,
                                  TapPoint::kMlpHidden};

std::string Names(const std::vector<BlockLinear*>& linears) {
    std::string names;
    for (const BlockLinear* l : linears) names += (names.empty() ? "'" : ", '") + l->name + "'";
    return names;
}

// "q_proj, k_proj, v_proj": the last part of each layer's name, for the progress line.
std::string ShortNames(const std::vector<BlockLinear*>& linears) {
    std::string names;
    for (const BlockLinear* l : linears) {
        const std::string prefix = l->name.substr(0, l->name.rfind('.'));
        names += (names.empty() ? "" : ", ") + prefix.substr(prefix.rfind('.') + 1);
    }
    return names;
}

double MeanSquaredError(const std::vector<float>& a, const std::vector<float>& b) {
    double sum = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - b[i];
        sum += d * d;
    }
    return a.empty() ? 0.0 : sum / static_cast<double>(a.size());
}

// y = x W^T for x [tokens, cols] and W [rows, cols] F32.
std::vector<float> Multiply(std::span<const float> w, int64_t rows, int64_t cols, const std::vector<float>& x,
                            int64_t tokens, ThreadPool& pool) {
    std::vector<float> y(static_cast<size_t>(tokens * rows));
    kernels::MatMul({DType::kF32, w.data(), rows, cols}, x.data(), tokens, y.data(), pool);
    return y;
}

// Every `stride`-th token of x (AutoAWQ samples the clipping search's tokens this way), at most
// `limit` of them.
std::vector<float> SampleTokens(const std::vector<float>& x, int64_t tokens, int64_t cols, int64_t limit,
                                int64_t& sampled) {
    const int64_t stride = std::max<int64_t>(1, tokens / limit);
    std::vector<float> out;
    sampled = 0;
    for (int64_t t = 0; t < tokens && sampled < limit; t += stride, ++sampled) {
        out.insert(out.end(), x.begin() + t * cols, x.begin() + (t + 1) * cols);
    }
    return out;
}

// "model.layers.3.self_attn.v_proj.weight" -> "model.layers.3.self_attn.v_proj"
std::string PrefixOf(const std::string& weight_name) {
    return weight_name.substr(0, weight_name.rfind('.'));
}

}  // namespace

struct CalibrationPipeline::Impl {
    const model::Model* model = nullptr;
    QuantizeRequest request;
    QuantizeFilter filter;
    ThreadPool* pool = nullptr;
    std::unique_ptr<engine::LayerRunner> runner;
    std::vector<float> x;  // the current block's inputs, [tokens, hidden]
    int64_t tokens = 0;
    int64_t last_run = -1;
    std::set<std::string> changes;
    std::map<std::string, QuantizedTensor> quantized;
    std::map<std::string, std::vector<float>> changed;
    std::vector<double> seconds;
    std::vector<std::string> warnings;
    std::unique_ptr<Progress> progress;

    std::string LayerName(int64_t layer) const { return "layer " + std::to_string(layer); }

    // The activations at `point` for every window, [tokens, features], from the loaded block as
    // it is now.
    std::vector<float> Capture(TapPoint point, int64_t features) {
        std::vector<float> out;
        out.reserve(static_cast<size_t>(tokens * features));
        runner->Observe(x.data(), tokens, [&](TapPoint p, const float* a, int64_t n) {
            if (p != point) return true;
            out.insert(out.end(), a, a + n * features);
            return false;
        });
        return out;
    }

    std::vector<BlockLinear*> Group(std::vector<BlockLinear>& linears, TapPoint point, bool quantized_only) {
        std::vector<BlockLinear*> group;
        for (BlockLinear& l : linears) {
            if (l.input == point && (!quantized_only || filter(l.name))) group.push_back(&l);
        }
        return group;
    }

    // Replaces the weights by what the quantized tensor means, so that the rest of the block sees
    // the quantized layer, and keeps the tensor for the writer.
    void Install(BlockLinear& linear, QuantizedTensor tensor) {
        quantformat::Dequantize(tensor, linear.weight);
        quantized[linear.name] = std::move(tensor);
    }

    // Shows which group of which block is being worked on (a 7B block takes minutes).
    void ShowStage(int64_t layer, const std::string& stage, bool layer_done = false) {
        if (!progress) return;
        std::string detail = "layer " + std::to_string(layer) + ": " + stage;
        if (!seconds.empty()) {
            double total = 0;
            for (double v : seconds) total += v;
            const double per_layer = total / static_cast<double>(seconds.size());
            const double left = per_layer * static_cast<double>(runner->layers() - layer - (layer_done ? 1 : 0));
            char timing[64];
            std::snprintf(timing, sizeof(timing), " (%.1f s/layer, ~%.0f s left)", per_layer, left);
            detail += timing;
        }
        progress->SetDetail(detail);
    }

    Status RunGptq(int64_t layer);
    Status RunAwq(int64_t layer);
    Status RunBlock(int64_t layer);
};

Status CalibrationPipeline::Impl::RunGptq(int64_t layer) {
    const GptqOptions options = GptqOptionsFrom(request.options);
    std::vector<BlockLinear> linears = runner->Linears();
    // True-sequential: each group's Hessian comes from a pass in which the groups before it are
    // already quantized (the pass stops at the group's input).
    for (TapPoint point : kTapOrder) {
        const std::vector<BlockLinear*> group = Group(linears, point, /*quantized_only=*/true);
        if (group.empty()) continue;
        ShowStage(layer, "gptq " + ShortNames(group));
        HessianAccumulator hessian(group.front()->cols);
        Status failed = Status::Ok();
        runner->Observe(x.data(), tokens, [&](TapPoint p, const float* a, int64_t n) {
            if (p != point) return true;
            if (failed.ok()) failed = hessian.Add(a, n);
            return false;
        });
        if (!failed.ok()) return failed.WithContext(LayerName(layer) + ", the inputs of " + Names(group));
        std::vector<float> h = hessian.Take();
        for (size_t i = 0; i < group.size(); ++i) {
            BlockLinear& l = *group[i];
            std::vector<float> h_copy = i + 1 == group.size() ? std::move(h) : h;
            Result<GptqResult> result = GptqQuantize(l.weight, l.rows, l.cols, std::move(h_copy), options, *pool);
            if (!result.ok()) return result.status().WithContext(LayerName(layer) + ", tensor '" + l.name + "'");
            for (const std::string& w : result->warnings) warnings.push_back("'" + l.name + "': " + w);
            Install(l, std::move(result->tensor));
        }
    }
    return Status::Ok();
}

Status CalibrationPipeline::Impl::RunAwq(int64_t layer) {
    const AwqOptions options = AwqOptionsFrom(request.options);
    std::vector<BlockLinear> linears = runner->Linears();
    std::vector<engine::BlockNorm> norms = runner->Norms();
    const auto linear = [&](const char* role) -> BlockLinear* {
        for (BlockLinear& l : linears) {
            if (l.name.ends_with(std::string(role) + ".weight")) return &l;
        }
        return nullptr;
    };
    BlockLinear* v = linear("self_attn.v_proj");
    BlockLinear* o_proj = linear("self_attn.o_proj");
    BlockLinear* up = linear("mlp.up_proj");
    std::map<std::string, std::vector<float>> clip_inputs;  // per quantized linear, scaled, sampled
    std::map<std::string, int64_t> clip_tokens;

    for (TapPoint point : kTapOrder) {
        std::vector<BlockLinear*> group = Group(linears, point, /*quantized_only=*/false);
        const bool any_quantized =
            std::any_of(group.begin(), group.end(), [&](const BlockLinear* l) { return filter(l->name); });
        if (group.empty() || !any_quantized) continue;
        ShowStage(layer, "awq scales of " + ShortNames(group));
        const int64_t cols = group.front()->cols;
        const std::vector<float> input = Capture(point, cols);
        ChannelMagnitude magnitude(cols);
        if (Status s = magnitude.Add(input.data(), tokens); !s.ok()) {
            return s.WithContext(LayerName(layer) + ", the inputs of " + Names(group));
        }
        // The operator that absorbs 1/s: the norm before q/k/v and gate/up, v_proj before o_proj
        // (only when their shapes agree: not under grouped-query attention), up_proj before down_proj.
        engine::BlockNorm* norm = nullptr;
        BlockLinear* producer = nullptr;
        if (point == TapPoint::kAttentionInput) norm = &norms[0];
        if (point == TapPoint::kMlpInput) norm = &norms[1];
        if (point == TapPoint::kAttentionOutput && v != nullptr && v->rows == o_proj->rows && v->cols == o_proj->cols) {
            producer = v;
        }
        if (point == TapPoint::kMlpHidden) producer = up;

        std::vector<float> scales(static_cast<size_t>(cols), 1.0f);
        if (norm != nullptr || producer != nullptr) {
            ScaleGroup sg;
            sg.cols = cols;
            std::vector<std::vector<float>> originals;
            for (const BlockLinear* l : group) {
                sg.weights.push_back(l->weight);
                sg.rows.push_back(l->rows);
                originals.emplace_back(l->weight.begin(), l->weight.end());
            }
            // The inspected module: the whole attention for q/k/v, the whole MLP for gate/up, the
            // linear itself for o_proj and down_proj.
            std::vector<float> reference(static_cast<size_t>(tokens * runner->hidden_size()));
            const bool whole_half = point == TapPoint::kAttentionInput || point == TapPoint::kMlpInput;
            const auto run_half = [&](std::vector<float>& out) {
                if (point == TapPoint::kAttentionInput) {
                    runner->AttentionPart(input.data(), tokens, out.data());
                } else {
                    runner->MlpPart(input.data(), tokens, out.data());
                }
            };
            if (whole_half) {
                run_half(reference);
            } else {
                reference = Multiply(group.front()->weight, group.front()->rows, cols, input, tokens, *pool);
            }
            std::vector<float> out(reference.size());
            const ModuleLoss loss = [&](const std::vector<std::vector<float>>& candidates) -> Result<double> {
                if (!whole_half) {
                    out = Multiply(candidates.front(), group.front()->rows, cols, input, tokens, *pool);
                    return MeanSquaredError(out, reference);
                }
                for (size_t i = 0; i < group.size(); ++i) {
                    std::copy(candidates[i].begin(), candidates[i].end(), group[i]->weight.begin());
                }
                run_half(out);
                return MeanSquaredError(out, reference);
            };
            Result<ScaleSearchResult> found = SearchScales(sg, magnitude.Mean(), options, loss, *pool);
            for (size_t i = 0; i < group.size(); ++i) {
                std::copy(originals[i].begin(), originals[i].end(), group[i]->weight.begin());
            }
            if (!found.ok()) return found.status().WithContext(LayerName(layer) + ", scaling " + Names(group));
            scales = std::move(found->scales);
            // Fold: the producer's outputs / s, the group's input columns * s.
            for (int64_t c = 0; c < cols; ++c) {
                const float s = scales[static_cast<size_t>(c)];
                if (norm != nullptr) {
                    norm->weight[static_cast<size_t>(c)] /= s;
                    if (!norm->bias.empty()) norm->bias[static_cast<size_t>(c)] /= s;
                } else {
                    const int64_t row = producer->rows - cols + c;
                    for (int64_t k = 0; k < producer->cols; ++k) producer->weight[row * producer->cols + k] /= s;
                    if (!producer->bias.empty()) producer->bias[static_cast<size_t>(row)] /= s;
                }
            }
            for (BlockLinear* l : group) {
                for (int64_t r = 0; r < l->rows; ++r) {
                    for (int64_t c = 0; c < cols; ++c) l->weight[r * cols + c] *= scales[static_cast<size_t>(c)];
                }
            }
            const std::string changed_name = norm != nullptr ? norm->name : PrefixOf(producer->name) + ".bias";
            if (norm != nullptr) changed[norm->name] = {norm->weight.begin(), norm->weight.end()};
            if (producer != nullptr && changes.contains(changed_name)) {
                changed[changed_name] = {producer->bias.begin(), producer->bias.end()};
            }
        }
        // The clipping search's inputs, in the scaled basis. AutoAWQ skips q and k: their errors
        // pass through the softmax, which the per-group output error does not see.
        int64_t sampled = 0;
        std::vector<float> sample = SampleTokens(input, tokens, cols, options.clip_tokens, sampled);
        for (int64_t t = 0; t < sampled; ++t) {
            for (int64_t c = 0; c < cols; ++c) sample[t * cols + c] /= scales[static_cast<size_t>(c)];
        }
        for (BlockLinear* l : group) {
            if (!filter(l->name) || l->name.ends_with("q_proj.weight") || l->name.ends_with("k_proj.weight")) continue;
            clip_inputs[l->name] = sample;
            clip_tokens[l->name] = sampled;
        }
    }
    // Clip, then quantize every linear the format holds, now that all scales are folded in.
    ShowStage(layer, "awq clip and quantize");
    const std::unique_ptr<GroupCodec> codec = MakeAwqCodec(options.bits);
    for (BlockLinear& l : linears) {
        if (!filter(l.name)) continue;
        if (auto in = clip_inputs.find(l.name); in != clip_inputs.end()) {
            Status s = SearchAndApplyClip(l.weight, l.rows, l.cols, in->second, clip_tokens[l.name], options, *pool);
            if (!s.ok()) return s.WithContext(LayerName(layer) + ", clipping '" + l.name + "'");
        }
        Result<QuantizedTensor> q = RunBlockwise(*codec, l.weight, l.rows, l.cols, options.group_size, *pool);
        if (!q.ok()) return q.status().WithContext(LayerName(layer) + ", tensor '" + l.name + "'");
        q->symmetric = false;
        Install(l, std::move(q).value());
    }
    return Status::Ok();
}

Status CalibrationPipeline::Impl::RunBlock(int64_t layer) {
    const auto start = std::chrono::steady_clock::now();
    TP_RETURN_IF_ERROR(runner->Load(layer));
    quantized.clear();
    changed.clear();
    TP_RETURN_IF_ERROR(request.options.method == Method::kAwq ? RunAwq(layer) : RunGptq(layer));
    runner->Run(x.data(), tokens);  // the next block's inputs, through the quantized block
    last_run = layer;
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (progress) {
        ShowStage(layer, "done", /*layer_done=*/true);
        progress->Advance();
    }
    return Status::Ok();
}

CalibrationPipeline::CalibrationPipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CalibrationPipeline::~CalibrationPipeline() = default;

Result<std::unique_ptr<CalibrationPipeline>> CalibrationPipeline::Create(const model::Model& model,
                                                                         const QuantizeRequest& request,
                                                                         QuantizeFilter filter, ThreadPool& pool) {
    const Method method = request.options.method;
    if (!IsCalibrated(method)) return Status::Internal("the calibration pipeline is for gptq and awq");
    const model::ModelConfig& c = model.config;
    if (method == Method::kAwq && c.architecture != "llama") {
        return Status::Unsupported("awq folds its scales into llama-family blocks (llama, mistral, qwen2); " +
                                   model.origin + " is " + c.architecture + ": use --method gptq");
    }
    const CalibrationOptions& calib = request.calibration;
    TP_RETURN_IF_ERROR(CheckCalibration(calib));
    if (calib.seqlen > c.max_position_embeddings) {
        return Status::InvalidArgument("--calib-seqlen " + std::to_string(calib.seqlen) + " exceeds " + model.origin +
                                       "'s context of " + std::to_string(c.max_position_embeddings) + " tokens");
    }
    auto impl = std::make_unique<Impl>();
    impl->model = &model;
    impl->request = request;
    impl->filter = std::move(filter);
    impl->pool = &pool;

    const std::string path = calib.text_path.empty() ? DefaultCalibrationText() : calib.text_path;
    TP_ASSIGN_OR_RETURN(const std::string text, ReadCalibrationText(path));
    TP_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, tokenizer::LoadTokenizer(model));
    TP_ASSIGN_OR_RETURN(const std::vector<int32_t> windows, CalibrationWindows(text, *tok, calib, path));
    kernels::SetBlasThreads(static_cast<int>(pool.size()));
    TP_ASSIGN_OR_RETURN(impl->runner, engine::LayerRunner::Create(model, calib.seqlen, pool));
    impl->tokens = static_cast<int64_t>(windows.size());
    impl->x.resize(static_cast<size_t>(impl->tokens * c.hidden_size));
    TP_RETURN_IF_ERROR(impl->runner->Embed(windows, impl->x.data()));

    if (method == Method::kAwq) {
        // What AWQ changes besides the quantized weights: the norms before q/k/v and gate/up, and
        // v_proj's bias when o_proj is scaled through it (Qwen2 has one).
        const bool v_feeds_o = c.num_kv_heads == c.num_heads && c.num_heads * c.head_dim == c.hidden_size;
        for (int64_t i = 0; i < c.num_layers; ++i) {
            const std::string p = "model.layers." + std::to_string(i) + ".";
            const auto q = [&](const char* role) { return impl->filter(p + role + ".weight"); };
            if (q("self_attn.q_proj") || q("self_attn.k_proj") || q("self_attn.v_proj")) {
                impl->changes.insert(p + "input_layernorm.weight");
            }
            if (q("mlp.gate_proj") || q("mlp.up_proj")) impl->changes.insert(p + "post_attention_layernorm.weight");
            if (v_feeds_o && q("self_attn.o_proj") && model.tensors->Find(p + "self_attn.v_proj.bias") != nullptr) {
                impl->changes.insert(p + "self_attn.v_proj.bias");
            }
        }
    }
    if (request.progress) {
        impl->progress = std::make_unique<Progress>(std::string("calibrating (") + std::string(MethodName(method)) +
                                                        ")",
                                                    static_cast<uint64_t>(c.num_layers));
    }
    return std::unique_ptr<CalibrationPipeline>(new CalibrationPipeline(std::move(impl)));
}

bool CalibrationPipeline::Changes(const std::string& name) const {
    return impl_->changes.contains(name);
}

Status CalibrationPipeline::RunThrough(int64_t layer) {
    Impl& s = *impl_;
    if (layer < s.last_run) {
        return Status::Internal("calibration ran block " + std::to_string(s.last_run) + " already; block " +
                                std::to_string(layer) + " was asked for after it");
    }
    while (s.last_run < layer) TP_RETURN_IF_ERROR(s.RunBlock(s.last_run + 1));
    return Status::Ok();
}

Result<QuantizedTensor> CalibrationPipeline::TakeQuantized(const std::string& weight_name) {
    auto it = impl_->quantized.find(weight_name);
    if (it == impl_->quantized.end()) {
        return Status::Internal("calibration has no quantized tensor '" + weight_name + "' in the current block");
    }
    QuantizedTensor q = std::move(it->second);
    impl_->quantized.erase(it);
    return q;
}

Result<std::vector<float>> CalibrationPipeline::TakeChanged(const std::string& name) {
    auto it = impl_->changed.find(name);
    if (it == impl_->changed.end()) {
        return Status::Internal("calibration has no new values for '" + name + "' in the current block");
    }
    std::vector<float> values = std::move(it->second);
    impl_->changed.erase(it);
    return values;
}

int64_t CalibrationPipeline::tokens() const {
    return impl_->tokens;
}
const std::vector<double>& CalibrationPipeline::layer_seconds() const {
    return impl_->seconds;
}
const std::vector<std::string>& CalibrationPipeline::warnings() const {
    return impl_->warnings;
}

}  // namespace tenpak::quant::internal
