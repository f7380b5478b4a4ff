// Hugging Face model folders (what `save_pretrained` writes and the Hub serves) and the local
// Hugging Face cache that resolves `org/name` ids to such folders.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/io/tensor_source.h"

namespace tenpak::io {

// A small file that travels with a model unchanged (tokenizer, generation settings).
struct AuxFile {
    std::string name;     // file name inside the model folder
    std::string content;  // raw bytes
};

// The files carried over from any input model to every output folder, when present.
inline constexpr std::string_view kCarriedFiles[] = {
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
};

struct HfFolder {
    std::string path;
    nlohmann::json config;                  // config.json
    std::unique_ptr<TensorSource> tensors;  // single or sharded safetensors
    std::vector<AuxFile> aux_files;         // those of kCarriedFiles that exist
};

// Opens a folder: config.json (must be a JSON object), then model.safetensors.index.json, else
// model.safetensors, else the folder's only *.safetensors file. Errors say which files were
// looked for (PyTorch .bin checkpoints are named as unsupported).
Result<HfFolder> OpenHfFolder(const std::string& dir);

// Reads the carried-over files present in `dir`.
Result<std::vector<AuxFile>> ReadAuxFiles(const std::string& dir);

// True for "org/name" (optionally "@revision"): one slash, no leading '.', '/' or '~'.
bool LooksLikeHubId(std::string_view text);

// The Hugging Face cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
std::string HubCacheDir();

// Resolves "org/name" or "org/name@revision" (a branch, tag or commit; default "main") to its
// snapshot folder in the local cache: <cache>/models--org--name/snapshots/<commit>, with the
// commit read from refs/<revision> when the revision is a name. kNotFound says where it looked.
Result<std::string> ResolveHubId(std::string_view id);

}  // namespace tenpak::io
