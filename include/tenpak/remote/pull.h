// `tenpak pull URL -o OUT`: an artifact over HTTP, either mirrored byte for byte into OUT.tnpk or
// unpacked into a folder through the chunk cache. Chunks are fetched over several connections at
// once, each checked against its hash before it is written; the output appears atomically.
#pragma once

#include <cstdint>
#include <string>

#include "tenpak/artifact/signing.h"
#include "tenpak/remote/remote_artifact.h"

namespace tenpak::remote {

struct PullOptions {
    RemoteOptions remote;
    artifact::TrustPolicy trust;  // checked before any chunk is fetched
    bool overwrite = false;       // replace a non-empty output folder
    bool progress = true;
};

struct PullReport {
    std::string id;
    std::string mode;  // "mirror" (OUT ends in .tnpk) or "unpack"
    std::string signature;
    uint64_t artifact_bytes = 0;     // size of the artifact on the server
    uint64_t bytes_written = 0;      // of the output
    uint64_t bytes_transferred = 0;  // HTTP bodies received
    uint64_t requests = 0;
    uint64_t chunks = 0;
    uint64_t chunks_from_cache = 0;
    bool full_download = false;  // the server ignored Range
};

Result<PullReport> PullArtifact(const std::string& url, const std::string& out, const PullOptions& options);

}  // namespace tenpak::remote
