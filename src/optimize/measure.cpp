#include "tenpak/optimize/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "tenpak/engine/perplexity.h"
#include "tenpak/io/mapped_file.h"
#include "tenpak/model/model.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::optimize {

nlohmann::ordered_json Measurement::ToJson() const {
    return {{"ppl", ppl},
            {"ctx", ctx},
            {"windows", windows},
            {"tokens_scored", tokens_scored},
            {"prefill_tokens_per_s", prefill_tokens_per_s},
            {"decode_tokens_per_s", decode_tokens_per_s},
            {"ttft_ms", ttft_ms},
            {"latency_p50_ms", latency_p50_ms},
            {"latency_p95_ms", latency_p95_ms},
            {"decode_bytes_per_token", decode_bytes_per_token},
            {"seconds", seconds}};
}

Result<Measurement> Measurement::FromJson(const nlohmann::json& json) {
    Measurement m;
    try {
        m.ppl = json.at("ppl").get<double>();
        m.ctx = json.at("ctx").get<int64_t>();
        m.windows = json.at("windows").get<int64_t>();
        m.tokens_scored = json.at("tokens_scored").get<int64_t>();
        m.prefill_tokens_per_s = json.at("prefill_tokens_per_s").get<double>();
        m.decode_tokens_per_s = json.at("decode_tokens_per_s").get<double>();
        m.ttft_ms = json.at("ttft_ms").get<double>();
        m.latency_p50_ms = json.at("latency_p50_ms").get<double>();
        m.latency_p95_ms = json.at("latency_p95_ms").get<double>();
        m.decode_bytes_per_token = json.at("decode_bytes_per_token").get<uint64_t>();
        m.seconds = json.at("seconds").get<double>();
    } catch (const nlohmann::json::exception& e) {
        return Status::Corruption(std::string("measurement record: ") + e.what());
    }
    if (!std::isfinite(m.ppl) || m.ppl <= 0 || m.decode_tokens_per_s <= 0) {
        return Status::Corruption("measurement record holds impossible figures");
    }
    return m;
}

Result<Measurement> MeasureModel(const std::string& model_path, const MeasureOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(model_path));
    TP_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, tokenizer::LoadTokenizer(m));
    TP_ASSIGN_OR_RETURN(std::string text, io::ReadFileToString(options.eval_text));

    const int64_t trained = m.config.max_position_embeddings;
    const int64_t ctx = engine::PerplexityWindow(options.ctx, trained);
    const int64_t request = options.latency.prompt_tokens + options.latency.gen_tokens;
    if (trained > 0 && request > trained) {
        return Status::InvalidArgument("--prompt-tokens + --output-tokens = " + std::to_string(request) +
                                       " is longer than the " + std::to_string(trained) + " tokens " + model_path +
                                       " was trained on");
    }
    engine::EngineOptions engine_options;
    engine_options.threads = options.threads;
    engine_options.context = std::max(ctx, request);
    TP_ASSIGN_OR_RETURN(std::unique_ptr<engine::Engine> engine, engine::Engine::Create(m, engine_options));

    engine::PerplexityOptions ppl_options;
    ppl_options.ctx = ctx;
    ppl_options.max_windows = options.max_windows;
    TP_ASSIGN_OR_RETURN(engine::PerplexityResult ppl, engine::Perplexity(*engine, *tok, text, ppl_options));
    TP_ASSIGN_OR_RETURN(engine::LatencyResult latency, engine::MeasureLatency(*engine, options.latency));

    Measurement out;
    out.ppl = ppl.ppl;
    out.ctx = ctx;
    out.windows = ppl.windows;
    out.tokens_scored = ppl.tokens_scored;
    out.prefill_tokens_per_s = latency.prefill_tokens_per_s;
    out.decode_tokens_per_s = latency.decode_tokens_per_s;
    out.ttft_ms = latency.ttft_ms;
    out.latency_p50_ms = latency.latency_p50_ms;
    out.latency_p95_ms = latency.latency_p95_ms;
    out.decode_bytes_per_token = engine->weight_bytes_per_token();
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

}  // namespace tenpak::optimize
