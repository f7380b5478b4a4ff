// --max-ppl-delta: bisection over the budgets, each trial a delta evaluated through the engine.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "tenpak/delta/delta.h"
#include "tenpak/delta/delta_source.h"
#include "tenpak/engine/perplexity.h"
#include "tenpak/io/mapped_file.h"
#include "tenpak/model/model.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::delta {
namespace {
namespace fs = std::filesystem;

// The perplexity of the model at `path` (a delta when `base` is set) on `text`.
Result<double> PerplexityOf(const std::string& path, const std::string& base, const std::string& text,
                            const PerplexityTarget& target) {
    model::OpenOptions open;
    if (!base.empty()) {
        open.delta_tensors = [base](std::shared_ptr<const artifact::Artifact> delta) {
            return OpenDeltaTensorSource(std::move(delta), base);
        };
    }
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(path, open));
    TP_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, tokenizer::LoadTokenizer(m));
    engine::EngineOptions engine_options;
    engine_options.threads = target.threads;
    const int64_t ctx = engine::PerplexityWindow(target.ctx, m.config.max_position_embeddings);
    engine_options.context = ctx;
    TP_ASSIGN_OR_RETURN(std::unique_ptr<engine::Engine> engine, engine::Engine::Create(m, engine_options));
    engine::PerplexityOptions options;
    options.ctx = ctx;
    options.max_windows = target.max_windows;
    TP_ASSIGN_OR_RETURN(engine::PerplexityResult r, engine::Perplexity(*engine, *tok, text, options));
    return r.ppl;
}

// Trial files beside the output, removed whatever happens.
class TrialFiles {
public:
    explicit TrialFiles(const std::string& out)
        : trial_(out + ".trial-" + std::to_string(getpid())), best_(out + ".best-" + std::to_string(getpid())) {}
    ~TrialFiles() {
        std::error_code ignored;
        fs::remove(trial_, ignored);
        fs::remove(best_, ignored);
    }
    const std::string& trial() const { return trial_; }
    const std::string& best() const { return best_; }

private:
    std::string trial_, best_;
};

}  // namespace

Result<TargetedDeltaReport> WriteDeltaWithinPerplexity(const std::string& fine, const std::string& base,
                                                       const std::string& out, const DeltaOptions& options,
                                                       const PerplexityTarget& target) {
    if (!(target.max_ppl_delta_pct > 0)) {
        return Status::InvalidArgument("--max-ppl-delta must be a positive percentage");
    }
    std::vector<double> budgets = target.budgets;
    std::sort(budgets.begin(), budgets.end(), std::greater<>());
    if (budgets.empty() || budgets.back() <= 0 || budgets.front() >= 1) {
        return Status::InvalidArgument("the budgets tried for --max-ppl-delta must lie in (0, 1)");
    }
    const std::string text_path = target.eval_text.empty() ? engine::DefaultEvalText() : target.eval_text;
    TP_ASSIGN_OR_RETURN(const std::string text, io::ReadFileToString(text_path));

    TargetedDeltaReport report;
    TP_ASSIGN_OR_RETURN(report.fine_ppl, PerplexityOf(fine, "", text, target));
    const TrialFiles files(out);
    DeltaOptions trial_options = options;
    trial_options.pack.progress = false;

    // fits(i) is monotone: false for the loosest budgets, then true. Find the first true.
    size_t lo = 0, hi = budgets.size();
    std::optional<DeltaReport> best;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        trial_options.max_relative_error = budgets[mid];
        TP_ASSIGN_OR_RETURN(DeltaReport made, WriteDelta(fine, base, files.trial(), trial_options));
        BudgetTrial trial;
        trial.relative_error = budgets[mid];
        trial.delta_bytes = made.delta_bytes;
        TP_ASSIGN_OR_RETURN(trial.ppl, PerplexityOf(files.trial(), base, text, target));
        trial.ppl_delta_pct = (trial.ppl / report.fine_ppl - 1.0) * 100.0;
        trial.fits = trial.ppl_delta_pct <= target.max_ppl_delta_pct;
        report.trials.push_back(trial);
        if (options.pack.progress) {
            std::fprintf(stderr, "delta: budget %.3g -> %llu bytes, ppl %.4f (%+.2f%% of the fine-tune's): %s\n",
                         trial.relative_error, static_cast<unsigned long long>(trial.delta_bytes), trial.ppl,
                         trial.ppl_delta_pct, trial.fits ? "fits" : "too far");
        }
        if (trial.fits) {
            std::error_code error;
            fs::rename(files.trial(), files.best(), error);
            if (error) return Status::IOError("cannot move " + files.trial() + " to " + files.best() + ": " + error.message());
            best = std::move(made);
            report.chosen_relative_error = budgets[mid];
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if (best) {
        std::error_code error;
        fs::rename(files.best(), out, error);
        if (error) return Status::IOError("cannot move " + files.best() + " to " + out + ": " + error.message());
        report.delta = std::move(*best);
        return report;
    }
    // Even the tightest budget moves perplexity too far: store the fine-tune exactly.
    DeltaOptions lossless = options;
    lossless.max_relative_error = 0;
    TP_ASSIGN_OR_RETURN(report.delta, WriteDelta(fine, base, out, lossless));
    return report;
}

}  // namespace tenpak::delta
