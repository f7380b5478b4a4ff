// What eval, generate and bench share: open a model, its tokenizer and an engine, with the
// --threads / --tokenizer / --check-numerics options they all take.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "tenpak/engine/engine.h"
#include "tenpak/model/model.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::cli {

struct InferenceArgs {
    std::string model;
    std::string tokenizer;
    size_t threads = 0;
    bool check_numerics = false;
    std::string base;  // MODEL is a delta of a fine-tune against this base model
};

// Adds MODEL, --threads, --tokenizer, --check-numerics and --base to a subcommand.
void AddInferenceOptions(CLI::App& cmd, InferenceArgs& args);

struct Inference {
    std::unique_ptr<model::Model> model;  // the engine keeps views into it: heap-stable
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    std::unique_ptr<engine::Engine> engine;
};

// `need_tokenizer` false lets `bench` run models without one (it feeds random ids).
Result<Inference> OpenForInference(const InferenceArgs& args, int64_t context, bool need_tokenizer);

}  // namespace tenpak::cli
