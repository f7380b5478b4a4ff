#include "tenpak/engine/engine.h"

#include <algorithm>

#include "architecture.h"
#include "tenpak/kernels/kernels.h"
#include "tenpak/kernels/packed.h"

namespace tenpak::engine {
using internal::Architecture;

namespace internal {

void ApplyLinear(const Linear& linear, const float* x, int64_t tokens, float* y, ThreadPool& pool) {
    if (linear.packed) {
        kernels::PackedMatMul(*linear.packed, x, tokens, y, pool);
    } else if (tokens == 1) {
        if (linear.transposed) {
            kernels::MatVecTransposed(linear.weight, x, y, pool);
        } else {
            kernels::MatVec(linear.weight, x, y, pool);
        }
    } else if (linear.transposed) {
        kernels::MatMulTransposed(linear.weight, x, tokens, y, pool);
    } else {
        kernels::MatMul(linear.weight, x, tokens, y, pool);
    }
    if (!linear.bias.empty()) AddBias(y, linear.bias, tokens);
}

std::unique_ptr<Architecture> MakeArchitecture(const model::ModelConfig& config, const ModelWeights& weights,
                                               int64_t context, ThreadPool& pool) {
    if (config.architecture == "gpt2") return MakeGpt2Architecture(config, weights, context, pool);
    return MakeLlamaArchitecture(config, weights, context, pool);
}

void SizeScratch(const model::ModelConfig& c, int64_t tokens, Scratch& scratch) {
    const auto size = [&](int64_t per_token) { return static_cast<size_t>(tokens * per_token); };
    const int64_t q_dim = c.num_heads * c.head_dim;
    const int64_t wide = std::max(c.intermediate_size, 3 * c.hidden_size);
    scratch.normed.resize(size(std::max(c.hidden_size, q_dim)));
    scratch.q.resize(size(q_dim));
    scratch.attention.resize(size(q_dim));
    scratch.mlp_a.resize(size(wide));
    scratch.mlp_b.resize(size(c.intermediate_size));
}

bool TapContinues(Scratch& scratch, TapPoint point, const float* x, int64_t tokens) {
    if (scratch.tap != nullptr && !(*scratch.tap)(point, x, tokens)) scratch.stopped = true;
    return !scratch.stopped;
}

void Architecture::Block(int64_t layer, float* x, int64_t tokens, int64_t first_position, KvCache& cache,
                         Scratch& s) const {
    const int64_t values = tokens * hidden_size();
    s.stopped = false;
    AttentionNorm(layer, x, tokens, s.normed.data());
    AttentionPart(layer, s.normed.data(), tokens, first_position, cache, s, s.normed.data());
    if (s.stopped) return;
    AddInPlace(x, s.normed.data(), values);
    MlpNorm(layer, x, tokens, s.normed.data());
    MlpPart(layer, s.normed.data(), tokens, s, s.normed.data());
    if (s.stopped) return;
    AddInPlace(x, s.normed.data(), values);
}

}  // namespace internal

struct Engine::Impl {
    const model::Model* model = nullptr;
    EngineOptions options;
    int64_t context = 0;
    int64_t position = 0;
    std::unique_ptr<ThreadPool> pool;
    internal::ModelWeights weights;
    std::unique_ptr<Architecture> arch;
    std::vector<internal::KvCache> caches;
    internal::Scratch scratch;
    std::vector<float> hidden;  // [tokens, hidden]
    std::vector<float> normed;  // final-norm rows whose logits are asked for
    int64_t scratch_tokens = 0;

    void EnsureScratch(int64_t tokens) {
        if (tokens <= scratch_tokens) return;
        const model::ModelConfig& c = model->config;
        hidden.resize(static_cast<size_t>(tokens * c.hidden_size));
        normed.resize(static_cast<size_t>(tokens * c.hidden_size));
        internal::SizeScratch(c, tokens, scratch);
        scratch_tokens = tokens;
    }

    Status CheckFinite(const char* where, int64_t layer, int64_t tokens) const {
        const int64_t at = internal::FirstNonFinite(hidden.data(), tokens * model->config.hidden_size);
        if (at < 0) return Status::Ok();
        const int64_t token = at / model->config.hidden_size;
        return Status::Internal("NaN or Inf in the hidden state " + std::string(where) +
                                (layer >= 0 ? " layer " + std::to_string(layer) : std::string()) + " (position " +
                                std::to_string(position + token) + ", feature " +
                                std::to_string(at % model->config.hidden_size) + ")");
    }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(const model::Model& model, const EngineOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->model = &model;
    impl->options = options;
    const model::ModelConfig& c = model.config;
    impl->context = options.context > 0 ? options.context : c.max_position_embeddings;
    if (c.architecture == "gpt2" && impl->context > c.max_position_embeddings) {
        return Status::InvalidArgument("context " + std::to_string(impl->context) + " exceeds GPT-2's " +
                                       std::to_string(c.max_position_embeddings) + " learned positions");
    }
    impl->pool = std::make_unique<ThreadPool>(options.threads);
    kernels::SetBlasThreads(static_cast<int>(impl->pool->size()));
    TP_ASSIGN_OR_RETURN(impl->weights, internal::LoadWeights(model));
    impl->arch = internal::MakeArchitecture(c, impl->weights, impl->context, *impl->pool);
    const size_t cache_values = static_cast<size_t>(impl->context * c.num_kv_heads * c.head_dim);
    impl->caches.resize(static_cast<size_t>(c.num_layers));
    for (internal::KvCache& cache : impl->caches) {
        cache.k.assign(cache_values, 0.0f);
        cache.v.assign(cache_values, 0.0f);
    }
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::Forward(std::span<const int32_t> tokens, int64_t first_logit, std::vector<float>& logits) {
    Impl& s = *impl_;
    const model::ModelConfig& c = s.model->config;
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n == 0) return Status::InvalidArgument("Forward needs at least one token");
    if (s.position + n > s.context) {
        return Status::InvalidArgument("the context window holds " + std::to_string(s.context) + " tokens; " +
                                       std::to_string(s.position) + " are in use and " + std::to_string(n) +
                                       " more were given");
    }
    if (first_logit < 0 || first_logit > n) return Status::InvalidArgument("first_logit out of range");
    for (int32_t id : tokens) {
        if (id < 0 || id >= c.vocab_size) {
            return Status::InvalidArgument("token id " + std::to_string(id) + " is outside the vocabulary (" +
                                           std::to_string(c.vocab_size) + ")");
        }
    }
    s.EnsureScratch(n);
    s.arch->Embed(tokens, s.position, s.hidden.data());
    if (s.options.check_numerics) TP_RETURN_IF_ERROR(s.CheckFinite("after the embedding", -1, n));
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
        s.arch->Block(layer, s.hidden.data(), n, s.position, s.caches[static_cast<size_t>(layer)], s.scratch);
        if (s.options.check_numerics) TP_RETURN_IF_ERROR(s.CheckFinite("after", layer, n));
    }
    const int64_t rows = n - first_logit;
    if (rows > 0) {
        s.arch->FinalNorm(s.hidden.data() + first_logit * c.hidden_size, rows, s.normed.data());
        logits.resize(static_cast<size_t>(rows * c.vocab_size));
        internal::ApplyLinear(s.weights.lm_head, s.normed.data(), rows, logits.data(), *s.pool);
        if (s.options.check_numerics && internal::FirstNonFinite(logits.data(), rows * c.vocab_size) >= 0) {
            return Status::Internal("NaN or Inf in the logits (the output head or final norm)");
        }
    } else {
        logits.clear();
    }
    s.position += n;
    return Status::Ok();
}

void Engine::Reset() {
    impl_->position = 0;
}
int64_t Engine::position() const {
    return impl_->position;
}
int64_t Engine::context() const {
    return impl_->context;
}
int64_t Engine::vocab_size() const {
    return impl_->model->config.vocab_size;
}
size_t Engine::threads() const {
    return impl_->pool->size();
}
const model::ModelConfig& Engine::config() const {
    return impl_->model->config;
}
uint64_t Engine::weight_bytes_per_token() const {
    return impl_->weights.bytes_per_token;
}
const std::vector<std::string>& Engine::notes() const {
    return impl_->weights.notes;
}

}  // namespace tenpak::engine
