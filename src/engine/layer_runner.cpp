#include "tenpak/engine/layer_runner.h"

#include <algorithm>

#include "architecture.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/check.h"
#include "tenpak/kernels/kernels.h"

namespace tenpak::engine {
namespace {

using internal::Linear;

// The linear layers of a block with the point whose activations they read.
std::vector<std::pair<Linear*, TapPoint>> LinearsOf(internal::LayerWeights& lw) {
    std::vector<std::pair<Linear*, TapPoint>> all = {
        {&lw.q, TapPoint::kAttentionInput}, {&lw.k, TapPoint::kAttentionInput}, {&lw.v, TapPoint::kAttentionInput},
        {&lw.qkv, TapPoint::kAttentionInput}, {&lw.o, TapPoint::kAttentionOutput}, {&lw.gate, TapPoint::kMlpInput},
        {&lw.up, TapPoint::kMlpInput}, {&lw.down, TapPoint::kMlpHidden}};
    std::erase_if(all, [](const auto& entry) { return !entry.first->present(); });
    return all;
}

// The weights of `linear` as [out, in] F32, whatever their stored dtype and orientation.
Result<std::vector<float>> DenseF32(const Linear& linear) {
    const kernels::WeightView& w = linear.weight;
    const size_t count = static_cast<size_t>(w.rows * w.cols);
    std::vector<float> stored(count);
    const size_t bytes = count * Traits(w.dtype).block_bytes;
    TP_RETURN_IF_ERROR(CastTensor(w.dtype, {static_cast<const std::byte*>(w.data), bytes}, DType::kF32,
                                  {reinterpret_cast<std::byte*>(stored.data()), count * sizeof(float)}, count));
    if (!linear.transposed) return stored;
    std::vector<float> out(count);  // [in, out] -> [out, in]
    for (int64_t r = 0; r < w.rows; ++r) {
        for (int64_t c = 0; c < w.cols; ++c) out[c * w.rows + r] = stored[r * w.cols + c];
    }
    return out;
}

}  // namespace

struct LayerRunner::Impl {
    const model::Model* model = nullptr;
    ThreadPool* pool = nullptr;
    int64_t window = 0;
    internal::ModelWeights weights;
    std::unique_ptr<internal::Architecture> arch;
    internal::KvCache cache;
    internal::Scratch scratch;
    std::vector<float> work;  // one window of hidden states (Observe)
    int64_t loaded = -1;
    std::vector<std::vector<float>> buffers;  // the loaded block's linear weights, [out, in] F32

    internal::LayerWeights& Layer() { return weights.layers[static_cast<size_t>(loaded)]; }

    // Drops block `loaded`'s F32 copies; its linears point at nothing until loaded again.
    void Unload() {
        if (loaded < 0) return;
        for (auto& [linear, point] : LinearsOf(Layer())) linear->weight = {};
        buffers.clear();
        loaded = -1;
    }
};

LayerRunner::LayerRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LayerRunner::~LayerRunner() = default;

Result<std::unique_ptr<LayerRunner>> LayerRunner::Create(const model::Model& model, int64_t window, ThreadPool& pool) {
    const model::ModelConfig& c = model.config;
    if (window <= 0) return Status::InvalidArgument("calibration windows need at least one token");
    if (c.architecture == "gpt2" && window > c.max_position_embeddings) {
        return Status::InvalidArgument("calibration windows of " + std::to_string(window) + " tokens exceed " +
                                       model.origin + "'s " + std::to_string(c.max_position_embeddings) +
                                       " learned positions");
    }
    auto impl = std::make_unique<Impl>();
    impl->model = &model;
    impl->pool = &pool;
    impl->window = window;
    TP_ASSIGN_OR_RETURN(impl->weights, internal::LoadWeights(model));
    for (internal::LayerWeights& lw : impl->weights.layers) {
        for (auto& [linear, point] : LinearsOf(lw)) {
            if (linear->packed || !kernels::SupportsWeightDType(linear->weight.dtype) ||
                !model.tensors->Find(linear->name + ".weight")) {
                return Status::InvalidArgument(model.origin + ": layer '" + linear->name +
                                               "' is already quantized; calibrate from the float model");
            }
        }
    }
    impl->arch = internal::MakeArchitecture(c, impl->weights, window, pool);
    const size_t cache_values = static_cast<size_t>(window * c.num_kv_heads * c.head_dim);
    impl->cache.k.assign(cache_values, 0.0f);
    impl->cache.v.assign(cache_values, 0.0f);
    internal::SizeScratch(c, window, impl->scratch);
    impl->work.resize(static_cast<size_t>(window * c.hidden_size));
    return std::unique_ptr<LayerRunner>(new LayerRunner(std::move(impl)));
}

int64_t LayerRunner::layers() const {
    return static_cast<int64_t>(impl_->weights.layers.size());
}
int64_t LayerRunner::hidden_size() const {
    return impl_->model->config.hidden_size;
}
int64_t LayerRunner::window() const {
    return impl_->window;
}
int64_t LayerRunner::loaded_layer() const {
    return impl_->loaded;
}

Status LayerRunner::Embed(std::span<const int32_t> tokens, float* x) const {
    const Impl& s = *impl_;
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n % s.window != 0) {
        return Status::InvalidArgument(std::to_string(n) + " tokens are not a whole number of " +
                                       std::to_string(s.window) + "-token windows");
    }
    const int64_t vocab = s.model->config.vocab_size;
    for (int32_t id : tokens) {
        if (id < 0 || id >= vocab) {
            return Status::InvalidArgument("token id " + std::to_string(id) + " is outside the vocabulary (" +
                                           std::to_string(vocab) + ")");
        }
    }
    const int64_t hidden = s.model->config.hidden_size;
    for (int64_t first = 0; first < n; first += s.window) {
        s.arch->Embed(tokens.subspan(static_cast<size_t>(first), static_cast<size_t>(s.window)), 0, x + first * hidden);
    }
    return Status::Ok();
}

Status LayerRunner::Load(int64_t layer) {
    Impl& s = *impl_;
    if (layer < 0 || layer >= layers()) return Status::InvalidArgument("no layer " + std::to_string(layer));
    s.Unload();
    s.loaded = layer;
    for (auto& [linear, point] : LinearsOf(s.Layer())) {
        Result<std::vector<float>> dense = DenseF32(*linear);
        if (!dense.ok()) {
            s.Unload();
            return dense.status().WithContext("layer '" + linear->name + "'");
        }
        if (const io::TensorInfo* info = s.model->tensors->Find(linear->name + ".weight")) {
            s.model->tensors->Release(*info);  // the mapped pages are not needed again
        }
        const int64_t out = linear->out();
        const int64_t in = linear->in();
        s.buffers.push_back(std::move(dense).value());
        linear->weight = {DType::kF32, s.buffers.back().data(), out, in};
        linear->transposed = false;
    }
    return Status::Ok();
}

std::vector<BlockLinear> LayerRunner::Linears() {
    Impl& s = *impl_;
    std::vector<BlockLinear> out;
    if (s.loaded < 0) return out;
    size_t index = 0;
    for (auto& [linear, point] : LinearsOf(s.Layer())) {
        std::vector<float>& buffer = s.buffers[index++];
        out.push_back({linear->name + ".weight", point, linear->out(), linear->in(), buffer, linear->bias});
    }
    return out;
}

std::vector<BlockNorm> LayerRunner::Norms() {
    Impl& s = *impl_;
    std::vector<BlockNorm> out;
    if (s.loaded < 0) return out;
    for (internal::Norm* norm : {&s.Layer().attn_norm, &s.Layer().mlp_norm}) {
        out.push_back({norm->name + ".weight", norm->weight, norm->bias});
    }
    return out;
}

void LayerRunner::Run(float* x, int64_t tokens) {
    Impl& s = *impl_;
    TP_CHECK(s.loaded >= 0 && tokens % s.window == 0);
    const int64_t hidden = hidden_size();
    for (int64_t first = 0; first < tokens; first += s.window) {
        s.arch->Block(s.loaded, x + first * hidden, s.window, 0, s.cache, s.scratch);
    }
}

void LayerRunner::Observe(const float* x, int64_t tokens, const TapFn& tap) {
    Impl& s = *impl_;
    TP_CHECK(s.loaded >= 0 && tokens % s.window == 0);
    const int64_t hidden = hidden_size();
    s.scratch.tap = &tap;
    for (int64_t first = 0; first < tokens; first += s.window) {
        std::copy(x + first * hidden, x + (first + s.window) * hidden, s.work.begin());
        s.arch->Block(s.loaded, s.work.data(), s.window, 0, s.cache, s.scratch);
    }
    s.scratch.tap = nullptr;
    s.scratch.stopped = false;
}

void LayerRunner::AttentionPart(const float* normed, int64_t tokens, float* out) {
    Impl& s = *impl_;
    TP_CHECK(s.loaded >= 0 && tokens % s.window == 0);
    const int64_t hidden = hidden_size();
    for (int64_t first = 0; first < tokens; first += s.window) {
        s.arch->AttentionPart(s.loaded, normed + first * hidden, s.window, 0, s.cache, s.scratch,
                              out + first * hidden);
    }
}

void LayerRunner::MlpPart(const float* normed, int64_t tokens, float* out) {
    Impl& s = *impl_;
    TP_CHECK(s.loaded >= 0 && tokens % s.window == 0);
    const int64_t hidden = hidden_size();
    for (int64_t first = 0; first < tokens; first += s.window) {
        s.arch->MlpPart(s.loaded, normed + first * hidden, s.window, s.scratch, out + first * hidden);
    }
}

}  // namespace tenpak::engine
