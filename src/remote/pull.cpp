#include "tenpak/remote/pull.h"

#include <zstd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "tenpak/artifact/unpack.h"
#include "tenpak/core/progress.h"
#include "tenpak/io/atomic_output.h"

namespace tenpak::remote {

Status ForEachParallel(size_t n, size_t connections, const std::function<Status(size_t)>& fn) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    Status first;
    const auto worker = [&] {
        for (size_t i = next++; i < n && !failed.load(); i = next++) {
            Status status = fn(i);
            if (!status.ok()) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!failed.exchange(true)) first = std::move(status);
            }
        }
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::max<size_t>(1, std::min(connections, n)); ++t) threads.emplace_back(worker);
    worker();
    for (std::thread& thread : threads) thread.join();
    return first;
}

namespace {

// Checks a chunk's stored bytes the way the reader would (decompress, hash), without keeping the
// raw bytes: they are decompressed a cache-sized block at a time and hashed while hot.
Status CheckStoredChunk(const artifact::Artifact& a, uint32_t index, std::span<const std::byte> stored) {
    const artifact::ChunkEntry& chunk = a.manifest().chunks[index];
    const auto damaged = [&](const char* what) {
        return Status::Integrity(a.origin() + ": chunk " + std::to_string(index) + " (" + a.ChunkOwner(index) + ") " +
                                 what + ": the server sent wrong bytes");
    };
    Hasher hasher(a.manifest().hash);
    if (chunk.compression == artifact::Compression::kNone) {
        hasher.Update(stored);
    } else {
        struct Stream {
            ZSTD_DCtx* context = ZSTD_createDCtx();
            std::vector<std::byte> block = std::vector<std::byte>(256 << 10);
            ~Stream() { ZSTD_freeDCtx(context); }
        };
        thread_local Stream stream;
        ZSTD_DCtx_reset(stream.context, ZSTD_reset_session_only);
        ZSTD_inBuffer in{stored.data(), stored.size(), 0};
        uint64_t produced = 0;
        size_t status = 1;
        while (status != 0) {
            ZSTD_outBuffer out{stream.block.data(), stream.block.size(), 0};
            status = ZSTD_decompressStream(stream.context, &out, &in);
            if (ZSTD_isError(status)) return damaged("does not decompress");
            produced += out.pos;
            if (produced > chunk.raw_size) return damaged("decompresses to more than its size");
            hasher.Update(std::span<const std::byte>(stream.block.data(), out.pos));
            if (status != 0 && in.pos == in.size && out.pos < out.size) return damaged("is cut short");
        }
        if (produced != chunk.raw_size || in.pos != in.size) return damaged("does not decompress to its size");
    }
    if (hasher.Finish() != chunk.hash) return damaged("does not match its hash");
    return Status::Ok();
}

// Mirror: the same bytes as the server's file, every chunk checked, padding written as zeros.
Status Mirror(const RemoteArtifact& remote, const std::string& out, const PullOptions& options, PullReport& report) {
    const artifact::Artifact& a = *remote.artifact;
    const artifact::Manifest& m = a.manifest();
    TP_ASSIGN_OR_RETURN(io::AtomicFile file, io::AtomicFile::Create(out));
    std::mutex file_mutex;
    TP_ASSIGN_OR_RETURN(const io::TensorData header, remote.source->ReadAt(0, artifact::kHeaderSize));
    TP_RETURN_IF_ERROR(artifact::DecodeHeader(header.bytes(), a.origin()));
    TP_RETURN_IF_ERROR(file.WriteAt(0, header.bytes()));
    std::optional<Progress> bar;
    if (options.progress) bar.emplace("pulling " + a.origin(), remote.source->size(), Progress::Unit::kBytes);
    const auto fetch = [&](size_t i) -> Status {
        const artifact::ChunkEntry& chunk = m.chunks[i];
        TP_ASSIGN_OR_RETURN(const io::TensorData stored, remote.source->ReadAt(chunk.offset, chunk.stored_size));
        TP_RETURN_IF_ERROR(CheckStoredChunk(a, static_cast<uint32_t>(i), stored.bytes()));
        if (bar) bar->Advance(chunk.stored_size);
        std::lock_guard<std::mutex> lock(file_mutex);
        return file.WriteAt(chunk.offset, stored.bytes());
    };
    TP_RETURN_IF_ERROR(ForEachParallel(m.chunks.size(), options.remote.connections, fetch));
    const uint64_t tail_offset = a.footer().manifest_offset;
    TP_ASSIGN_OR_RETURN(const io::TensorData tail, remote.source->ReadAt(tail_offset, remote.source->size() - tail_offset));
    TP_RETURN_IF_ERROR(file.WriteAt(tail_offset, tail.bytes()));
    if (bar) bar->Advance(remote.source->size() - tail_offset);
    report.bytes_written = file.size();
    report.chunks = m.chunks.size();
    return file.Commit();
}

// Unpack: chunks into the cache (several at once), then the files from it.
Status UnpackThroughCache(const RemoteArtifact& remote, const std::string& out, const PullOptions& options,
                          PullReport& report) {
    const artifact::Artifact& a = *remote.artifact;
    const artifact::Manifest& m = a.manifest();
    {
        std::optional<Progress> bar;
        if (options.progress) bar.emplace("fetching " + a.origin(), m.StoredBytes(), Progress::Unit::kBytes);
        const auto fetch = [&](size_t i) -> Status {
            TP_RETURN_IF_ERROR(a.ReadChunk(static_cast<uint32_t>(i)).status());
            if (bar) bar->Advance(m.chunks[i].stored_size);
            return Status::Ok();
        };
        TP_RETURN_IF_ERROR(ForEachParallel(m.chunks.size(), options.remote.connections, fetch));
    }
    if (remote.cache) report.chunks_from_cache = remote.cache->hits();
    artifact::UnpackOptions unpack;
    unpack.overwrite = options.overwrite;
    unpack.progress = options.progress;
    TP_ASSIGN_OR_RETURN(const artifact::UnpackReport written, artifact::Unpack(a, out, unpack));
    report.bytes_written = written.bytes;
    report.chunks = m.chunks.size();
    return Status::Ok();
}

}  // namespace

Result<PullReport> PullArtifact(const std::string& url, const std::string& out, const PullOptions& options) {
    const bool mirror = out.ends_with(".tnpk");
    RemoteOptions remote_options = options.remote;
    if (mirror) remote_options.use_cache = false;  // the stored (compressed) bytes are what is written
    TP_ASSIGN_OR_RETURN(const RemoteArtifact remote, OpenRemoteArtifact(url, remote_options));
    PullReport report;
    report.id = remote.artifact->id();
    report.mode = mirror ? "mirror" : "unpack";
    report.artifact_bytes = remote.source->size();
    TP_ASSIGN_OR_RETURN(report.signature, remote.artifact->CheckTrust(options.trust));
    TP_RETURN_IF_ERROR(mirror ? Mirror(remote, out, options, report) : UnpackThroughCache(remote, out, options, report));
    report.bytes_transferred = remote.client->bytes_received();
    report.requests = remote.client->requests();
    report.full_download = remote.source->fell_back_to_full_download();
    return report;
}

}  // namespace tenpak::remote
