// A model opened from any supported input, presented in TenPak's canonical form: tensors under
// their Hugging Face names and in HF layouts, a typed config, the vocabulary and the files that
// travel with the model. Everything downstream (convert, the engine, quantization, packing)
// works on this, whatever the input format was.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tenpak/io/gguf.h"
#include "tenpak/io/hf_folder.h"
#include "tenpak/io/tensor_source.h"
#include "tenpak/io/vocab.h"
#include "tenpak/model/model_config.h"
#include "tenpak/model/model_spec.h"

namespace tenpak::artifact {
class Artifact;
}  // namespace tenpak::artifact

namespace tenpak::model {

enum class SourceFormat : uint8_t { kHfFolder = 0, kGguf = 1, kLlama2c = 2, kArtifact = 3 };
std::string_view SourceFormatName(SourceFormat format);

struct Model {
    std::string origin;  // the path opened (a Hub id resolved to its snapshot folder)
    SourceFormat format = SourceFormat::kHfFolder;
    const ModelSpec* spec = nullptr;
    const ModelVariant* variant = nullptr;
    ModelConfig config;
    // The tensors as stored, under the file's own names and layouts.
    std::shared_ptr<const io::TensorSource> native;
    // The canonical view: HF names and layouts (rotary rows, Conv1D orientation), converted from
    // the native tensors one at a time on Read().
    std::unique_ptr<io::TensorSource> tensors;
    std::optional<io::Vocab> vocab;
    std::vector<io::AuxFile> aux_files;  // tokenizer and generation files to carry over
    io::GgufMetadata gguf_metadata;      // when read from a GGUF file
    std::vector<std::string> notes;      // what the loader decided, for `inspect` (e.g. dropped buffers)

    // Elements of every canonical tensor (a tied head is not stored twice, so not counted twice).
    uint64_t ParameterCount() const;
};

struct OpenOptions {
    // A tokenizer for inputs that do not carry one (llama2.c): a llama2.c tokenizer .bin or a
    // SentencePiece .model. Empty: look next to the checkpoint.
    std::string tokenizer_path;
    // For a .tnpk delta of a fine-tune (source "delta"): the fine-tune's tensors, rebuilt from the
    // delta and its base (delta::OpenDeltaTensorSource bound to a base path). Unset: a delta is
    // refused with a message that asks for the base.
    std::function<Result<std::unique_ptr<io::TensorSource>>(std::shared_ptr<const artifact::Artifact>)> delta_tensors;
};

// Opens a local HF folder, a .gguf file, a llama2.c .bin, a .tnpk artifact of an HF folder (a path,
// or an http(s) URL read by range requests through the default chunk cache), or an `org/name` id
// from the local HF cache. Validates the tensors against the spec: every required
// tensor present with the shape the config implies. Errors name the file and tensor or key, and list supported architectures for an
// unknown one.
Result<Model> OpenModel(const std::string& path_or_id, const OpenOptions& options = {});

}  // namespace tenpak::model
