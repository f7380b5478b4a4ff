#include "tenpak/artifact/unpack.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "tenpak/core/progress.h"
#include "tenpak/io/atomic_output.h"

namespace tenpak::artifact {
namespace fs = std::filesystem;
namespace {

bool AllZero(std::span<const std::byte> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

Status CheckFrame(const Artifact& artifact) {
    const ByteSource& bytes = artifact.bytes();
    const std::string origin = artifact.origin();
    TP_ASSIGN_OR_RETURN(const io::TensorData header, bytes.ReadAt(0, kHeaderSize));
    TP_ASSIGN_OR_RETURN(const io::TensorData footer, bytes.ReadAt(bytes.size() - kFooterSize, kFooterSize));
    TP_RETURN_IF_ERROR(DecodeHeader(header.bytes(), origin));
    if (!HeaderReservedAreZero(header.bytes()) || !FooterReservedAreZero(footer.bytes())) {
        return Status::Corruption(origin + ": reserved header or footer bytes are not zero");
    }
    // The padding after each chunk, up to the next one (or the manifest).
    const std::vector<ChunkEntry>& chunks = artifact.manifest().chunks;
    for (size_t i = 0; i < chunks.size(); ++i) {
        const uint64_t end = chunks[i].offset + chunks[i].stored_size;
        const uint64_t next = i + 1 < chunks.size() ? chunks[i + 1].offset : artifact.footer().manifest_offset;
        if (next == end) continue;
        TP_ASSIGN_OR_RETURN(const io::TensorData padding, bytes.ReadAt(end, next - end));
        if (!AllZero(padding.bytes())) {
            return Status::Corruption(origin + ": the padding after chunk " + std::to_string(i) + " (" +
                                      artifact.ChunkOwner(static_cast<uint32_t>(i)) + ") is not zero");
        }
    }
    return Status::Ok();
}

}  // namespace

Result<VerifyReport> Verify(const Artifact& artifact, const TrustPolicy& policy, bool progress) {
    VerifyReport report;
    report.id = artifact.id();
    TP_ASSIGN_OR_RETURN(report.signature, artifact.CheckTrust(policy));
    TP_RETURN_IF_ERROR(CheckFrame(artifact));
    const Manifest& manifest = artifact.manifest();
    std::optional<Progress> bar;
    if (progress) bar.emplace("verifying " + artifact.origin(), manifest.StoredBytes(), Progress::Unit::kBytes);
    for (uint32_t i = 0; i < manifest.chunks.size(); ++i) {
        TP_RETURN_IF_ERROR(artifact.ReadChunk(i).status());
        artifact.bytes().Release(manifest.chunks[i].offset, manifest.chunks[i].stored_size);
        if (bar) bar->Advance(manifest.chunks[i].stored_size);
        ++report.chunks;
        report.stored_bytes += manifest.chunks[i].stored_size;
    }
    return report;
}

Result<UnpackReport> Unpack(const Artifact& artifact, const std::string& out_dir, const UnpackOptions& options) {
    TP_ASSIGN_OR_RETURN(io::AtomicDirectory dir, io::AtomicDirectory::Create(out_dir, options.overwrite));
    const Manifest& manifest = artifact.manifest();
    std::optional<Progress> bar;
    if (options.progress) {
        bar.emplace(options.progress_label.empty() ? "unpacking to " + out_dir : options.progress_label,
                    options.output_bytes != 0 ? options.output_bytes : manifest.RawBytes(), Progress::Unit::kBytes);
    }
    UnpackReport report;
    for (const FileEntry& file : manifest.files) {
        if (bar) bar->SetDetail(file.name);
        const fs::path path = fs::path(dir.temp_path()) / file.name;
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        if (ec) return Status::IOError(path.parent_path().string() + ": cannot create: " + ec.message());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out) return Status::IOError(out_dir + "/" + file.name + ": cannot create");
        const auto write = [&](const io::TensorData& data) -> Status {
            out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
            if (!out) return Status::IOError(out_dir + "/" + file.name + ": write failed (disk full?)");
            if (bar) bar->Advance(data.size());
            report.bytes += data.size();
            return Status::Ok();
        };
        // Chunk by chunk, tensors included: memory of one chunk, not of the largest tensor.
        for (const Segment& segment : file.segments) {
            if (!segment.tensor.empty() && options.rebuild_tensor) {
                TP_ASSIGN_OR_RETURN(const io::TensorData data, options.rebuild_tensor(*artifact.FindTensor(segment.tensor)));
                TP_RETURN_IF_ERROR(write(data));
                continue;
            }
            const std::vector<uint32_t>& chunks =
                segment.tensor.empty() ? segment.chunks : artifact.FindTensor(segment.tensor)->chunks;
            for (uint32_t index : chunks) {
                TP_ASSIGN_OR_RETURN(const io::TensorData data, artifact.ReadChunk(index));
                TP_RETURN_IF_ERROR(write(data));
                artifact.bytes().Release(manifest.chunks[index].offset, manifest.chunks[index].stored_size);
            }
        }
        out.close();
        if (!out) return Status::IOError(out_dir + "/" + file.name + ": write failed");
        ++report.files;
    }
    TP_RETURN_IF_ERROR(dir.Commit());
    return report;
}

}  // namespace tenpak::artifact
