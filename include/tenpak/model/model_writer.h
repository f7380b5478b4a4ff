// Writing a Model out: as a Hugging Face folder (config.json, safetensors shards, tokenizer files)
// or as a GGUF file that llama.cpp loads. Both stream one tensor at a time (peak memory is about
// the largest tensor) and appear atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tenpak/core/dtype.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/model/model.h"

namespace tenpak::model {

struct WriteOptions {
    // Float dtype for the weights (F32, F16 or BF16). Unset: each tensor keeps its dtype; GGML
    // block types, which an HF folder cannot hold, become F16. GGUF keeps 1-D tensors (norms,
    // biases) in F32 whatever is asked, as llama.cpp's converters do.
    std::optional<DType> dtype;
    uint64_t max_shard_bytes = io::kDefaultMaxShardBytes;
    // Replace an existing non-empty output folder (a file output is always replaced atomically).
    bool overwrite = false;
    bool progress = true;
};

struct WriteReport {
    uint64_t tensors = 0;
    uint64_t tensor_bytes = 0;       // bytes of tensor data written
    std::vector<std::string> files;  // files written (names inside the folder, or the file)
    std::vector<std::string> notes;
};

Result<WriteReport> WriteHfFolder(const Model& model, const std::string& out_dir, const WriteOptions& options);
Result<WriteReport> WriteGguf(const Model& model, const std::string& out_path, const WriteOptions& options);

// Parses "f32", "f16", "bf16" (any case) for --dtype.
Result<DType> ParseFloatDType(std::string_view text);

}  // namespace tenpak::model
