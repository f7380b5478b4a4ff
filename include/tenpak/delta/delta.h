// Fine-tunes stored as deltas against their base model (a .tnpk whose manifest has a "delta" key).
//
// Lossless mode (the default): every file of the fine-tune is rebuilt byte for byte. A tensor equal to the base's is
// a reference (no bytes); one of the same dtype and shape is stored as its difference from the base
// (XOR or modular subtraction of the words, whichever compresses better on a sample) split into byte
// planes, which the container's per-chunk zstd then compresses; any other tensor (new, or resized) is
// stored whole. The delta records the hash of every base tensor it refers to, so that applying it to
// the wrong base stops before anything is written and names the tensor.
//
// Budgeted mode (DeltaOptions::max_relative_error): each float matrix's change is approximated
// within the budget by the cheapest encoder (src/delta/approx_encoder.h); apply rebuilds base +
// the decoded change, rounded to the tensor's dtype.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/artifact/packer.h"

namespace tenpak::delta {

struct DeltaOptions {
    artifact::PackOptions pack;  // zstd level, chunk size, hash, signing, threads, progress
    // 0: lossless. Otherwise the budget of every F32/F16/BF16 matrix: its rebuilt values may differ from
    // the fine-tune's by this fraction of the change's norm, ||rebuilt - fine||_F <= E ||fine - base||_F;
    // each such tensor is stored the cheapest way that meets it (low rank, sparse, int4/int8, sign),
    // or as the exact difference when none does. Other tensors stay lossless.
    double max_relative_error = 0;
};

// How one tensor was stored.
struct TensorChoice {
    std::string name;
    std::string mode;       // "ref", "diff", "whole", "approx"
    std::string encoder;    // approx: "lowrank", "sparse", "int4", "int8", "sign"
    nlohmann::json params;  // approx: the encoder's (rank, count, group size)
    uint64_t stored_bytes = 0;  // before the container's compression
    double relative_error = 0;  // approx: ||rebuilt - fine|| / ||fine - base||
};

struct DeltaReport {
    std::string id;
    uint64_t fine_bytes = 0;   // of the fine-tune's files
    uint64_t delta_bytes = 0;  // of the artifact
    uint64_t identical = 0;    // tensors stored as references to the base
    uint64_t differenced = 0;  // stored as byte-plane differences
    uint64_t whole = 0;        // stored whole (shape or dtype changed, or new)
    std::vector<std::string> added;    // tensors the base does not have
    std::vector<std::string> removed;  // base tensors the fine-tune does not have
    uint64_t approximated = 0;         // stored within the budget
    std::vector<TensorChoice> tensors;
};

// `fine` and `base`: HF folders (or GGUF files) as `tenpak pack` reads them.
Result<DeltaReport> WriteDelta(const std::string& fine, const std::string& base, const std::string& out,
                               const DeltaOptions& options);

// --max-ppl-delta: the loosest of `budgets` whose rebuilt model keeps its perplexity on the eval text
// within `max_ppl_delta_pct` of the fine-tune's, found by bisection (a tighter budget never rebuilds a
// worse model, so the fitting budgets form a prefix of the list from the tight end); lossless when
// none fits. Each trial is a real delta, rebuilt tensor by tensor through the engine without being
// written out as a model.
struct PerplexityTarget {
    double max_ppl_delta_pct = 0;
    std::string eval_text;   // empty: engine::DefaultEvalText()
    int64_t ctx = 512;       // capped by the model's context
    int64_t max_windows = 0; // 0: every window of the text
    size_t threads = 0;
    std::vector<double> budgets = {0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01};  // loosest first
};

struct BudgetTrial {
    double relative_error = 0;
    uint64_t delta_bytes = 0;
    double ppl = 0;
    double ppl_delta_pct = 0;  // against the fine-tune's
    bool fits = false;
};

struct TargetedDeltaReport {
    DeltaReport delta;                 // of the delta written
    double fine_ppl = 0;
    double chosen_relative_error = 0;  // 0: none fitted, the delta is lossless
    std::vector<BudgetTrial> trials;   // in the order they were tried
};

Result<TargetedDeltaReport> WriteDeltaWithinPerplexity(const std::string& fine, const std::string& base,
                                                       const std::string& out, const DeltaOptions& options,
                                                       const PerplexityTarget& target);

// `tenpak delta estimate`: what each mode would store, from a sample of the changed tensors, without
// writing anything. Identical and whole tensors are classified exactly (a byte comparison is cheap);
// of the changed ones, every k-th (k = 1 / sample_fraction, at least one) is encoded for real in each
// mode, and the rest are scaled by the sample's bytes stored per byte.
struct EstimateOptions {
    std::vector<double> budgets = {0.05, 0.1, 0.2, 0.5};  // --rel-error values to estimate besides lossless
    double sample_fraction = 0.25;
    int zstd_level = 3;
};

struct ModeEstimate {
    std::string mode;           // "lossless" or "budgeted"
    double relative_error = 0;  // budgeted: its budget
    uint64_t bytes = 0;         // estimated size of the delta artifact
};

struct DeltaEstimate {
    uint64_t fine_bytes = 0;
    uint64_t identical = 0, changed = 0, whole = 0;  // tensors
    std::vector<std::string> added, removed;
    uint64_t changed_bytes = 0;          // raw bytes of the changed tensors
    uint64_t sampled = 0;                // changed tensors encoded
    uint64_t sampled_bytes = 0;
    std::vector<ModeEstimate> modes;     // lossless first, then each budget
};

Result<DeltaEstimate> EstimateDelta(const std::string& fine, const std::string& base, const EstimateOptions& options);

enum class ApplyFormat : uint8_t {
    kHf = 0,    // the fine-tune's files in a folder, byte for byte (lossless deltas)
    kTnpk = 1,  // those files packed into a .tnpk artifact (as `tenpak pack` would)
};

struct ApplyOptions {
    ApplyFormat format = ApplyFormat::kHf;
    artifact::PackOptions pack;  // kTnpk: chunking, zstd level, hash, signing
    bool overwrite = false;
    bool progress = true;
};

struct ApplyReport {
    uint64_t files = 0;
    uint64_t bytes = 0;  // of the rebuilt files
    uint64_t base_tensors_checked = 0;
    std::string artifact_id;      // kTnpk
    uint64_t artifact_bytes = 0;  // kTnpk
};

// Checks every base tensor the delta refers to against its recorded hash (kInvalidArgument naming
// the first that differs, before anything is written), then rebuilds the fine-tune's files in
// `out_dir`, one tensor pair at a time, each rebuilt tensor checked against its recorded hash. With
// ApplyFormat::kTnpk, `out_dir` is the artifact's path: the files are rebuilt into a temporary folder
// beside it, packed, and the folder removed (disk for one copy of the model, memory of one tensor).
Result<ApplyReport> ApplyDelta(const std::string& delta, const std::string& base, const std::string& out_dir,
                               const ApplyOptions& options);

}  // namespace tenpak::delta
