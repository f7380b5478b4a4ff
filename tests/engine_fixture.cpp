#include "engine_fixture.h"

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

}  // namespace tenpak::testing
