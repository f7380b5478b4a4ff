// `tenpak pull org/name`: a model from a Hugging Face Hub endpoint (HF_ENDPOINT, default the public
// Hub), fetched by its URL layout `/{repo}/resolve/{revision}/{file}` into the local HF cache layout
// (blobs named by ETag, snapshots/<commit>/<file> symlinks, refs/<revision>), where transformers,
// huggingface_hub and TenPak's own `org/name` lookup find it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/remote/http_client.h"

namespace tenpak::remote {

struct HubDownloadOptions {
    std::string endpoint;   // empty: $HF_ENDPOINT, else https://huggingface.co
    std::string cache_dir;  // empty: io::HubCacheDir()
    HttpOptions http;       // bearer_token defaults to $HF_TOKEN when empty
    bool progress = true;
};

struct HubDownloadReport {
    std::string repo;
    std::string revision;
    std::string commit;
    std::string snapshot;  // the folder to open
    std::vector<std::string> files;
    uint64_t bytes_downloaded = 0;
    uint64_t files_already_cached = 0;
};

// Downloads config.json, the safetensors weights (model.safetensors, or the shards named by
// model.safetensors.index.json), and whichever tokenizer, generation and quantization files the
// repository has. Blobs already in the cache are not fetched again; a blob whose ETag is a SHA-256
// (LFS files) is checked against it. Errors name the URL (404: no such repository or file;
// 401/403: set HF_TOKEN).
Result<HubDownloadReport> DownloadFromHub(const std::string& id, const HubDownloadOptions& options);

}  // namespace tenpak::remote
