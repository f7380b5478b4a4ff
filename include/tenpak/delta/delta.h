// Fine-tunes stored as deltas against their base model (a .tnpk whose manifest has a "delta" key).
//
// Lossless mode: every file of the fine-tune is rebuilt byte for byte. A tensor equal to the base's is
// a reference (no bytes); one of the same dtype and shape is stored as its difference from the base
// (XOR or modular subtraction of the words, whichever compresses better on a sample) split into byte
// planes, which the container's per-chunk zstd then compresses; any other tensor (new, or resized) is
// stored whole. The delta records the hash of every base tensor it refers to, so that applying it to
// the wrong base stops before anything is written and names the tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tenpak/artifact/packer.h"

namespace tenpak::delta {

struct DeltaOptions {
    artifact::PackOptions pack;  // zstd level, chunk size, hash, signing, threads, progress
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
};

// `fine` and `base`: HF folders (or GGUF files) as `tenpak pack` reads them.
Result<DeltaReport> WriteLosslessDelta(const std::string& fine, const std::string& base, const std::string& out,
                                       const DeltaOptions& options);

struct ApplyOptions {
    bool overwrite = false;
    bool progress = true;
};

struct ApplyReport {
    uint64_t files = 0;
    uint64_t bytes = 0;
    uint64_t base_tensors_checked = 0;
};

// Checks every base tensor the delta refers to against its recorded hash (kInvalidArgument naming
// the first that differs, before anything is written), then rebuilds the fine-tune's files in
// `out_dir`, one tensor pair at a time, each rebuilt tensor checked against its recorded hash.
Result<ApplyReport> ApplyDelta(const std::string& delta, const std::string& base, const std::string& out_dir,
                               const ApplyOptions& options);

}  // namespace tenpak::delta
