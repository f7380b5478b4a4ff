// Reading GGUF: ParseGgufHeader validates a whole file image, GgufReader serves tensors out of an
// mmap of the file.
//
// The parser reads through a bounds-checked Cursor and never trusts a count: before it reserves or
// loops over `n` items it checks that `n` items of the smallest possible encoding fit in the bytes
// left, so a count of 2^60 in a 100-byte file is a kCorruption error, not a bad_alloc or a long
// loop. Everything a later Read() relies on (offsets aligned, in range, not overlapping; sizes from
// TensorByteSize) is checked here, once. Limits are in gguf_internal.h; docs/formats/gguf.md lists
// them with the reasons.
#include <algorithm>
#include <array>
#include <bit>
#include <functional>
#include <numeric>
#include <string>
#include <unordered_map>

#include "gguf_internal.h"
#include "tenpak/io/gguf.h"

namespace tenpak::io {
namespace {

namespace gi = gguf_internal;

// ggml types that GGUF files may hold but TenPak does not read (ids from ggml.h), so that the
// message can name them. Ids 4, 5 (Q4_2, Q4_3), 31-33 and 36-38 were retired by ggml.
struct GgmlTypeName {
    uint32_t id;
    std::string_view name;
};
constexpr std::array<GgmlTypeName, 14> kUnreadGgmlTypes = {{
    {16, "IQ2_XXS"},
    {17, "IQ2_XS"},
    {18, "IQ3_XXS"},
    {19, "IQ1_S"},
    {20, "IQ4_NL"},
    {21, "IQ3_S"},
    {22, "IQ2_S"},
    {23, "IQ4_XS"},
    {29, "IQ1_M"},
    {34, "TQ1_0"},
    {35, "TQ2_0"},
    {39, "MXFP4"},
    {40, "NVFP4"},
    {41, "Q1_0"},
}};

std::string_view UnreadGgmlTypeName(uint32_t id) {
    for (const GgmlTypeName& entry : kUnreadGgmlTypes) {
        if (entry.id == id) return entry.name;
    }
    return "";
}

// The magic bytes as text for the "not a GGUF file" message: printable ASCII as is, others \xNN.
std::string ShowBytes(std::span<const std::byte> bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (std::byte b : bytes) {
        const auto c = static_cast<unsigned char>(b);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    }
    return out + "\"";
}

// Little-endian reads from the file image; each names the field being read, so that a truncated
// file reports what it was cut in and where.
class Cursor {
public:
    Cursor(std::span<const std::byte> bytes, std::string_view origin) : bytes_(bytes), origin_(origin) {}

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return bytes_.size() - pos_; }

    template <typename T>
    Status ReadUInt(T* out, std::string_view what) {
        static_assert(std::is_unsigned_v<T>);
        if (remaining() < sizeof(T)) return Truncated(what, sizeof(T));
        T value = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
            value |= static_cast<T>(static_cast<T>(bytes_[pos_ + i]) << (8 * i));
        }
        pos_ += sizeof(T);
        *out = value;
        return Status::Ok();
    }

    // A GGUF string: u64 length, then that many bytes (no NUL).
    Status ReadString(std::string* out, std::string_view what) {
        uint64_t length = 0;
        TP_RETURN_IF_ERROR(ReadUInt(&length, what));
        if (length > remaining()) {
            return Status::Corruption(std::string(origin_) + ": " + std::string(what) + " has length " +
                                      std::to_string(length) + " at offset " + std::to_string(pos_ - 8) +
                                      ", past the end of the file (" + std::to_string(remaining()) + " bytes left)");
        }
        out->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
        pos_ += length;
        return Status::Ok();
    }

    Status Truncated(std::string_view what, uint64_t need) const {
        return Status::Corruption(std::string(origin_) + ": file is truncated in " + std::string(what) + ": it needs " +
                                  std::to_string(need) + " bytes at offset " + std::to_string(pos_) +
                                  " but the file has " + std::to_string(bytes_.size()) + " bytes");
    }

private:
    std::span<const std::byte> bytes_;
    std::string_view origin_;
    uint64_t pos_ = 0;
};

class HeaderParser {
public:
    // `file` holds at least the header; `file_size` is the whole file's size (tensors are checked
    // against it).
    HeaderParser(std::span<const std::byte> file, uint64_t file_size, std::string_view origin)
        : file_(file), file_size_(file_size), origin_(origin), cursor_(file, origin) {}

    Result<GgufHeader> Parse() {
        uint64_t tensor_count = 0;
        uint64_t kv_count = 0;
        TP_RETURN_IF_ERROR(ParseFixedHeader(&tensor_count, &kv_count));
        TP_RETURN_IF_ERROR(ParseMetadata(kv_count));
        TP_RETURN_IF_ERROR(ParseAlignment());
        TP_RETURN_IF_ERROR(ParseTensorInfos(tensor_count));
        header_.data_offset = gi::AlignUp(cursor_.pos(), header_.alignment);
        TP_RETURN_IF_ERROR(CheckTensorPlacement());
        return std::move(header_);
    }

private:
    std::string Prefix() const { return std::string(origin_) + ": "; }

    Status CheckCount(uint64_t count, uint64_t min_item_bytes, std::string_view field, std::string_view items) const {
        if (count <= cursor_.remaining() / min_item_bytes) return Status::Ok();
        return Status::Corruption(Prefix() + std::string(field) + " is " + std::to_string(count) + ", but only " +
                                  std::to_string(cursor_.remaining()) + " bytes follow offset " +
                                  std::to_string(cursor_.pos()) + " and each of the " + std::string(items) +
                                  " takes at least " + std::to_string(min_item_bytes));
    }

    Status ParseFixedHeader(uint64_t* tensor_count, uint64_t* kv_count) {
        constexpr size_t kMagicBytes = 4;
        uint32_t magic = 0;
        if (!cursor_.ReadUInt(&magic, "the magic").ok() || magic != kGgufMagic) {
            const size_t shown = std::min(file_.size(), kMagicBytes);
            return Status::InvalidArgument(Prefix() + "not a GGUF file: it starts with " +
                                           ShowBytes(file_.first(shown)) + " where a GGUF file has \"GGUF\"");
        }
        TP_RETURN_IF_ERROR(cursor_.ReadUInt(&header_.version, "the version"));
        const uint32_t version = header_.version;
        if (version < gi::kMinVersion || version > gi::kMaxVersion) {
            const uint32_t swapped =
                (version >> 24) | ((version >> 8) & 0xFF00u) | ((version << 8) & 0xFF0000u) | (version << 24);
            if (swapped >= gi::kMinVersion && swapped <= gi::kMaxVersion) {
                return Status::Unsupported(Prefix() + "GGUF version field reads " + std::to_string(version) +
                                           ": this is a big-endian GGUF file, which TenPak does not read");
            }
            std::string msg = Prefix() + "GGUF version " + std::to_string(version) + " is not supported";
            if (version == 1) msg += " (version 1 used 32-bit counts; convert the model again with current llama.cpp)";
            return Status::Unsupported(msg + "; TenPak reads versions 2 and 3");
        }
        TP_RETURN_IF_ERROR(cursor_.ReadUInt(tensor_count, "tensor_count"));
        TP_RETURN_IF_ERROR(cursor_.ReadUInt(kv_count, "metadata_kv_count"));
        TP_RETURN_IF_ERROR(CheckCount(*kv_count, gi::kMinKvBytes, "metadata_kv_count", "key/value pairs"));
        return CheckCount(*tensor_count, gi::kMinTensorInfoBytes, "tensor_count", "tensor infos");
    }

    Status ParseMetadata(uint64_t kv_count) {
        header_.metadata.reserve(kv_count);
        std::unordered_map<std::string_view, uint64_t> seen;
        for (uint64_t kv_idx = 0; kv_idx < kv_count; ++kv_idx) {
            const std::string entry = "metadata entry #" + std::to_string(kv_idx);
            std::string key;
            TP_RETURN_IF_ERROR(cursor_.ReadString(&key, "the key of " + entry));
            if (key.size() > gi::kMaxKeyBytes) {
                return Status::Corruption(Prefix() + "the key of " + entry + " is " + std::to_string(key.size()) +
                                          " bytes; GGUF keys have at most " + std::to_string(gi::kMaxKeyBytes));
            }
            const std::string where = "key " + gi::QuoteName(key);
            uint32_t type = 0;
            TP_RETURN_IF_ERROR(cursor_.ReadUInt(&type, "the value type of " + where));
            if (!gi::IsKnownType(type)) {
                return Status::Corruption(Prefix() + where + " has unknown value type " + std::to_string(type) +
                                          " (GGUF value types are 0..12)");
            }
            value_what_ = "the value of " + where;
            TP_ASSIGN_OR_RETURN(GgufValue value, ReadValue(static_cast<GgufType>(type), 0, where));
            header_.metadata.emplace_back(std::move(key), std::move(value));
        }
        // Keys are checked for duplicates once the vector no longer moves (the views point into it).
        for (uint64_t kv_idx = 0; kv_idx < header_.metadata.size(); ++kv_idx) {
            const auto [it, inserted] = seen.emplace(header_.metadata[kv_idx].first, kv_idx);
            if (!inserted) {
                return Status::Corruption(Prefix() + "key " + gi::QuoteName(it->first) +
                                          " appears twice (metadata entries #" + std::to_string(it->second) + " and #" +
                                          std::to_string(kv_idx) + ")");
            }
        }
        return Status::Ok();
    }

    // One value of `type`; `depth` is the number of arrays it sits in. `where` names the key (and
    // value_what_ is "the value of <where>").
    Result<GgufValue> ReadValue(GgufType type, int depth, const std::string& where) {
        switch (type) {
            case GgufType::kU8: {
                uint8_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::U8(v);
            }
            case GgufType::kI8: {
                uint8_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::I8(static_cast<int8_t>(v));
            }
            case GgufType::kU16: {
                uint16_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::U16(v);
            }
            case GgufType::kI16: {
                uint16_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::I16(static_cast<int16_t>(v));
            }
            case GgufType::kU32: {
                uint32_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::U32(v);
            }
            case GgufType::kI32: {
                uint32_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::I32(static_cast<int32_t>(v));
            }
            case GgufType::kU64: {
                uint64_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::U64(v);
            }
            case GgufType::kI64: {
                uint64_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::I64(static_cast<int64_t>(v));
            }
            case GgufType::kF32: {
                uint32_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::F32(std::bit_cast<float>(v));
            }
            case GgufType::kF64: {
                uint64_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                return GgufValue::F64(std::bit_cast<double>(v));
            }
            case GgufType::kBool: {
                uint8_t v = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&v, value_what_));
                if (v > 1) {
                    return Status::Corruption(Prefix() + where + " holds bool byte " + std::to_string(v) +
                                              " at offset " + std::to_string(cursor_.pos() - 1) +
                                              "; a GGUF bool is 0 or 1");
                }
                return GgufValue::Bool(v == 1);
            }
            case GgufType::kString: {
                std::string v;
                TP_RETURN_IF_ERROR(cursor_.ReadString(&v, value_what_));
                return GgufValue::String(std::move(v));
            }
            case GgufType::kArray:
                return ReadArray(depth + 1, where);
        }
        return Status::Internal(Prefix() + where + ": unhandled value type");  // types are checked by callers
    }

    Result<GgufValue> ReadArray(int depth, const std::string& where) {
        if (depth > gi::kMaxArrayDepth) {
            return Status::Unsupported(Prefix() + where + " nests arrays " + std::to_string(depth) +
                                       " deep; TenPak reads at most " + std::to_string(gi::kMaxArrayDepth));
        }
        uint32_t element_type = 0;
        TP_RETURN_IF_ERROR(cursor_.ReadUInt(&element_type, "the array element type of " + where));
        if (!gi::IsKnownType(element_type)) {
            return Status::Corruption(Prefix() + where + " is an array of unknown value type " +
                                      std::to_string(element_type) + " (GGUF value types are 0..12)");
        }
        const auto type = static_cast<GgufType>(element_type);
        uint64_t count = 0;
        TP_RETURN_IF_ERROR(cursor_.ReadUInt(&count, "the array count of " + where));
        TP_RETURN_IF_ERROR(CheckCount(count, gi::MinValueBytes(type), "the array count of " + where,
                                      std::string(GgufTypeName(type)) + " items"));
        if (count > gi::kMaxMetadataItems - metadata_items_) {
            return Status::ResourceExhausted(Prefix() + "the array count of " + where + " is " + std::to_string(count) +
                                             ", which takes the metadata past TenPak's limit of " +
                                             std::to_string(gi::kMaxMetadataItems) + " array items");
        }
        metadata_items_ += count;
        std::vector<GgufValue> items;
        items.reserve(count);
        for (uint64_t item_idx = 0; item_idx < count; ++item_idx) {
            TP_ASSIGN_OR_RETURN(GgufValue item, ReadValue(type, depth, where));
            items.push_back(std::move(item));
        }
        return GgufValue::MakeArray(type, std::move(items));
    }

    Status ParseAlignment() {
        const GgufValue* value = FindGgufKey(header_.metadata, gi::kAlignmentKey);
        if (value == nullptr) return Status::Ok();
        if (value->type() != GgufType::kU32) {
            return Status::Corruption(Prefix() + "key \"" + std::string(gi::kAlignmentKey) + "\" has type " +
                                      std::string(GgufTypeName(value->type())) + "; it must be u32");
        }
        const uint64_t alignment = value->AsUInt().value_or(0);
        if (!gi::IsPowerOfTwo(alignment)) {
            return Status::Corruption(Prefix() + "key \"" + std::string(gi::kAlignmentKey) + "\" is " +
                                      std::to_string(alignment) + "; it must be a power of two");
        }
        header_.alignment = static_cast<uint32_t>(alignment);
        return Status::Ok();
    }

    Status ParseTensorInfos(uint64_t tensor_count) {
        TP_RETURN_IF_ERROR(CheckCount(tensor_count, gi::kMinTensorInfoBytes, "tensor_count", "tensor infos"));
        header_.tensors.reserve(tensor_count);
        header_.tensor_offsets.reserve(tensor_count);
        std::unordered_map<std::string, uint64_t> seen;
        for (uint64_t tensor_idx = 0; tensor_idx < tensor_count; ++tensor_idx) {
            const std::string entry = "tensor info #" + std::to_string(tensor_idx);
            TensorInfo info;
            TP_RETURN_IF_ERROR(cursor_.ReadString(&info.name, "the name of " + entry));
            if (info.name.empty()) return Status::Corruption(Prefix() + entry + " has an empty name");
            const std::string where = "tensor " + gi::QuoteName(info.name);
            if (info.name.size() > gi::kMaxTensorNameBytes) {
                return Status::Corruption(Prefix() + where + " (" + entry + ") has a name of " +
                                          std::to_string(info.name.size()) + " bytes; GGUF allows at most " +
                                          std::to_string(gi::kMaxTensorNameBytes));
            }
            const auto [it, inserted] = seen.emplace(info.name, tensor_idx);
            if (!inserted) {
                return Status::Corruption(Prefix() + where + " appears twice (tensor infos #" +
                                          std::to_string(it->second) + " and #" + std::to_string(tensor_idx) + ")");
            }
            uint32_t n_dims = 0;
            TP_RETURN_IF_ERROR(cursor_.ReadUInt(&n_dims, "n_dims of " + where));
            if (n_dims > gi::kMaxDims) {
                return Status::Corruption(Prefix() + where + " has n_dims " + std::to_string(n_dims) +
                                          "; GGUF tensors have at most " + std::to_string(gi::kMaxDims));
            }
            info.shape.assign(n_dims, 0);
            for (uint32_t dim_idx = 0; dim_idx < n_dims; ++dim_idx) {
                uint64_t ne = 0;
                TP_RETURN_IF_ERROR(cursor_.ReadUInt(&ne, "ne of " + where));
                if (ne > static_cast<uint64_t>(INT64_MAX)) {
                    return Status::Corruption(Prefix() + where + " has ne[" + std::to_string(dim_idx) +
                                              "] = " + std::to_string(ne) + ", which does not fit in int64");
                }
                info.shape[n_dims - 1 - dim_idx] = static_cast<int64_t>(ne);  // ne[0] is innermost
            }
            uint32_t ggml_type = 0;
            TP_RETURN_IF_ERROR(cursor_.ReadUInt(&ggml_type, "the ggml_type of " + where));
            const std::optional<DType> dtype = DTypeFromGgmlType(ggml_type);
            if (!dtype) {
                const std::string_view known = UnreadGgmlTypeName(ggml_type);
                return Status::Unsupported(Prefix() + where + " has ggml type " + std::to_string(ggml_type) +
                                           (known.empty() ? "" : " (" + std::string(known) + ")") +
                                           ", which TenPak does not read");
            }
            info.dtype = *dtype;
            Result<uint64_t> nbytes = TensorByteSize(info.dtype, info.shape);
            if (!nbytes.ok()) {
                return Status::Corruption(Prefix() + where + " (" + std::string(DTypeName(info.dtype)) + " " +
                                          info.ShapeString() + "): " + nbytes.status().message());
            }
            info.nbytes = *nbytes;
            uint64_t offset = 0;
            TP_RETURN_IF_ERROR(cursor_.ReadUInt(&offset, "the offset of " + where));
            header_.tensors.push_back(std::move(info));
            header_.tensor_offsets.push_back(offset);
        }
        return Status::Ok();
    }

    // Offsets aligned, every tensor inside the file, no two overlapping.
    Status CheckTensorPlacement() const {
        const uint64_t file_size = file_size_;
        const std::vector<TensorInfo>& tensors = header_.tensors;
        const std::vector<uint64_t>& offsets = header_.tensor_offsets;
        for (size_t tensor_idx = 0; tensor_idx < tensors.size(); ++tensor_idx) {
            const std::string where = "tensor " + gi::QuoteName(tensors[tensor_idx].name);
            const uint64_t offset = offsets[tensor_idx];
            const uint64_t nbytes = tensors[tensor_idx].nbytes;
            if (offset % header_.alignment != 0) {
                return Status::Corruption(Prefix() + where + " has offset " + std::to_string(offset) +
                                          ", which is not a multiple of the alignment " +
                                          std::to_string(header_.alignment));
            }
            if (header_.data_offset > file_size || offset > file_size - header_.data_offset ||
                nbytes > file_size - header_.data_offset - offset) {
                return Status::Corruption(Prefix() + where + " (" + std::to_string(nbytes) + " bytes at offset " +
                                          std::to_string(offset) + " of the data section, which starts at " +
                                          std::to_string(header_.data_offset) + ") ends past the end of the file (" +
                                          std::to_string(file_size) + " bytes); the file may be truncated");
            }
        }
        std::vector<size_t> order(tensors.size());
        std::iota(order.begin(), order.end(), size_t{0});
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return offsets[a] < offsets[b]; });
        uint64_t max_end = 0;
        size_t max_end_owner = 0;
        for (size_t idx : order) {
            const uint64_t end = offsets[idx] + tensors[idx].nbytes;  // cannot overflow: checked above
            if (tensors[idx].nbytes > 0 && offsets[idx] < max_end) {
                return Status::Corruption(
                    Prefix() + "tensor " + gi::QuoteName(tensors[idx].name) + " (bytes " +
                    std::to_string(offsets[idx]) + ".." + std::to_string(end) +
                    " of the data section) overlaps tensor " + gi::QuoteName(tensors[max_end_owner].name) + " (bytes " +
                    std::to_string(offsets[max_end_owner]) + ".." + std::to_string(max_end) + ")");
            }
            if (end > max_end) {
                max_end = end;
                max_end_owner = idx;
            }
        }
        return Status::Ok();
    }

    std::span<const std::byte> file_;
    uint64_t file_size_;
    std::string_view origin_;
    Cursor cursor_;
    GgufHeader header_;
    uint64_t metadata_items_ = 0;  // array items read so far, against kMaxMetadataItems
    std::string value_what_;       // "the value of key ...", built once per key for truncation messages
};

}  // namespace

Result<GgufHeader> ParseGgufHeader(std::span<const std::byte> file, std::string_view origin) {
    return HeaderParser(file, file.size(), origin).Parse();
}

Result<GgufHeader> ParseGgufHeaderPrefix(std::span<const std::byte> prefix, uint64_t file_size,
                                         std::string_view origin) {
    if (prefix.size() > file_size) return Status::InvalidArgument(std::string(origin) + ": prefix longer than the file");
    return HeaderParser(prefix, file_size, origin).Parse();
}

Result<std::unique_ptr<GgufReader>> GgufReader::Open(const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
    TP_ASSIGN_OR_RETURN(GgufHeader header, ParseGgufHeader(file->bytes(), path));
    return std::unique_ptr<GgufReader>(new GgufReader(std::move(file), std::move(header)));
}

size_t GgufReader::IndexOf(const TensorInfo& info) const {
    const std::vector<TensorInfo>& tensors = header_.tensors;
    size_t index = tensors.size();
    const std::less<const TensorInfo*> before;
    if (!tensors.empty() && !before(&info, tensors.data()) && before(&info, tensors.data() + tensors.size())) {
        index = static_cast<size_t>(&info - tensors.data());
    } else {
        for (size_t tensor_idx = 0; tensor_idx < tensors.size(); ++tensor_idx) {
            if (tensors[tensor_idx].name == info.name) index = tensor_idx;
        }
    }
    return index;
}

void GgufReader::Release(const TensorInfo& info) const {
    const size_t index = IndexOf(info);
    if (index == header_.tensors.size()) return;
    file_->Release(header_.data_offset + header_.tensor_offsets[index], header_.tensors[index].nbytes);
}

Result<TensorData> GgufReader::Read(const TensorInfo& info) const {
    const std::vector<TensorInfo>& tensors = header_.tensors;
    const size_t index = IndexOf(info);
    if (index == tensors.size()) {
        return Status::NotFound(origin() + ": no tensor named " + gguf_internal::QuoteName(info.name));
    }
    // Offsets and sizes were checked against the file size by ParseGgufHeader.
    const uint64_t begin = header_.data_offset + header_.tensor_offsets[index];
    return TensorData::View(file_->bytes().subspan(begin, tensors[index].nbytes), file_);
}

}  // namespace tenpak::io
