// Perplexity the way llama.cpp's llama-perplexity computes it by default, so that figures compare
// with llama.cpp's own (docs/perplexity.md):
//   - one trailing '\n' of the text is dropped, then the text is tokenized in one piece with BOS;
//   - the tokens are cut into floor(n / ctx) non-overlapping windows (the tail is dropped);
//   - each window's first token is replaced by BOS and the window is evaluated from an empty cache;
//   - only the second half is scored: the logits at positions ctx/2 .. ctx-2 against the tokens at
//     ctx/2+1 .. ctx-1 (ctx - 1 - ctx/2 targets per window);
//   - PPL = exp(mean negative log-likelihood).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tenpak/core/result.h"
#include "tenpak/engine/engine.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::engine {

struct PerplexityOptions {
    int64_t ctx = 512;
    // At most this many windows from the start of the text (0: every whole window); a quick estimate
    // for tools that compare many models on the same text.
    int64_t max_windows = 0;
    // Called after each window with (windows done, windows in all).
    std::function<void(int64_t, int64_t)> on_window;
};

struct PerplexityResult {
    double ppl = 0;
    double mean_nll = 0;
    double nll_stderr = 0;  // standard error of the mean NLL
    int64_t text_tokens = 0;
    int64_t tokens_scored = 0;
    int64_t windows = 0;
    double seconds = 0;
    double tokens_per_second = 0;  // tokens evaluated (windows x ctx) per second
};

// The bundled eval text (models/text/tinystories_val.txt, held-out TinyStories): TENPAK_EVAL_TEXT if
// set, else the source tree's copy. The default of the tools that compare models' perplexity.
std::string DefaultEvalText();

// The window length for scoring a model whose config says it was trained on `trained` positions
// (max_position_embeddings; 0 when unknown): the requested length, capped at `trained`. The tools
// that compare models on one text (optimize, delta --max-ppl-delta) size their engines with it.
int64_t PerplexityWindow(int64_t requested, int64_t trained);

// kInvalidArgument when the text has fewer than ctx tokens (saying how many it has and needs) or
// ctx exceeds the engine's context.
Result<PerplexityResult> Perplexity(Engine& engine, const tokenizer::Tokenizer& tokenizer, std::string_view text,
                                    const PerplexityOptions& options);

// Scores already-tokenized windows (the protocol above minus tokenization), for tests and tools.
Result<PerplexityResult> PerplexityOfTokens(Engine& engine, std::span<const int32_t> tokens, int32_t bos_id,
                                            const PerplexityOptions& options);

}  // namespace tenpak::engine
