// Reading a .tnpk artifact: two reads to learn everything (footer, then manifest and signature),
// then only the chunks of what is asked for, each checked against its hash before use.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tenpak/artifact/byte_source.h"
#include "tenpak/artifact/format.h"
#include "tenpak/artifact/manifest.h"
#include "tenpak/artifact/signing.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::artifact {

// Raw chunks kept by their hash, shared by all artifacts (the remote module's on-disk cache), so
// that a chunk any artifact already brought is not read from the artifact again.
// Thread safety: Get and Put may be called concurrently.
class ChunkStore {
public:
    virtual ~ChunkStore() = default;
    // The bytes kept for this hash, checked against it, or nullopt. Bytes that no longer match
    // (damaged on disk) are dropped by the store and reported as absent, so the chunk is read again.
    virtual std::optional<io::TensorData> Get(HashAlgorithm algorithm, const Digest& hash) const = 0;
    // Keeps a chunk whose raw bytes were checked against `hash`. Failing to keep it is not an error.
    virtual void Put(HashAlgorithm algorithm, const Digest& hash, std::span<const std::byte> raw) const = 0;
};

// Thread safety: immutable after Open; reads may run concurrently.
class Artifact {
public:
    // Checks the frame, the manifest against the footer's hash, and every manifest rule. Does not
    // check the signature (CheckTrust) or the chunks (they are checked as they are read). With a
    // store, chunks are looked up there first and kept there once read.
    static Result<std::shared_ptr<const Artifact>> Open(std::shared_ptr<const ByteSource> bytes,
                                                        std::shared_ptr<const ChunkStore> store = nullptr);
    static Result<std::shared_ptr<const Artifact>> OpenFile(const std::string& path);

    const Manifest& manifest() const { return manifest_; }
    const Footer& footer() const { return footer_; }
    const ByteSource& bytes() const { return *bytes_; }
    std::string origin() const { return bytes_->origin(); }
    // "blake2b-256:<hex>": the hash of the manifest.
    std::string id() const;
    const std::optional<Signature>& signature() const { return signature_; }
    // CheckSignature for this artifact's manifest hash.
    Result<std::string> CheckTrust(const TrustPolicy& policy) const;

    // The raw bytes of a chunk, decompressed and checked against its hash (kIntegrity naming the
    // chunk and what holds it when they differ).
    Result<io::TensorData> ReadChunk(uint32_t index) const;
    // Checks a chunk's stored bytes read from anywhere (a mirror's download, the file): decompresses
    // them a block at a time, hashing each block while it is in cache, into `raw` (raw_size bytes)
    // when given, else into a small scratch that is not kept. kIntegrity names the chunk and its owner.
    Status CheckStoredChunk(uint32_t index, std::span<const std::byte> stored, std::span<std::byte> raw = {}) const;
    // A tensor's bytes: a view of the file when its chunks are stored uncompressed one after the
    // other (and there is no store), else assembled; with `parallel` > 1, several chunks are read at
    // once (remote sources: several connections).
    Result<io::TensorData> ReadTensor(const TensorEntry& tensor, size_t parallel = 1) const;
    const TensorEntry* FindTensor(std::string_view name) const;
    // A whole file (small files: config.json, tokenizers), assembled in memory.
    Result<std::string> ReadFile(std::string_view name) const;
    // Drops the mapped pages of a tensor's chunks (local files).
    void Release(const TensorEntry& tensor) const;
    // What holds chunk `index`, for messages: "tensor 'x'" or "file 'y'".
    std::string ChunkOwner(uint32_t index) const;

private:
    Artifact() = default;
    Status CopyChunk(uint32_t index, std::byte* out) const;

    std::shared_ptr<const ByteSource> bytes_;
    std::shared_ptr<const ChunkStore> store_;
    Footer footer_;
    Manifest manifest_;
    std::optional<Signature> signature_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

// An artifact's tensors as a TensorSource, so every command reads .tnpk like any model file.
class ArtifactTensorSource final : public io::TensorSource {
public:
    // `parallel`: chunks of one tensor read at once (see Artifact::ReadTensor).
    explicit ArtifactTensorSource(std::shared_ptr<const Artifact> artifact, size_t parallel = 1);
    const std::vector<io::TensorInfo>& tensors() const override { return infos_; }
    Result<io::TensorData> Read(const io::TensorInfo& info) const override;
    std::string origin() const override { return artifact_->origin(); }
    void Release(const io::TensorInfo& info) const override;
    const Artifact& artifact() const { return *artifact_; }

private:
    std::shared_ptr<const Artifact> artifact_;
    size_t parallel_;
    std::vector<io::TensorInfo> infos_;
};

// Whether the file at `path` starts with the .tnpk magic.
bool IsArtifactFile(const std::string& path);

}  // namespace tenpak::artifact
