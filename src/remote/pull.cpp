#include "tenpak/remote/pull.h"

#include <mutex>
#include <optional>

#include "tenpak/artifact/unpack.h"
#include "tenpak/core/for_each_parallel.h"
#include "tenpak/core/progress.h"
#include "tenpak/io/atomic_output.h"

namespace tenpak::remote {

namespace {

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
        if (Status check = a.CheckStoredChunk(static_cast<uint32_t>(i), stored.bytes()); !check.ok()) {
            return Status::Integrity(check.message() + ": the server sent wrong bytes");
        }
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
