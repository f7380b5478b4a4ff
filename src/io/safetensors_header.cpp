// Validation of safetensors headers. The rules follow the reference reader (safetensors'
// `Metadata::validate`): a file whose header passes here can be mmap'd and sliced without any
// further bounds checks.
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "tenpak/io/safetensors.h"

namespace tenpak::io {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors readers assume a little-endian host");

using nlohmann::json;

std::string Where(std::string_view origin, const std::string& tensor) {
    return std::string(origin) + ": tensor '" + tensor + "'";
}

Result<int64_t> NonNegativeInt(const json& value, std::string_view what) {
    if (!value.is_number_unsigned()) {
        return Status::Corruption(std::string(what) + " must be a non-negative integer, found " + value.dump());
    }
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return Status::Corruption(std::string(what) + " is too large");
    return static_cast<int64_t>(v);
}

Status ParseMetadata(const json& value, std::string_view origin, std::map<std::string, std::string>& out) {
    if (!value.is_object()) {
        return Status::Corruption(std::string(origin) + ": __metadata__ must be an object of strings");
    }
    for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) {
            return Status::Corruption(std::string(origin) + ": __metadata__ value of '" + key +
                                      "' must be a string, found " + std::string(v.type_name()));
        }
        out[key] = v.get<std::string>();
    }
    return Status::Ok();
}

Result<TensorInfo> ParseTensorEntry(const std::string& name, const json& entry, std::string_view origin,
                                    uint64_t& begin, uint64_t& end) {
    const std::string where = Where(origin, name);
    if (!entry.is_object()) return Status::Corruption(where + ": entry must be an object");
    const auto dtype_it = entry.find("dtype");
    const auto shape_it = entry.find("shape");
    const auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || shape_it == entry.end() || offsets_it == entry.end()) {
        return Status::Corruption(where + ": entry needs 'dtype', 'shape' and 'data_offsets'");
    }
    if (!dtype_it->is_string()) return Status::Corruption(where + ": 'dtype' must be a string");
    const std::string dtype_name = dtype_it->get<std::string>();
    const std::optional<DType> dtype = DTypeFromName(dtype_name);
    if (!dtype || !Traits(*dtype).in_safetensors) {
        return Status::Unsupported(where + ": unknown or unsupported dtype '" + dtype_name +
                                   "' (TenPak reads F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, "
                                   "BOOL, F8_E4M3, F8_E5M2)");
    }
    TensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    if (!shape_it->is_array()) return Status::Corruption(where + ": 'shape' must be an array");
    for (const json& dim : *shape_it) {
        Result<int64_t> d = NonNegativeInt(dim, "a shape dimension");
        if (!d.ok()) return d.status().WithContext(where);
        info.shape.push_back(*d);
    }
    if (!offsets_it->is_array() || offsets_it->size() != 2) {
        return Status::Corruption(where + ": 'data_offsets' must be [begin, end]");
    }
    Result<int64_t> b = NonNegativeInt((*offsets_it)[0], "data_offsets begin");
    if (!b.ok()) return b.status().WithContext(where);
    Result<int64_t> e = NonNegativeInt((*offsets_it)[1], "data_offsets end");
    if (!e.ok()) return e.status().WithContext(where);
    begin = static_cast<uint64_t>(*b);
    end = static_cast<uint64_t>(*e);
    if (end < begin) {
        return Status::Corruption(where + ": data_offsets end " + std::to_string(end) + " is before begin " +
                                  std::to_string(begin));
    }
    Result<uint64_t> size = TensorByteSize(info.dtype, info.shape);
    if (!size.ok()) return Status::Corruption(where + ": " + size.status().message());
    if (*size != end - begin) {
        return Status::Corruption(where + ": " + std::string(DTypeName(info.dtype)) + " " + info.ShapeString() +
                                  " needs " + std::to_string(*size) + " bytes but data_offsets [" +
                                  std::to_string(begin) + ", " + std::to_string(end) + "] hold " +
                                  std::to_string(end - begin));
    }
    info.nbytes = *size;
    return info;
}

}  // namespace

Result<uint64_t> SafetensorsHeaderLength(std::span<const std::byte> prefix, uint64_t file_size,
                                         std::string_view origin) {
    const std::string where(origin);
    if (file_size < 8 || prefix.size() < 8) {
        return Status::Corruption(where + ": file is " + std::to_string(file_size) +
                                  " bytes, too short for a safetensors header length (8 bytes)");
    }
    uint64_t header_len = 0;
    std::memcpy(&header_len, prefix.data(), 8);
    if (header_len > kSafetensorsMaxHeaderBytes) {
        return Status::Corruption(where + ": header length " + std::to_string(header_len) +
                                  " exceeds the 100 MB limit (not a safetensors file, or corrupt)");
    }
    if (header_len > file_size - 8) {
        return Status::Corruption(where + ": header length " + std::to_string(header_len) +
                                  " runs past the end of the file (" + std::to_string(file_size) +
                                  " bytes): truncated file?");
    }
    return header_len;
}

Result<SafetensorsHeader> ParseSafetensorsHeader(std::span<const std::byte> file, std::string_view origin) {
    return ParseSafetensorsHeaderPrefix(file, file.size(), origin);
}

Result<SafetensorsHeader> ParseSafetensorsHeaderPrefix(std::span<const std::byte> prefix, uint64_t file_size,
                                                       std::string_view origin) {
    const std::string where(origin);
    TP_ASSIGN_OR_RETURN(const uint64_t header_len, SafetensorsHeaderLength(prefix, file_size, origin));
    if (prefix.size() < 8 + header_len) return Status::Internal(where + ": header prefix shorter than the header");
    const char* text = reinterpret_cast<const char*>(prefix.data() + 8);
    if (header_len < 2 || text[0] != '{') {
        return Status::Corruption(where + ": header must be a JSON object starting with '{'");
    }

    // Duplicate names would silently shadow each other in a JSON object: find them while parsing.
    std::set<std::string> seen;
    std::string duplicate;
    auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::key && depth == 1 && duplicate.empty()) {
            std::string key = parsed.get<std::string>();
            if (!seen.insert(key).second) duplicate = std::move(key);
        }
        return true;
    };
    json header = json::parse(text, text + header_len, on_event, /*allow_exceptions=*/false);
    if (header.is_discarded()) return Status::Corruption(where + ": header is not valid JSON");
    if (!header.is_object()) return Status::Corruption(where + ": header must be a JSON object");
    if (!duplicate.empty()) return Status::Corruption(where + ": tensor '" + duplicate + "' appears twice");

    SafetensorsHeader out;
    out.data_start = 8 + header_len;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end) per tensor, relative
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            TP_RETURN_IF_ERROR(ParseMetadata(value, origin, out.metadata));
            continue;
        }
        uint64_t begin = 0;
        uint64_t end = 0;
        TP_ASSIGN_OR_RETURN(TensorInfo info, ParseTensorEntry(key, value, origin, begin, end));
        out.tensors.push_back(std::move(info));
        ranges.emplace_back(begin, end);
    }

    // The buffer must be tiled exactly: sorted by offset, each tensor starts where the previous ended.
    std::vector<size_t> order(out.tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
    uint64_t expected = 0;
    for (size_t idx : order) {
        const auto [begin, end] = ranges[idx];
        if (begin != expected) {
            const std::string problem = begin < expected ? "overlaps the previous tensor" : "leaves a hole before it";
            return Status::Corruption(Where(origin, out.tensors[idx].name) + ": data_offsets [" +
                                      std::to_string(begin) + ", " + std::to_string(end) + "] " + problem +
                                      " (expected begin " + std::to_string(expected) + ")");
        }
        expected = end;
    }
    const uint64_t buffer_size = file_size - out.data_start;
    if (expected != buffer_size) {
        if (expected > buffer_size) {
            const std::string last = order.empty() ? std::string("?") : out.tensors[order.back()].name;
            return Status::Corruption(Where(origin, last) + ": data ends at byte " + std::to_string(expected) +
                                      " of the buffer, past the end of the file (" + std::to_string(buffer_size) +
                                      " bytes after the header): truncated file?");
        }
        return Status::Corruption(where + ": " + std::to_string(buffer_size - expected) +
                                  " bytes after the last tensor are not described by the header");
    }

    std::vector<TensorInfo> sorted;
    sorted.reserve(order.size());
    for (size_t idx : order) {
        out.offsets.push_back(out.data_start + ranges[idx].first);
        sorted.push_back(std::move(out.tensors[idx]));
    }
    out.tensors = std::move(sorted);
    return out;
}

}  // namespace tenpak::io
