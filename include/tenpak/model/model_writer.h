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

// Lets a caller write chosen tensors differently (tenpak quantize): a canonical tensor may be
// replaced by other tensors whose bytes the rewriter makes. A rewriter sees linear weights as
// [out, in] matrices whatever the canonical layout (GPT-2's Conv1D is [in, out]); the writers apply
// GGUF's rotary row order to what it returns, but never transpose it.
class TensorRewriter {
public:
    virtual ~TensorRewriter() = default;
    // The tensors to write in place of canonical tensor `info` (sizes filled), or nullopt to write
    // it as usual. For an HF folder: any names (e.g. `<prefix>.qweight`, `<prefix>.scales`). For GGUF:
    // exactly one tensor named like `info`, shape [out, in], with a GGML block dtype.
    virtual Result<std::optional<std::vector<io::TensorInfo>>> Plan(const io::TensorInfo& info, bool gguf) = 0;
    // The bytes of `out`, one of the tensors Plan gave for `canonical`. Called in the writer's order;
    // the outputs of one canonical tensor come one after another.
    virtual Result<io::TensorData> Produce(const io::TensorInfo& canonical, const io::TensorInfo& out) = 0;
    // config.json as it will be written (HF folders): e.g. adds "quantization_config".
    virtual void EditConfig(nlohmann::json& config) const { (void)config; }
    // Files written beside config.json (e.g. quantize_config.json).
    virtual std::vector<io::AuxFile> ExtraFiles() const { return {}; }
};

struct WriteOptions {
    // Float dtype for the weights (F32, F16 or BF16). Unset: each tensor keeps its dtype; GGML
    // block types, which an HF folder cannot hold, become F16. GGUF keeps 1-D tensors (norms,
    // biases) in F32 whatever is asked, as llama.cpp's converters do.
    std::optional<DType> dtype;
    uint64_t max_shard_bytes = io::kDefaultMaxShardBytes;
    // Replace an existing non-empty output folder (a file output is always replaced atomically).
    bool overwrite = false;
    bool progress = true;
    // Quantization (or any other replacement of tensors); not owned. nullptr: plain casts.
    TensorRewriter* rewriter = nullptr;
};

struct WriteReport {
    uint64_t tensors = 0;
    uint64_t tensor_bytes = 0;       // bytes of tensor data written
    std::vector<std::string> files;  // files written (names inside the folder, or the file)
    std::vector<std::string> notes;
};

Result<WriteReport> WriteHfFolder(const Model& model, const std::string& out_dir, const WriteOptions& options);
Result<WriteReport> WriteGguf(const Model& model, const std::string& out_path, const WriteOptions& options);

// The order WriteHfFolder writes tensors in: names compared with digit runs as numbers ("h.2.x"
// before "h.10.x"), i.e. layer by layer, as transformers' state dicts are ordered.
bool HfWriteOrderLess(std::string_view a, std::string_view b);

// Parses "f32", "f16", "bf16" (any case) for --dtype.
Result<DType> ParseFloatDType(std::string_view text);

}  // namespace tenpak::model
