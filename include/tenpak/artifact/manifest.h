// The .tnpk manifest: which chunks make up which tensor and which file (docs/formats/tnpk.md,
// "Manifest"). Parsing validates every MUST rule that does not need the chunk bytes, so code past
// ParseManifest can index chunks, tensors and files without checks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/dtype.h"
#include "tenpak/core/hash.h"
#include "tenpak/core/result.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::artifact {

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };
std::string_view CompressionName(Compression compression);

struct ChunkEntry {
    Digest hash{};  // of the raw bytes
    uint64_t offset = 0;
    uint64_t raw_size = 0;
    uint64_t stored_size = 0;
    Compression compression = Compression::kNone;
};

struct TensorEntry {
    io::TensorInfo info;
    std::vector<uint32_t> chunks;
    nlohmann::json quantization;  // null when the tensor is not part of a quantized layout
};

// A file's bytes: raw chunks, or one tensor's bytes.
struct Segment {
    std::vector<uint32_t> chunks;  // used when tensor is empty
    std::string tensor;
};

struct FileEntry {
    std::string name;  // relative, '/'-separated
    uint64_t size = 0;
    std::vector<Segment> segments;
};

struct Manifest {
    HashAlgorithm hash = HashAlgorithm::kBlake2b256;
    uint64_t chunk_size = 0;
    std::string source;  // hf, gguf, llama2c, files
    std::string writer;
    uint16_t minor = 0;
    std::vector<ChunkEntry> chunks;
    std::vector<TensorEntry> tensors;
    std::vector<FileEntry> files;
    // Top-level keys beyond the standard ones (a delta's description, say), kept as they are.
    nlohmann::json extra = nlohmann::json::object();

    const TensorEntry* FindTensor(std::string_view name) const;
    const FileEntry* FindFile(std::string_view name) const;
    uint64_t StoredBytes() const;  // of distinct chunks
    uint64_t RawBytes() const;     // of all files, as unpacked
};

// Sorted keys, no whitespace: the same manifest gives the same bytes.
std::string SerializeManifest(const Manifest& manifest);
// Parses and validates: types, ranges, chunk offsets in order inside [64, manifest_offset), tensor
// sizes against dtype x shape and their chunks, files' segments, unique names. Errors name `origin`
// and the tensor, file or chunk.
Result<Manifest> ParseManifest(std::string_view text, uint64_t manifest_offset, std::string_view origin);

// Whether `name` is a safe relative path for unpacking (no "..", no leading '/', no empty parts).
bool IsSafeRelativePath(std::string_view name);

}  // namespace tenpak::artifact
