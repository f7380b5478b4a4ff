// GGUF (v3; v2 is read too): llama.cpp's single-file model format.
// Spec: ../shared/formats.md section E and docs/formats/gguf.md (what we checked against real files).
//
// File layout (little-endian):
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x (string key, u32 value_type, value)
//   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
//   zero padding to general.alignment (default 32) | tensor data (each tensor padded to alignment)
// Strings are u64 length + bytes. ne[0] is the innermost dimension; TenPak's shapes are
// outermost-first, so the reader reverses ne and the writer reverses shape.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tenpak/io/mapped_file.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::io {

// GGUF metadata value types (ids fixed by the GGUF spec).
enum class GgufType : uint32_t {
    kU8 = 0,
    kI8 = 1,
    kU16 = 2,
    kI16 = 3,
    kU32 = 4,
    kI32 = 5,
    kF32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
    kU64 = 10,
    kI64 = 11,
    kF64 = 12,
};
std::string_view GgufTypeName(GgufType type);

// One metadata value: a scalar, a string, or an array of values of one type (arrays may nest).
class GgufValue {
public:
    struct Array {
        GgufType element_type = GgufType::kU8;
        std::vector<GgufValue> items;
    };

    GgufValue() = default;
    static GgufValue U8(uint8_t v) { return {GgufType::kU8, static_cast<uint64_t>(v)}; }
    static GgufValue I8(int8_t v) { return {GgufType::kI8, static_cast<int64_t>(v)}; }
    static GgufValue U16(uint16_t v) { return {GgufType::kU16, static_cast<uint64_t>(v)}; }
    static GgufValue I16(int16_t v) { return {GgufType::kI16, static_cast<int64_t>(v)}; }
    static GgufValue U32(uint32_t v) { return {GgufType::kU32, static_cast<uint64_t>(v)}; }
    static GgufValue I32(int32_t v) { return {GgufType::kI32, static_cast<int64_t>(v)}; }
    static GgufValue U64(uint64_t v) { return {GgufType::kU64, v}; }
    static GgufValue I64(int64_t v) { return {GgufType::kI64, v}; }
    static GgufValue F32(float v) { return {GgufType::kF32, static_cast<double>(v)}; }
    static GgufValue F64(double v) { return {GgufType::kF64, v}; }
    static GgufValue Bool(bool v) { return {GgufType::kBool, v}; }
    static GgufValue String(std::string v) { return {GgufType::kString, std::move(v)}; }
    static GgufValue MakeArray(GgufType element_type, std::vector<GgufValue> items);
    static GgufValue StringArray(const std::vector<std::string>& items);
    static GgufValue F32Array(const std::vector<float>& items);
    static GgufValue I32Array(const std::vector<int32_t>& items);

    GgufType type() const { return type_; }
    bool is_array() const { return type_ == GgufType::kArray; }

    // Typed access; nullopt when the value is of another kind (an integer of any width answers
    // AsUInt/AsInt when it fits; F32/F64 answer AsFloat).
    std::optional<uint64_t> AsUInt() const;
    std::optional<int64_t> AsInt() const;
    std::optional<double> AsFloat() const;
    std::optional<bool> AsBool() const;
    const std::string* AsString() const;
    const Array* AsArray() const;

    // Short text for `tenpak inspect`: scalars in full, arrays as "[string x 512]" plus the first items.
    std::string Describe() const;

private:
    using Payload = std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<const Array>>;
    // Constructs the payload in place (a by-value Payload parameter trips GCC 12's
    // -Wmaybe-uninitialized under ASan).
    template <typename T>
    GgufValue(GgufType type, T&& value) : type_(type), payload_(std::forward<T>(value)) {}

    GgufType type_ = GgufType::kU8;
    Payload payload_ = uint64_t{0};
};

// Metadata in file order.
using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;
const GgufValue* FindGgufKey(const GgufMetadata& metadata, std::string_view key);

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kGgufDefaultAlignment = 32;

// Everything before the tensor data.
struct GgufHeader {
    uint32_t version = 3;
    GgufMetadata metadata;
    std::vector<TensorInfo> tensors;       // shapes outermost-first
    std::vector<uint64_t> tensor_offsets;  // relative to data_offset, same order as tensors
    uint32_t alignment = kGgufDefaultAlignment;
    uint64_t data_offset = 0;  // absolute file offset of the tensor data
};

// Parses and validates a whole GGUF file image: magic, version 2 or 3, counts that fit in the
// file, every value type, nested arrays, names, dims (<= 4, none negative), known tensor types,
// ne[0] divisible by the block size, alignment a power of two, offsets aligned, in bounds and
// non-overlapping. Errors name `origin` and what is wrong. Never reads outside `file`.
Result<GgufHeader> ParseGgufHeader(std::span<const std::byte> file, std::string_view origin);
// The same from the first bytes of a file of `file_size` bytes (at least everything before the
// tensor data), for files that are not at hand whole (a GGUF packed in a .tnpk artifact).
Result<GgufHeader> ParseGgufHeaderPrefix(std::span<const std::byte> prefix, uint64_t file_size,
                                         std::string_view origin);

// A GGUF file as a TensorSource (mmap'd; Read() returns views of the stored bytes).
class GgufReader final : public TensorSource {
public:
    static Result<std::unique_ptr<GgufReader>> Open(const std::string& path);

    const std::vector<TensorInfo>& tensors() const override { return header_.tensors; }
    using TensorSource::Read;
    Result<TensorData> Read(const TensorInfo& info) const override;
    std::string origin() const override { return file_->path(); }
    void Release(const TensorInfo& info) const override;

    const GgufHeader& header() const { return header_; }
    const GgufMetadata& metadata() const { return header_.metadata; }
    uint32_t version() const { return header_.version; }

private:
    // Position of `info` in header_.tensors (by address when it is one of ours, else by name);
    // tensors().size() when absent.
    size_t IndexOf(const TensorInfo& info) const;

    GgufReader(std::shared_ptr<const MappedFile> file, GgufHeader header)
        : file_(std::move(file)), header_(std::move(header)) {}

    std::shared_ptr<const MappedFile> file_;
    GgufHeader header_;
};

// Writes a GGUF v3 file. Begin() lays out and writes the header (metadata, tensor infos) with each
// tensor's data aligned to `alignment`, in plan order; Write() fills in data; Finish() commits.
// general.alignment is added to the metadata when alignment != 32.
class GgufWriter final : public TensorSink {
public:
    static Result<std::unique_ptr<GgufWriter>> Create(const std::string& path, GgufMetadata metadata,
                                                      uint32_t alignment = kGgufDefaultAlignment);
    ~GgufWriter() override;

    Status Begin(const std::vector<TensorInfo>& plan) override;
    Status Write(std::string_view name, std::span<const std::byte> data) override;
    Status Finish() override;

private:
    struct Impl;
    explicit GgufWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tenpak::io
