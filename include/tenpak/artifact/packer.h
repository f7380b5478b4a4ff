// Packing files and tensors into a .tnpk artifact: each file is cut into segments (its tensors and
// the bytes between them), each segment into chunks of at most chunk_size raw bytes, each chunk
// hashed, compressed when that pays, and stored once.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/artifact/format.h"
#include "tenpak/artifact/signing.h"
#include "tenpak/io/mapped_file.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::artifact {

// A byte range of an input file: one tensor's data, or the bytes around tensors (headers, padding).
struct InputPiece {
    std::string tensor;  // empty: raw bytes
    uint64_t offset = 0;
    uint64_t size = 0;
};

struct InputFile {
    std::string name;  // relative path inside the artifact
    std::shared_ptr<const io::MappedFile> file;
    std::vector<InputPiece> pieces;  // cover the file exactly, in order
};

struct PackInput {
    std::string source;  // "hf", "gguf", "llama2c", "files"
    std::vector<InputFile> files;
    std::vector<io::TensorInfo> tensors;  // in file order
};

// Describes what packing `path` means: an HF folder (every regular file under it, hidden ones
// skipped; safetensors files split into their header and tensors), a GGUF file, a llama2.c
// checkpoint, or any other single file (raw bytes). Errors name the file.
Result<PackInput> DescribePackInput(const std::string& path);

struct PackOptions {
    int zstd_level = 3;
    uint64_t chunk_size = kDefaultChunkSize;
    // SHA-256 runs on the CPU's SHA instructions (x86 SHA-NI, ARMv8): faster than BLAKE2b there.
    HashAlgorithm hash = HashAlgorithm::kSha256;
    std::optional<SigningKey> signing_key;
    size_t threads = 0;  // 0: every core
    bool progress = true;
    // Quantization metadata for a tensor (null when none), written into its manifest entry.
    std::function<nlohmann::json(const io::TensorInfo&)> describe_quantization;
};

struct PackReport {
    std::string id;  // "blake2b-256:<hex>"
    uint64_t raw_bytes = 0;     // of the files packed
    uint64_t stored_bytes = 0;  // of the artifact file
    uint64_t chunks = 0;        // stored
    uint64_t duplicate_chunks = 0;
    uint64_t compressed_chunks = 0;
    uint64_t tensors = 0;
    uint64_t files = 0;
    bool signed_artifact = false;
};

// Writes the artifact to `out_path` atomically (temporary name, then rename). Deterministic: the
// same input and options give the same bytes.
Result<PackReport> Pack(const PackInput& input, const std::string& out_path, const PackOptions& options);

// Writes an artifact piece by piece, for producers whose bytes are not files on disk (a delta's
// encoded tensors): files made of raw byte runs and tensors, in the order given. Pack() is this
// over mapped files. Chunking, compression, de-duplication, signing and the atomic rename are the
// same. Not thread-safe.
class ArtifactWriter {
public:
    // `source` is the manifest's "source"; `progress_total` sizes the progress bar (0: none).
    static Result<std::unique_ptr<ArtifactWriter>> Create(const std::string& out_path, const PackOptions& options,
                                                          std::string source, uint64_t progress_total);
    ~ArtifactWriter();
    ArtifactWriter(const ArtifactWriter&) = delete;
    ArtifactWriter& operator=(const ArtifactWriter&) = delete;

    Status BeginFile(const std::string& name);
    // A run of the current file's bytes that belongs to no tensor (a header, padding).
    Status AddBytes(std::span<const std::byte> bytes);
    // A tensor, which is also the next bytes of the current file. REQUIRES bytes.size() == info.nbytes.
    Status AddTensor(const io::TensorInfo& info, std::span<const std::byte> bytes,
                     nlohmann::json quantization = nullptr);
    Status EndFile();
    // A top-level manifest key beside the standard ones (readers that do not know it ignore it).
    void SetManifestExtra(const std::string& key, nlohmann::json value);
    // Called with each run of bytes once it is stored, so that a caller streaming a mapped file can
    // drop its pages as it goes (memory of a few chunks, not of a whole tensor).
    void SetReleaseHook(std::function<void(std::span<const std::byte>)> hook);
    // Manifest, signature, footer; then the file appears under its name. Dropping the writer
    // without Finish() leaves nothing.
    Result<PackReport> Finish();

private:
    struct Impl;
    explicit ArtifactWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tenpak::artifact
