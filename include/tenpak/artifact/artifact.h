// Reading a .tnpk artifact: two reads to learn everything (footer, then manifest and signature),
// then only the chunks of what is asked for, each checked against its hash before use.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tenpak/artifact/byte_source.h"
#include "tenpak/artifact/format.h"
#include "tenpak/artifact/manifest.h"
#include "tenpak/artifact/signing.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::artifact {

// Thread safety: immutable after Open; reads may run concurrently.
class Artifact {
public:
    // Checks the frame, the manifest against the footer's hash, and every manifest rule. Does not
    // check the signature (CheckTrust) or the chunks (they are checked as they are read).
    static Result<std::shared_ptr<const Artifact>> Open(std::shared_ptr<const ByteSource> bytes);
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
    // A tensor's bytes: a view of the file when its chunks are stored uncompressed one after the
    // other, else assembled.
    Result<io::TensorData> ReadTensor(const TensorEntry& tensor) const;
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
    Footer footer_;
    Manifest manifest_;
    std::optional<Signature> signature_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
};

// An artifact's tensors as a TensorSource, so every command reads .tnpk like any model file.
class ArtifactTensorSource final : public io::TensorSource {
public:
    explicit ArtifactTensorSource(std::shared_ptr<const Artifact> artifact);
    const std::vector<io::TensorInfo>& tensors() const override { return infos_; }
    Result<io::TensorData> Read(const io::TensorInfo& info) const override;
    std::string origin() const override { return artifact_->origin(); }
    void Release(const io::TensorInfo& info) const override;
    const Artifact& artifact() const { return *artifact_; }

private:
    std::shared_ptr<const Artifact> artifact_;
    std::vector<io::TensorInfo> infos_;
};

// Whether the file at `path` starts with the .tnpk magic.
bool IsArtifactFile(const std::string& path);

}  // namespace tenpak::artifact
