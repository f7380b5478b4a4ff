#include "tenpak/artifact/artifact.h"

#include <zstd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <thread>

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
        if (kept && kept->size() == chunk.raw_size && HashBytes(manifest_.hash, kept->bytes()) == chunk.hash) {
            return std::move(*kept);
        }
        if (kept) store_->Forget(manifest_.hash, chunk.hash);  // damaged where it was kept: read it again
    }
    const auto where = [&] {
        return origin() + ": chunk " + std::to_string(index) + " (" + ChunkOwner(index) + ", stored at " +
               std::to_string(chunk.offset) + ")";
    };
    TP_ASSIGN_OR_RETURN(io::TensorData stored, bytes_->ReadAt(chunk.offset, chunk.stored_size));
    io::TensorData raw;
    if (chunk.compression == Compression::kNone) {
        raw = std::move(stored);
    } else {
        const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
        if (content != chunk.raw_size) {
            return Status::Integrity(where() + ": the zstd frame does not hold " + std::to_string(chunk.raw_size) +
                                     " bytes (damaged)");
        }
        std::vector<std::byte> buffer(chunk.raw_size);
        const size_t n = ZSTD_decompress(buffer.data(), buffer.size(), stored.data(), stored.size());
        if (ZSTD_isError(n) || n != chunk.raw_size) {
            return Status::Integrity(where() + ": cannot be decompressed (" +
                                     std::string(ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short") + "): damaged");
        }
        raw = io::TensorData::Own(std::move(buffer));
    }
    if (HashBytes(manifest_.hash, raw.bytes()) != chunk.hash) {
        return Status::Integrity(where() + ": its bytes do not match its " +
                                 std::string(HashAlgorithmName(manifest_.hash)) + " hash (damaged or tampered)");
    }
    if (store_) store_->Put(manifest_.hash, chunk.hash, raw.bytes());
    return raw;
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
    std::vector<Status> results(n);
    std::atomic<size_t> next{0};
    const auto worker = [&] {
        for (size_t k = next++; k < n; k = next++) {
            results[k] = CopyChunk(tensor.chunks[k], buffer.data() + k * manifest_.chunk_size);
        }
    };
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < std::min(parallel, n); ++t) helpers.emplace_back(worker);
    worker();
    for (std::thread& helper : helpers) helper.join();
    for (const Status& status : results) TP_RETURN_IF_ERROR(status);
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
