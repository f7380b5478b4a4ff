// Writing GGUF v3. The whole layout is fixed by Begin(): the header (metadata in the caller's
// order, then the tensor infos in plan order) is written at once, and tensor i gets the offset
// sum_{k<i} pad(nbytes_k), as ggml's own writer does (gguf.cpp) and as ggml's reader requires. Each
// Write() then lands at its own offset, so tensors may arrive in any order, and writes its zero
// padding too, so the file never depends on holes. With the same metadata, plan and alignment the
// bytes equal llama.cpp's (checked against the golden files, see docs/formats/gguf.md).
#include <algorithm>
#include <array>
#include <bit>
#include <unordered_map>

#include "gguf_internal.h"
#include "tenpak/io/atomic_output.h"
#include "tenpak/io/gguf.h"

namespace tenpak::io {
namespace {

namespace gi = gguf_internal;

// Zero bytes written per call when padding.
constexpr size_t kZeroChunk = 4096;

// Little-endian encoding into a growing buffer.
class Encoder {
public:
    template <typename T>
    void UInt(T v) {
        static_assert(std::is_unsigned_v<T>);
        for (size_t i = 0; i < sizeof(T); ++i) bytes_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFF));
    }
    void String(std::string_view text) {
        UInt<uint64_t>(text.size());
        const auto* data = reinterpret_cast<const std::byte*>(text.data());
        bytes_.insert(bytes_.end(), data, data + text.size());
    }
    // The value's payload, without its type tag (arrays: element type, count, items).
    void Value(const GgufValue& value) {
        switch (value.type()) {
            case GgufType::kU8:
                return UInt(static_cast<uint8_t>(*value.AsUInt()));
            case GgufType::kI8:
                return UInt(static_cast<uint8_t>(*value.AsInt()));
            case GgufType::kU16:
                return UInt(static_cast<uint16_t>(*value.AsUInt()));
            case GgufType::kI16:
                return UInt(static_cast<uint16_t>(*value.AsInt()));
            case GgufType::kU32:
                return UInt(static_cast<uint32_t>(*value.AsUInt()));
            case GgufType::kI32:
                return UInt(static_cast<uint32_t>(*value.AsInt()));
            case GgufType::kU64:
                return UInt(*value.AsUInt());
            case GgufType::kI64:
                return UInt(static_cast<uint64_t>(*value.AsInt()));
            case GgufType::kF32:
                return UInt(std::bit_cast<uint32_t>(static_cast<float>(*value.AsFloat())));
            case GgufType::kF64:
                return UInt(std::bit_cast<uint64_t>(*value.AsFloat()));
            case GgufType::kBool:
                return UInt(static_cast<uint8_t>(*value.AsBool() ? 1 : 0));
            case GgufType::kString:
                return String(*value.AsString());
            case GgufType::kArray: {
                const GgufValue::Array& array = *value.AsArray();
                UInt(static_cast<uint32_t>(array.element_type));
                UInt<uint64_t>(array.items.size());
                for (const GgufValue& item : array.items) Value(item);
                return;
            }
        }
    }
    std::vector<std::byte>& bytes() { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

// Items of an array must all have its element type (the format stores the type once).
Status ValidateValue(const GgufValue& value, int depth, const std::string& where) {
    if (!gi::IsKnownType(static_cast<uint32_t>(value.type()))) {
        return Status::InvalidArgument(where + " has an invalid value type");
    }
    if (!value.is_array()) return Status::Ok();
    if (depth + 1 > gi::kMaxArrayDepth) {
        return Status::InvalidArgument(where + " nests arrays deeper than " + std::to_string(gi::kMaxArrayDepth));
    }
    const GgufValue::Array& array = *value.AsArray();
    if (!gi::IsKnownType(static_cast<uint32_t>(array.element_type))) {
        return Status::InvalidArgument(where + " is an array of an invalid value type");
    }
    for (size_t item_idx = 0; item_idx < array.items.size(); ++item_idx) {
        const GgufValue& item = array.items[item_idx];
        if (item.type() != array.element_type) {
            return Status::InvalidArgument(where + " is an array of " + std::string(GgufTypeName(array.element_type)) +
                                           " but item " + std::to_string(item_idx) + " is a " +
                                           std::string(GgufTypeName(item.type())));
        }
        TP_RETURN_IF_ERROR(ValidateValue(item, depth + 1, where));
    }
    return Status::Ok();
}

Status ValidateMetadata(const GgufMetadata& metadata, const std::string& path) {
    std::unordered_map<std::string_view, size_t> seen;
    for (size_t kv_idx = 0; kv_idx < metadata.size(); ++kv_idx) {
        const std::string& key = metadata[kv_idx].first;
        if (key.empty() || key.size() > gi::kMaxKeyBytes) {
            return Status::InvalidArgument(path + ": metadata entry #" + std::to_string(kv_idx) + " has a key of " +
                                           std::to_string(key.size()) + " bytes (GGUF allows 1 to " +
                                           std::to_string(gi::kMaxKeyBytes) + ")");
        }
        if (!seen.emplace(key, kv_idx).second) {
            return Status::InvalidArgument(path + ": metadata key " + gi::QuoteName(key) + " is given twice");
        }
        TP_RETURN_IF_ERROR(ValidateValue(metadata[kv_idx].second, 0, path + ": metadata key " + gi::QuoteName(key)));
    }
    return Status::Ok();
}

Status WriteZeros(AtomicFile& file, uint64_t begin, uint64_t end) {
    static constexpr std::array<std::byte, kZeroChunk> kZeros{};
    for (uint64_t pos = begin; pos < end; pos += kZeroChunk) {
        const size_t count = static_cast<size_t>(std::min<uint64_t>(kZeroChunk, end - pos));
        TP_RETURN_IF_ERROR(file.WriteAt(pos, std::span<const std::byte>(kZeros.data(), count)));
    }
    return Status::Ok();
}

}  // namespace

struct GgufWriter::Impl {
    Impl(AtomicFile output, GgufMetadata meta, uint32_t align)
        : file(std::move(output)), metadata(std::move(meta)), alignment(align) {}

    AtomicFile file;
    GgufMetadata metadata;
    uint32_t alignment;
    bool begun = false;
    bool finished = false;
    std::vector<TensorInfo> plan;
    std::vector<uint64_t> offsets;  // absolute file offsets, plan order
    std::vector<bool> written;
    std::unordered_map<std::string, size_t> index;  // name -> plan position

    const std::string& path() const { return file.path(); }
};

Result<std::unique_ptr<GgufWriter>> GgufWriter::Create(const std::string& path, GgufMetadata metadata,
                                                       uint32_t alignment) {
    if (!gi::IsPowerOfTwo(alignment)) {
        return Status::InvalidArgument(path + ": GGUF alignment " + std::to_string(alignment) +
                                       " is not a power of two");
    }
    TP_RETURN_IF_ERROR(ValidateMetadata(metadata, path));
    if (const GgufValue* given = FindGgufKey(metadata, gi::kAlignmentKey)) {
        if (given->type() != GgufType::kU32 || given->AsUInt() != alignment) {
            return Status::InvalidArgument(path + ": metadata key \"" + std::string(gi::kAlignmentKey) + "\" (" +
                                           std::string(GgufTypeName(given->type())) + " " + given->Describe() +
                                           ") disagrees with the alignment " + std::to_string(alignment) +
                                           "; it must be a u32 equal to it, or be left out");
        }
    } else if (alignment != kGgufDefaultAlignment) {
        metadata.emplace_back(std::string(gi::kAlignmentKey), GgufValue::U32(alignment));
    }
    TP_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
    return std::unique_ptr<GgufWriter>(
        new GgufWriter(std::make_unique<Impl>(std::move(file), std::move(metadata), alignment)));
}

GgufWriter::GgufWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GgufWriter::~GgufWriter() = default;  // an unfinished AtomicFile removes its temporary file

Status GgufWriter::Begin(const std::vector<TensorInfo>& plan) {
    Impl& s = *impl_;
    if (s.begun || s.finished) return Status::InvalidArgument(s.path() + ": Begin() called twice");
    TP_RETURN_IF_ERROR(ValidatePlan(plan, s.path()));
    for (const TensorInfo& info : plan) {
        const std::string where = s.path() + ": tensor " + gi::QuoteName(info.name);
        if (!Traits(info.dtype).ggml_type) {
            return Status::Unsupported(where + " is " + std::string(DTypeName(info.dtype)) +
                                       ", which GGUF cannot store");
        }
        if (info.name.size() > gi::kMaxTensorNameBytes) {
            return Status::InvalidArgument(where + " has a name of " + std::to_string(info.name.size()) +
                                           " bytes; GGUF allows at most " + std::to_string(gi::kMaxTensorNameBytes));
        }
        if (info.shape.size() > gi::kMaxDims) {
            return Status::InvalidArgument(where + " has " + std::to_string(info.shape.size()) +
                                           " dimensions; GGUF allows at most " + std::to_string(gi::kMaxDims));
        }
    }

    Encoder header;
    header.UInt(kGgufMagic);
    header.UInt(gi::kWriteVersion);
    header.UInt<uint64_t>(plan.size());
    header.UInt<uint64_t>(s.metadata.size());
    for (const auto& [key, value] : s.metadata) {
        header.String(key);
        header.UInt(static_cast<uint32_t>(value.type()));
        header.Value(value);
    }
    std::vector<uint64_t> relative(plan.size());
    uint64_t data_size = 0;
    for (size_t tensor_idx = 0; tensor_idx < plan.size(); ++tensor_idx) {
        const TensorInfo& info = plan[tensor_idx];
        header.String(info.name);
        header.UInt(static_cast<uint32_t>(info.shape.size()));
        for (auto dim = info.shape.rbegin(); dim != info.shape.rend(); ++dim) {
            header.UInt(static_cast<uint64_t>(*dim));  // ne[0] is the innermost dimension
        }
        header.UInt(*Traits(info.dtype).ggml_type);
        header.UInt(data_size);
        relative[tensor_idx] = data_size;
        const uint64_t padded = gi::AlignUp(info.nbytes, s.alignment);
        if (padded < info.nbytes || data_size > UINT64_MAX / 2 - padded) {
            return Status::InvalidArgument(s.path() + ": the planned tensors are too large for one file");
        }
        data_size += padded;
    }
    const uint64_t header_size = header.bytes().size();
    const uint64_t data_offset = gi::AlignUp(header_size, s.alignment);
    TP_RETURN_IF_ERROR(s.file.WriteAt(0, header.bytes()));
    TP_RETURN_IF_ERROR(WriteZeros(s.file, header_size, data_offset));

    s.plan = plan;
    s.offsets.resize(plan.size());
    for (size_t tensor_idx = 0; tensor_idx < plan.size(); ++tensor_idx) {
        s.offsets[tensor_idx] = data_offset + relative[tensor_idx];
        s.index.emplace(plan[tensor_idx].name, tensor_idx);
    }
    s.written.assign(plan.size(), false);
    s.begun = true;
    return Status::Ok();
}

Status GgufWriter::Write(std::string_view name, std::span<const std::byte> data) {
    Impl& s = *impl_;
    if (!s.begun || s.finished) {
        return Status::InvalidArgument(s.path() + ": Write() of tensor " + gi::QuoteName(name) +
                                       (s.finished ? " after Finish()" : " before Begin()"));
    }
    const auto it = s.index.find(std::string(name));
    if (it == s.index.end()) {
        return Status::InvalidArgument(s.path() + ": tensor " + gi::QuoteName(name) + " is not in the plan");
    }
    const size_t tensor_idx = it->second;
    const TensorInfo& info = s.plan[tensor_idx];
    if (s.written[tensor_idx]) {
        return Status::InvalidArgument(s.path() + ": tensor " + gi::QuoteName(name) + " is written twice");
    }
    if (data.size() != info.nbytes) {
        return Status::InvalidArgument(s.path() + ": tensor " + gi::QuoteName(name) + " (" +
                                       std::string(DTypeName(info.dtype)) + " " + info.ShapeString() + ") needs " +
                                       std::to_string(info.nbytes) + " bytes, got " + std::to_string(data.size()));
    }
    const uint64_t offset = s.offsets[tensor_idx];
    TP_RETURN_IF_ERROR(s.file.WriteAt(offset, data));
    TP_RETURN_IF_ERROR(WriteZeros(s.file, offset + info.nbytes, offset + gi::AlignUp(info.nbytes, s.alignment)));
    s.written[tensor_idx] = true;
    return Status::Ok();
}

Status GgufWriter::Finish() {
    Impl& s = *impl_;
    if (!s.begun || s.finished) {
        return Status::InvalidArgument(s.path() + ": Finish() " + (s.finished ? "called twice" : "before Begin()"));
    }
    for (size_t tensor_idx = 0; tensor_idx < s.plan.size(); ++tensor_idx) {
        if (!s.written[tensor_idx]) {
            return Status::InvalidArgument(s.path() + ": tensor " + gi::QuoteName(s.plan[tensor_idx].name) +
                                           " was planned but never written");
        }
    }
    TP_RETURN_IF_ERROR(s.file.Commit());
    s.finished = true;
    return Status::Ok();
}

}  // namespace tenpak::io
