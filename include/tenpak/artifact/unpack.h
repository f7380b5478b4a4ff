// Checking a whole artifact (`tenpak verify`) and rebuilding its files (`tenpak unpack`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "tenpak/artifact/artifact.h"

namespace tenpak::artifact {

struct VerifyReport {
    std::string id;
    std::string signature;  // CheckSignature's sentence
    uint64_t chunks = 0;
    uint64_t stored_bytes = 0;
};

// The signature against `policy`, then the frame's reserved bytes and padding, then every chunk
// against its hash. The first failure is the error; it names the chunk and the tensor or file
// holding it.
Result<VerifyReport> Verify(const Artifact& artifact, const TrustPolicy& policy, bool progress);

struct UnpackOptions {
    bool overwrite = false;  // replace a non-empty output folder
    bool progress = true;
    // When set, a file's tensors are written from what this returns instead of from their chunks
    // (a delta rebuilds each fine-tune tensor from the base and its stored difference); the hook
    // checks what it builds.
    std::function<Result<io::TensorData>(const TensorEntry&)> rebuild_tensor;
    // The progress bar's total when the hook changes sizes; 0: the artifact's raw bytes.
    uint64_t output_bytes = 0;
    std::string progress_label;  // default "unpacking to OUT_DIR"
};

struct UnpackReport {
    uint64_t files = 0;
    uint64_t bytes = 0;
};

// Writes every file of the artifact under `out_dir`, byte for byte as packed, each chunk checked on
// the way. The folder appears only when everything was written (AtomicDirectory).
Result<UnpackReport> Unpack(const Artifact& artifact, const std::string& out_dir, const UnpackOptions& options);

}  // namespace tenpak::artifact
