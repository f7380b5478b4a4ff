#include "cli/inference_setup.h"

#include <cstdio>

#include "tenpak/delta/delta_source.h"

namespace tenpak::cli {

void AddInferenceOptions(CLI::App& cmd, InferenceArgs& args) {
    cmd.add_option("MODEL", args.model,
                   "HF folder, .gguf, llama2.c .bin, .tnpk (path or URL), or org/name in the local HF cache")
        ->required();
    cmd.add_option("--threads", args.threads, "Worker threads (default: every core)");
    cmd.add_option("--tokenizer", args.tokenizer, "Tokenizer for a llama2.c checkpoint (.bin or .model)");
    cmd.add_flag("--check-numerics", args.check_numerics, "Stop at the first NaN/Inf and name the layer");
    cmd.add_option("--base", args.base,
                   "MODEL is a delta (tenpak delta): the base model it was made against; the fine-tune is rebuilt "
                   "tensor by tensor as it is read, without being written");
}

Result<Inference> OpenForInference(const InferenceArgs& args, int64_t context, bool need_tokenizer) {
    Inference out;
    model::OpenOptions open;
    open.tokenizer_path = args.tokenizer;
    if (!args.base.empty()) {
        open.delta_tensors = [base = args.base](std::shared_ptr<const artifact::Artifact> delta) {
            return delta::OpenDeltaTensorSource(std::move(delta), base);
        };
    }
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(args.model, open));
    out.model = std::make_unique<model::Model>(std::move(m));
    Result<std::unique_ptr<tokenizer::Tokenizer>> tok = tokenizer::LoadTokenizer(*out.model);
    if (tok.ok()) {
        out.tokenizer = std::move(tok).value();
    } else if (need_tokenizer) {
        return tok.status();
    }
    const int64_t trained = out.model->config.max_position_embeddings;
    if (context > trained && out.model->config.architecture != "gpt2") {
        std::fprintf(stderr, "tenpak: warning: --ctx %lld is longer than the %lld tokens the model was trained on\n",
                     static_cast<long long>(context), static_cast<long long>(trained));
    }
    engine::EngineOptions options;
    options.threads = args.threads;
    options.context = context;
    options.check_numerics = args.check_numerics;
    TP_ASSIGN_OR_RETURN(out.engine, engine::Engine::Create(*out.model, options));
    return out;
}

}  // namespace tenpak::cli
