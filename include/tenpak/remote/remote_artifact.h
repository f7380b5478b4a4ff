// Artifacts over HTTP: a ByteSource of Range requests, opened with two reads (the end of the file
// holds the footer and, for all but huge models, the manifest), with chunks kept in the shared
// chunk cache. A server that ignores Range gets one full download instead, still verified.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "tenpak/artifact/artifact.h"
#include "tenpak/remote/chunk_cache.h"
#include "tenpak/remote/http_client.h"

namespace tenpak::remote {

struct RemoteOptions {
    std::string cache_dir;  // empty: ChunkCache::DefaultDir()
    uint64_t cache_bytes = kDefaultCacheBytes;
    bool use_cache = true;
    size_t connections = 4;  // chunks fetched at once
    HttpOptions http;
};

// Thread safety: ReadAt may be called concurrently.
class HttpByteSource final : public artifact::ByteSource {
public:
    // HEAD for the size, then one read of the last `tail_bytes` (footer and usually the manifest).
    static Result<std::shared_ptr<const HttpByteSource>> Open(const std::string& url,
                                                              std::shared_ptr<const HttpClient> client,
                                                              uint64_t tail_bytes = 64 << 10);
    ~HttpByteSource() override;
    uint64_t size() const override { return size_; }
    Result<io::TensorData> ReadAt(uint64_t offset, uint64_t size) const override;
    std::string origin() const override { return url_; }
    // Whether the server ignored Range and the whole file was downloaded instead.
    bool fell_back_to_full_download() const;

private:
    HttpByteSource(std::string url, std::shared_ptr<const HttpClient> client, uint64_t size)
        : url_(std::move(url)), client_(std::move(client)), size_(size) {}
    Status DownloadWhole() const;

    std::string url_;
    std::shared_ptr<const HttpClient> client_;
    uint64_t size_;
    uint64_t tail_offset_ = 0;
    io::TensorData tail_;
    mutable std::mutex fallback_mutex_;
    mutable std::shared_ptr<const artifact::ByteSource> whole_;  // set once the whole file is local
};

struct RemoteArtifact {
    std::shared_ptr<const artifact::Artifact> artifact;
    std::shared_ptr<const HttpClient> client;          // its byte counters say what was transferred
    std::shared_ptr<const HttpByteSource> source;
    std::shared_ptr<ChunkCache> cache;                 // null without a cache
};

Result<RemoteArtifact> OpenRemoteArtifact(const std::string& url, const RemoteOptions& options);

}  // namespace tenpak::remote
