#include "tenpak/remote/chunk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tenpak/core/hash.h"
#include "tenpak/io/atomic_output.h"
#include "tenpak/io/mapped_file.h"

namespace tenpak::remote {
namespace fs = std::filesystem;

std::string ChunkCache::DefaultDir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
        return (fs::path(xdg) / "tenpak" / "chunks").string();
    }
    const char* home = std::getenv("HOME");
    return (fs::path(home != nullptr ? home : ".") / ".cache" / "tenpak" / "chunks").string();
}

Result<std::shared_ptr<ChunkCache>> ChunkCache::Open(const std::string& dir, uint64_t max_bytes) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir, ec)) {
        return Status::IOError(dir + ": cannot create the chunk cache folder (" + ec.message() + "); pass --cache DIR");
    }
    auto cache = std::shared_ptr<ChunkCache>(new ChunkCache(dir, max_bytes));
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (it->is_regular_file(ec)) cache->bytes_ += it->file_size(ec);
    }
    cache->EvictIfOver();
    return cache;
}

std::string ChunkCache::PathOf(HashAlgorithm algorithm, const Digest& hash) const {
    const std::string hex = ToHex(hash);
    return (fs::path(dir_) / std::string(HashAlgorithmName(algorithm)) / hex.substr(0, 2) / hex).string();
}

std::optional<io::TensorData> ChunkCache::Get(HashAlgorithm algorithm, const Digest& hash) const {
    const std::string path = PathOf(algorithm, hash);
    Result<std::shared_ptr<const io::MappedFile>> file = io::MappedFile::Open(path);
    const bool intact = file.ok() && HashBytes(algorithm, (*file)->bytes()) == hash;
    if (file.ok() && !intact) Remove(path);  // damaged on disk: the caller fetches it again
    if (!intact) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++misses_;
        return std::nullopt;
    }
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // now: most recently used
    std::lock_guard<std::mutex> lock(mutex_);
    ++hits_;
    return io::TensorData::View((*file)->bytes(), *file);
}

void ChunkCache::Put(HashAlgorithm algorithm, const Digest& hash, std::span<const std::byte> raw) const {
    const std::string path = PathOf(algorithm, hash);
    std::error_code ec;
    if (fs::exists(path, ec)) return;
    fs::create_directories(fs::path(path).parent_path(), ec);
    Result<io::AtomicFile> file = io::AtomicFile::Create(path);
    if (!file.ok() || !file->Append(raw).ok() || !file->Commit().ok()) return;  // a cache that cannot keep a chunk
    {
        std::lock_guard<std::mutex> lock(mutex_);
        bytes_ += raw.size();
    }
    EvictIfOver();
}

void ChunkCache::Remove(const std::string& path) const {
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec || !fs::remove(path, ec)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_ -= std::min(bytes_, size);
}

void ChunkCache::EvictIfOver() const {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (bytes_ <= max_bytes_) return;
    }
    struct Entry {
        fs::file_time_type used;
        uint64_t size;
        fs::path path;
    };
    std::vector<Entry> entries;
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->path().filename().string().front() == '.') continue;
        const uint64_t size = it->file_size(ec);
        entries.push_back({it->last_write_time(ec), size, it->path()});
        total += size;
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
    for (const Entry& entry : entries) {
        if (total <= max_bytes_) break;
        if (fs::remove(entry.path, ec)) total -= entry.size;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_ = total;
}

uint64_t ChunkCache::bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bytes_;
}

uint64_t ChunkCache::hits() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hits_;
}

uint64_t ChunkCache::misses() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return misses_;
}

}  // namespace tenpak::remote
