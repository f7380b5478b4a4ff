// The local content-addressed chunk cache shared by every artifact: a chunk is a file named by the
// hash of its raw bytes, so identical chunks of different artifacts (two versions of a model) are
// fetched once. A size limit is kept by evicting the least recently used chunks.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tenpak/artifact/artifact.h"

namespace tenpak::remote {

inline constexpr uint64_t kDefaultCacheBytes = 20ull << 30;  // 20 GiB

// Thread safety: shared by the threads of one process; several processes may share the folder
// (files appear by atomic rename; a chunk evicted under a reader is a cache miss).
class ChunkCache final : public artifact::ChunkStore {
public:
    // Creates the folder if needed and measures what it holds.
    static Result<std::shared_ptr<ChunkCache>> Open(const std::string& dir, uint64_t max_bytes = kDefaultCacheBytes);
    // $XDG_CACHE_HOME/tenpak/chunks, else ~/.cache/tenpak/chunks.
    static std::string DefaultDir();

    // A hit (a file whose bytes match the hash) refreshes the chunk's place in the LRU order (its
    // mtime); a file that does not match is deleted and counts as a miss.
    std::optional<io::TensorData> Get(HashAlgorithm algorithm, const Digest& hash) const override;
    void Put(HashAlgorithm algorithm, const Digest& hash, std::span<const std::byte> raw) const override;

    const std::string& dir() const { return dir_; }
    uint64_t bytes() const;
    uint64_t hits() const;
    uint64_t misses() const;

private:
    ChunkCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
    std::string PathOf(HashAlgorithm algorithm, const Digest& hash) const;
    void EvictIfOver() const;
    void Remove(const std::string& path) const;

    std::string dir_;
    uint64_t max_bytes_;
    mutable std::mutex mutex_;
    mutable uint64_t bytes_ = 0;
    mutable uint64_t hits_ = 0;
    mutable uint64_t misses_ = 0;
};

}  // namespace tenpak::remote
