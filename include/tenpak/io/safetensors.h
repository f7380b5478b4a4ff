// safetensors: Hugging Face's tensor file format, single file and sharded.
// Spec: shared/formats.md section A; docs/formats/safetensors.md for the limits we enforce.
//
//   u64 N (little-endian) | N bytes of JSON header, padded with spaces | data buffer
//   header: {"__metadata__": {str: str}, "<name>": {"dtype": "F16", "shape": [..],
//            "data_offsets": [begin, end]}, ...}   offsets relative to the data buffer
//
// Readers mmap the file and validate the header completely before any tensor is touched: header
// length within the file and at most 100 MB, valid JSON object, no duplicate names, known dtypes,
// end - begin == dtype size x shape, offsets that tile the buffer exactly (first at 0, no holes,
// no overlaps, last ending at the end of the file), `__metadata__` a string-to-string map.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/io/mapped_file.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::io {

constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;  // the reference reader's limit
constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;     // transformers' "5GB"
constexpr std::string_view kSafetensorsIndexName = "model.safetensors.index.json";

struct SafetensorsHeader {
    std::vector<TensorInfo> tensors;  // in data order (ascending offset)
    std::vector<uint64_t> offsets;    // absolute file offset of each tensor's data
    std::map<std::string, std::string> metadata;
    uint64_t data_start = 0;  // 8 + N
};

// Parses and validates the header of a whole file image. Errors name `origin` and the tensor or
// field at fault. Never reads outside `file`.
Result<SafetensorsHeader> ParseSafetensorsHeader(std::span<const std::byte> file, std::string_view origin);
// The same from the first bytes of a file of `file_size` bytes: `prefix` must hold the 8-byte
// length and the whole header (SafetensorsHeaderLength says how long it is). Lets a reader read
// the header with one small pread and never touch the data.
Result<uint64_t> SafetensorsHeaderLength(std::span<const std::byte> prefix, uint64_t file_size,
                                         std::string_view origin);
Result<SafetensorsHeader> ParseSafetensorsHeaderPrefix(std::span<const std::byte> prefix, uint64_t file_size,
                                                       std::string_view origin);

// One .safetensors file as a TensorSource; Read() returns views into the mmap.
class SafetensorsReader final : public TensorSource {
public:
    static Result<std::unique_ptr<SafetensorsReader>> Open(const std::string& path);

    const std::vector<TensorInfo>& tensors() const override { return header_.tensors; }
    using TensorSource::Read;
    Result<TensorData> Read(const TensorInfo& info) const override;
    std::string origin() const override { return file_->path(); }
    void Release(const TensorInfo& info) const override;
    const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

private:
    SafetensorsReader(std::shared_ptr<const MappedFile> file, SafetensorsHeader header);

    std::shared_ptr<const MappedFile> file_;
    SafetensorsHeader header_;
    std::map<std::string, size_t, std::less<>> index_;  // name -> position in header_.tensors
};

// A sharded checkpoint: `model.safetensors.index.json` and the shards its weight_map names.
// Index and shards must agree exactly (every mapped tensor in its shard, no unmapped tensors).
class ShardedSafetensorsSource final : public TensorSource {
public:
    static Result<std::unique_ptr<ShardedSafetensorsSource>> Open(const std::string& index_path);

    const std::vector<TensorInfo>& tensors() const override { return tensors_; }
    using TensorSource::Read;
    Result<TensorData> Read(const TensorInfo& info) const override;
    std::string origin() const override { return index_path_; }
    void Release(const TensorInfo& info) const override;
    size_t shard_count() const { return shards_.size(); }

private:
    ShardedSafetensorsSource() = default;

    std::string index_path_;
    std::vector<std::unique_ptr<SafetensorsReader>> shards_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> shard_of_;  // name -> index into shards_
};

// Writes one .safetensors file, streaming: Begin() writes the header, Write() puts each tensor's
// bytes at its place (any order), Finish() renames the file into place.
// Within the file tensors are ordered by element size (largest first), then name, as the
// reference writer does, so every tensor is naturally aligned in an mmap.
class SafetensorsWriter final : public TensorSink {
public:
    static Result<std::unique_ptr<SafetensorsWriter>> Create(const std::string& path,
                                                             std::map<std::string, std::string> metadata);
    ~SafetensorsWriter() override;

    Status Begin(const std::vector<TensorInfo>& plan) override;
    Status Write(std::string_view name, std::span<const std::byte> data) override;
    Status Finish() override;

private:
    struct Impl;
    explicit SafetensorsWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Writes a checkpoint into a folder as transformers does: `model.safetensors` when everything fits
// in one shard, else `model-00001-of-0000N.safetensors` ... plus `model.safetensors.index.json`.
// Shards are filled greedily in plan order; a tensor larger than the limit gets its own shard.
// The folder must exist (callers use an AtomicDirectory for the whole-folder atomicity).
class ShardedSafetensorsWriter final : public TensorSink {
public:
    struct Options {
        uint64_t max_shard_bytes = kDefaultMaxShardBytes;
        std::map<std::string, std::string> metadata = {{"format", "pt"}};
    };
    static Result<std::unique_ptr<ShardedSafetensorsWriter>> Create(const std::string& dir, Options options);
    ~ShardedSafetensorsWriter() override;

    Status Begin(const std::vector<TensorInfo>& plan) override;
    Status Write(std::string_view name, std::span<const std::byte> data) override;
    Status Finish() override;

    // Shard file names chosen by Begin().
    std::vector<std::string> shard_names() const;

private:
    ShardedSafetensorsWriter(std::string dir, Options options) : dir_(std::move(dir)), options_(std::move(options)) {}

    std::string dir_;
    Options options_;
    std::vector<std::string> shard_names_;
    std::vector<std::unique_ptr<SafetensorsWriter>> shards_;
    std::map<std::string, size_t, std::less<>> shard_of_;
    std::vector<TensorInfo> plan_;
};

// Parses a size such as "5GB", "500MB", "2GiB", "1000000" (bytes) for --max-shard-size.
Result<uint64_t> ParseByteSize(std::string_view text);

}  // namespace tenpak::io
