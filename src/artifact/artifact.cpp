#include "tenpak/artifact/artifact.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "tenpak/core/for_each_parallel.h"
#include "tenpak/core/hash.h"

namespace tenpak::artifact {

Result<std::shared_ptr<const Artifact>> Artifact::Open(std::shared_ptr<const ByteSource> bytes,
                                                       std::shared_ptr<const ChunkStore> store) {
    const std::string origin = bytes->origin();
    const uint64_t file_size = bytes->size();
    if (file_size < kHeaderSize + kFooterSize) {
        return Status::Corruption(origin + ": " + std::to_string(file_size) +
                                  " bytes is too short for a .tnpk artifact (truncated?)");
    }
    // The header is not read here: the footer says as much (magic, version), and a remote reader
    // should know everything after two reads. Verify checks the header.
    TP_ASSIGN_OR_RETURN(const io::TensorData footer_bytes, bytes->ReadAt(file_size - kFooterSize, kFooterSize));
    auto artifact = std::shared_ptr<Artifact>(new Artifact());
    TP_ASSIGN_OR_RETURN(artifact->footer_, DecodeFooter(footer_bytes.bytes(), file_size, origin));
    const Footer& footer = artifact->footer_;
    TP_ASSIGN_OR_RETURN(const io::TensorData tail,
                        bytes->ReadAt(footer.manifest_offset, footer.manifest_size + footer.signature_size));
    const std::span<const std::byte> manifest_bytes = tail.bytes().first(footer.manifest_size);
    if (HashBytes(footer.hash, manifest_bytes) != footer.manifest_hash) {
        return Status::Integrity(origin + ": the manifest does not match the hash in the footer (the manifest or the "
                                          "footer was changed, or the file is damaged)");
    }
    const std::string_view text(reinterpret_cast<const char*>(manifest_bytes.data()), manifest_bytes.size());
    TP_ASSIGN_OR_RETURN(artifact->manifest_, ParseManifest(text, footer.manifest_offset, origin));
    if (artifact->manifest_.hash != footer.hash) {
        return Status::Corruption(origin + ": the manifest says its chunks use " +
                                  std::string(HashAlgorithmName(artifact->manifest_.hash)) + " but the footer says " +
                                  std::string(HashAlgorithmName(footer.hash)));
    }
    if (footer.signature_size > 0) {
        const std::span<const std::byte> block = tail.bytes().subspan(footer.manifest_size);
        TP_ASSIGN_OR_RETURN(artifact->signature_,
                            ParseSignatureBlock(std::string_view(reinterpret_cast<const char*>(block.data()), block.size()),
                                                origin));
    }
    for (size_t i = 0; i < artifact->manifest_.tensors.size(); ++i) {
        artifact->tensor_index_.emplace(artifact->manifest_.tensors[i].info.name, i);
    }
    artifact->bytes_ = std::move(bytes);
    artifact->store_ = std::move(store);
    return std::shared_ptr<const Artifact>(std::move(artifact));
}

Result<std::shared_ptr<const Artifact>> Artifact::OpenFile(const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const MappedByteSource> bytes, MappedByteSource::Open(path));
    return Open(std::move(bytes));
}

std::string Artifact::id() const {
    return std::string(HashAlgorithmName(footer_.hash)) + ":" + ToHex(footer_.manifest_hash);
}

Result<std::string> Artifact::CheckTrust(const TrustPolicy& policy) const {
    return CheckSignature(signature_, footer_.manifest_hash, policy, origin());
}

std::string Artifact::ChunkOwner(uint32_t index) const {
    for (const TensorEntry& tensor : manifest_.tensors) {
        for (uint32_t chunk : tensor.chunks) {
            if (chunk == index) return "tensor '" + tensor.info.name + "'";
        }
    }
    for (const FileEntry& file : manifest_.files) {
        for (const Segment& segment : file.segments) {
            for (uint32_t chunk : segment.chunks) {
                if (chunk == index) return "file '" + file.name + "'";
            }
        }
    }
    return "no tensor or file";
}

Status Artifact::CopyChunk(uint32_t index, std::byte* out) const {
    TP_ASSIGN_OR_RETURN(const io::TensorData raw, ReadChunk(index));
    std::memcpy(out, raw.data(), raw.size());
    return Status::Ok();
}

Result<io::TensorData> Artifact::ReadChunk(uint32_t index) const {
    const ChunkEntry& chunk = manifest_.chunks.at(index);
    if (store_) {
        std::optional<io::TensorData> kept = store_->Get(manifest_.hash, chunk.hash);
        if (kept) return std::move(*kept);
    }
    TP_ASSIGN_OR_RETURN(io::TensorData stored, bytes_->ReadAt(chunk.offset, chunk.stored_size));
    io::TensorData raw;
    if (chunk.compression == Compression::kNone) {
        TP_RETURN_IF_ERROR(CheckStoredChunk(index, stored.bytes()));
        raw = std::move(stored);
    } else {
        std::vector<std::byte> buffer(chunk.raw_size);
        TP_RETURN_IF_ERROR(CheckStoredChunk(index, stored.bytes(), buffer));
        raw = io::TensorData::Own(std::move(buffer));
    }
    if (store_) store_->Put(manifest_.hash, chunk.hash, raw.bytes());
    return raw;
}

Status Artifact::CheckStoredChunk(uint32_t index, std::span<const std::byte> stored, std::span<std::byte> raw) const {
    const ChunkEntry& chunk = manifest_.chunks.at(index);
    const auto damaged = [&](const std::string& what) {
        return Status::Integrity(origin() + ": chunk " + std::to_string(index) + " (" + ChunkOwner(index) +
                                 ", stored at " + std::to_string(chunk.offset) + ") " + what +
                                 " (damaged or tampered)");
    };
    if (stored.size() != chunk.stored_size) {
        return damaged("has " + std::to_string(stored.size()) + " stored bytes, not " + std::to_string(chunk.stored_size));
    }
    Hasher hasher(manifest_.hash);
    if (chunk.compression == Compression::kNone) {
        hasher.Update(stored);
        if (!raw.empty()) std::memcpy(raw.data(), stored.data(), stored.size());
    } else {
        // One decompression context and scratch block per thread: chunks are checked on several at once.
        struct Stream {
            ZSTD_DCtx* context = ZSTD_createDCtx();
            std::vector<std::byte> scratch = std::vector<std::byte>(256 << 10);
            ~Stream() { ZSTD_freeDCtx(context); }
        };
        thread_local Stream stream;
        ZSTD_DCtx_reset(stream.context, ZSTD_reset_session_only);
        ZSTD_inBuffer in{stored.data(), stored.size(), 0};
        uint64_t produced = 0;
        size_t remaining_hint = 1;
        while (remaining_hint != 0) {
            // Into the caller's buffer a scratch-sized block at a time (hashed while hot), or into the scratch.
            std::byte* block = stream.scratch.data();
            size_t block_size = stream.scratch.size();
            if (!raw.empty()) {
                if (produced >= chunk.raw_size) return damaged("decompresses to more than its " +
                                                               std::to_string(chunk.raw_size) + " bytes");
                block = raw.data() + produced;
                block_size = std::min<uint64_t>(stream.scratch.size(), chunk.raw_size - produced);
            }
            ZSTD_outBuffer out{block, block_size, 0};
            remaining_hint = ZSTD_decompressStream(stream.context, &out, &in);
            if (ZSTD_isError(remaining_hint)) {
                return damaged(std::string("does not decompress (") + ZSTD_getErrorName(remaining_hint) + ")");
            }
            produced += out.pos;
            if (produced > chunk.raw_size) {
                return damaged("decompresses to more than its " + std::to_string(chunk.raw_size) + " bytes");
            }
            hasher.Update(std::span<const std::byte>(block, out.pos));
            if (remaining_hint != 0 && in.pos == in.size && out.pos < out.size) return damaged("is cut short");
        }
        if (produced != chunk.raw_size || in.pos != in.size) {
            return damaged("does not decompress to its " + std::to_string(chunk.raw_size) + " bytes");
        }
    }
    if (hasher.Finish() != chunk.hash) {
        return damaged("does not match its " + std::string(HashAlgorithmName(manifest_.hash)) + " hash");
    }
    return Status::Ok();
}

const TensorEntry* Artifact::FindTensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &manifest_.tensors[it->second];
}

Result<io::TensorData> Artifact::ReadTensor(const TensorEntry& tensor, size_t parallel) const {
    if (tensor.chunks.size() == 1) return ReadChunk(tensor.chunks[0]);
    // Uncompressed chunks laid end to end (the usual case for weights zstd cannot shrink): check each
    // and hand out one view of the whole run.
    bool contiguous = !tensor.chunks.empty() && !store_;
    for (size_t i = 0; i < tensor.chunks.size() && contiguous; ++i) {
        const ChunkEntry& chunk = manifest_.chunks[tensor.chunks[i]];
        contiguous = chunk.compression == Compression::kNone &&
                     (i == 0 || chunk.offset == manifest_.chunks[tensor.chunks[i - 1]].offset +
                                                    manifest_.chunks[tensor.chunks[i - 1]].raw_size);
    }
    if (contiguous) {
        for (uint32_t index : tensor.chunks) TP_RETURN_IF_ERROR(ReadChunk(index).status());
        return bytes_->ReadAt(manifest_.chunks[tensor.chunks[0]].offset, tensor.info.nbytes);
    }
    // Chunk k of a tensor starts at k * chunk_size (every chunk but the last is full).
    std::vector<std::byte> buffer(tensor.info.nbytes);
    const size_t n = tensor.chunks.size();
    TP_RETURN_IF_ERROR(ForEachParallel(n, parallel, [&](size_t k) {
        return CopyChunk(tensor.chunks[k], buffer.data() + k * manifest_.chunk_size);
    }));
    return io::TensorData::Own(std::move(buffer));
}

Result<std::string> Artifact::ReadFile(std::string_view name) const {
    const FileEntry* file = manifest_.FindFile(name);
    if (file == nullptr) return Status::NotFound(origin() + ": the artifact carries no file '" + std::string(name) + "'");
    std::string content;
    content.reserve(file->size);
    for (const Segment& segment : file->segments) {
        if (!segment.tensor.empty()) {
            TP_ASSIGN_OR_RETURN(const io::TensorData data, ReadTensor(*FindTensor(segment.tensor)));
            content.append(reinterpret_cast<const char*>(data.data()), data.size());
            continue;
        }
        for (uint32_t index : segment.chunks) {
            TP_ASSIGN_OR_RETURN(const io::TensorData data, ReadChunk(index));
            content.append(reinterpret_cast<const char*>(data.data()), data.size());
        }
    }
    return content;
}

void Artifact::Release(const TensorEntry& tensor) const {
    for (uint32_t index : tensor.chunks) {
        bytes_->Release(manifest_.chunks[index].offset, manifest_.chunks[index].stored_size);
    }
}

ArtifactTensorSource::ArtifactTensorSource(std::shared_ptr<const Artifact> artifact, size_t parallel)
    : artifact_(std::move(artifact)), parallel_(parallel) {
    for (const TensorEntry& tensor : artifact_->manifest().tensors) infos_.push_back(tensor.info);
}

Result<io::TensorData> ArtifactTensorSource::Read(const io::TensorInfo& info) const {
    const TensorEntry* tensor = artifact_->FindTensor(info.name);
    if (tensor == nullptr) return Status::NotFound(origin() + ": no tensor '" + info.name + "'");
    return artifact_->ReadTensor(*tensor, parallel_);
}

void ArtifactTensorSource::Release(const io::TensorInfo& info) const {
    if (const TensorEntry* tensor = artifact_->FindTensor(info.name)) artifact_->Release(*tensor);
}

bool IsArtifactFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[8] = {};
    if (!in.read(magic, sizeof magic)) return false;
    return std::memcmp(magic, kHeaderMagic.data(), sizeof magic) == 0;
}

}  // namespace tenpak::artifact
