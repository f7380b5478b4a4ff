#include "engine_fixture.h"

#include <cmath>

#include <stdexcept>

#include "test_util.h"

namespace tenpak::testing {

LoadedModel LoadForInference(const std::string& path, int64_t context) {
    LoadedModel l;
    auto m = model::OpenModel(path);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    l.model = std::make_unique<model::Model>(std::move(m).value());
    auto t = tokenizer::LoadTokenizer(*l.model);
    if (!t.ok()) throw std::runtime_error(t.status().ToString());
    l.tokenizer = std::move(t).value();
    auto e = engine::Engine::Create(*l.model, engine::EngineOptions{0, context, false});
    if (!e.ok()) throw std::runtime_error(e.status().ToString());
    l.engine = std::move(e).value();
    return l;
}

std::string SampleText(const std::string& name) {
    return ReadFile(SourcePath("models/text/" + name));
}

engine::PerplexityResult ValidationPerplexity(const std::string& path) {
    LoadedModel l = LoadForInference(path, 256);
    engine::PerplexityOptions options;
    options.ctx = 256;
    auto r = engine::Perplexity(*l.engine, *l.tokenizer, SampleText("tinystories_val.txt"), options);
    if (!r.ok()) throw std::runtime_error(path + ": " + r.status().ToString());
    return *r;
}

double RelativeLogitError(const std::string& path, const std::string& reference_path,
                          const std::vector<int32_t>& tokens) {
    const auto logits_of = [&](const std::string& model_path) {
        LoadedModel l = LoadForInference(model_path, static_cast<int64_t>(tokens.size()));
        std::vector<float> logits;
        const Status s = l.engine->Forward(tokens, 0, logits);
        if (!s.ok()) throw std::runtime_error(model_path + ": " + s.ToString());
        return logits;
    };
    const std::vector<float> a = logits_of(path);
    const std::vector<float> b = logits_of(reference_path);
    if (a.size() != b.size()) throw std::runtime_error("logits of different sizes");
    double diff = 0.0;
    double norm = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
        norm += static_cast<double>(b[i]) * b[i];
    }
    return norm == 0.0 ? 0.0 : std::sqrt(diff / norm);
}

}  // namespace tenpak::testing
