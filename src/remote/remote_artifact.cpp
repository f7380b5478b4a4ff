#include "tenpak/remote/remote_artifact.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "tenpak/artifact/byte_source.h"
#include "tenpak/io/atomic_output.h"

namespace tenpak::remote {
namespace fs = std::filesystem;

Result<std::shared_ptr<const HttpByteSource>> HttpByteSource::Open(const std::string& url,
                                                                   std::shared_ptr<const HttpClient> client,
                                                                   uint64_t tail_bytes) {
    TP_ASSIGN_OR_RETURN(const HttpResponse head, client->Head(url));
    const std::string* length = head.Header("content-length");
    if (length == nullptr) {
        return Status::Unsupported(url + ": the server gives no Content-Length, so the artifact's footer cannot be found");
    }
    const uint64_t size = std::strtoull(length->c_str(), nullptr, 10);
    auto source = std::shared_ptr<HttpByteSource>(new HttpByteSource(url, std::move(client), size));
    source->tail_offset_ = size > tail_bytes ? size - tail_bytes : 0;
    Result<std::vector<std::byte>> tail = source->client_->GetRange(url, source->tail_offset_, size - source->tail_offset_);
    if (tail.ok()) {
        source->tail_ = io::TensorData::Own(std::move(tail).value());
    } else if (tail.status().code() == StatusCode::kUnsupported) {
        TP_RETURN_IF_ERROR(source->DownloadWhole());
    } else {
        return tail.status();
    }
    return std::shared_ptr<const HttpByteSource>(std::move(source));
}

HttpByteSource::~HttpByteSource() = default;

bool HttpByteSource::fell_back_to_full_download() const {
    std::lock_guard<std::mutex> lock(fallback_mutex_);
    return whole_ != nullptr;
}

// One GET of the whole file into an unlinked temporary file, then reads are served from its mapping.
Status HttpByteSource::DownloadWhole() const {
    std::lock_guard<std::mutex> lock(fallback_mutex_);
    if (whole_) return Status::Ok();
    const std::string path = (fs::temp_directory_path() / ("tenpak-download-" + io::TempSuffix())).string();
    std::FILE* file = std::fopen(path.c_str(), "w+b");
    if (file == nullptr) return Status::IOError(path + ": cannot create a temporary file for the download");
    const auto sink = [&](std::span<const std::byte> piece) -> Status {
        return std::fwrite(piece.data(), 1, piece.size(), file) == piece.size()
                   ? Status::Ok()
                   : Status::IOError(path + ": write failed (disk full?)");
    };
    const auto restart = [&]() -> Status {
        return std::fseek(file, 0, SEEK_SET) == 0 && ::ftruncate(fileno(file), 0) == 0
                   ? Status::Ok()
                   : Status::IOError(path + ": cannot restart the download");
    };
    Result<uint64_t> got = client_->Download(url_, sink, restart);
    const bool flushed = std::fflush(file) == 0;
    std::fclose(file);
    Result<std::shared_ptr<const artifact::MappedByteSource>> mapped =
        got.ok() && flushed ? artifact::MappedByteSource::Open(path) : Status::IOError(path + ": download failed");
    std::error_code ec;
    fs::remove(path, ec);  // the mapping keeps the bytes
    if (!got.ok()) return got.status();
    if (!mapped.ok()) return mapped.status();
    if (*got != size_) {
        return Status::Network(url_ + ": the download gave " + std::to_string(*got) + " bytes but the server announced " +
                               std::to_string(size_));
    }
    whole_ = std::move(mapped).value();
    return Status::Ok();
}

Result<io::TensorData> HttpByteSource::ReadAt(uint64_t offset, uint64_t size) const {
    TP_RETURN_IF_ERROR(CheckRange(offset, size));
    {
        std::lock_guard<std::mutex> lock(fallback_mutex_);
        if (whole_) return whole_->ReadAt(offset, size);
    }
    if (tail_.size() > 0 && offset >= tail_offset_) {
        return io::TensorData::View(tail_.bytes().subspan(offset - tail_offset_, size), std::make_shared<io::TensorData>(tail_));
    }
    Result<std::vector<std::byte>> bytes = client_->GetRange(url_, offset, size);
    if (bytes.ok()) return io::TensorData::Own(std::move(bytes).value());
    if (bytes.status().code() != StatusCode::kUnsupported) return bytes.status();
    TP_RETURN_IF_ERROR(DownloadWhole());
    std::lock_guard<std::mutex> lock(fallback_mutex_);
    return whole_->ReadAt(offset, size);
}

Result<RemoteArtifact> OpenRemoteArtifact(const std::string& url, const RemoteOptions& options) {
    RemoteArtifact remote;
    remote.client = std::make_shared<const HttpClient>(options.http);
    TP_ASSIGN_OR_RETURN(remote.source, HttpByteSource::Open(url, remote.client));
    if (options.use_cache) {
        TP_ASSIGN_OR_RETURN(remote.cache, ChunkCache::Open(options.cache_dir.empty() ? ChunkCache::DefaultDir()
                                                                                      : options.cache_dir,
                                                           options.cache_bytes));
    }
    TP_ASSIGN_OR_RETURN(remote.artifact, artifact::Artifact::Open(remote.source, remote.cache));
    return remote;
}

}  // namespace tenpak::remote
