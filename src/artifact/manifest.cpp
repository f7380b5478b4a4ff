#include "tenpak/artifact/manifest.h"

#include <algorithm>
#include <map>
#include <set>

#include "tenpak/artifact/format.h"

namespace tenpak::artifact {

using nlohmann::json;

std::string_view CompressionName(Compression compression) {
    return compression == Compression::kZstd ? "zstd" : "none";
}

const TensorEntry* Manifest::FindTensor(std::string_view name) const {
    for (const TensorEntry& tensor : tensors) {
        if (tensor.info.name == name) return &tensor;
    }
    return nullptr;
}

const FileEntry* Manifest::FindFile(std::string_view name) const {
    for (const FileEntry& file : files) {
        if (file.name == name) return &file;
    }
    return nullptr;
}

uint64_t Manifest::StoredBytes() const {
    uint64_t total = 0;
    for (const ChunkEntry& chunk : chunks) total += chunk.stored_size;
    return total;
}

uint64_t Manifest::RawBytes() const {
    uint64_t total = 0;
    for (const FileEntry& file : files) total += file.size;
    return total;
}

bool IsSafeRelativePath(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos) {
        return false;
    }
    size_t start = 0;
    while (start <= name.size()) {
        const size_t slash = std::min(name.find('/', start), name.size());
        const std::string_view part = name.substr(start, slash - start);
        if (part.empty() || part == "." || part == "..") return false;
        start = slash + 1;
    }
    return true;
}

namespace {

constexpr const char* kStandardKeys[] = {"format", "version", "writer", "hash", "chunk_size",
                                         "source", "chunks", "tensors", "files"};

bool IsStandardKey(std::string_view key) {
    return std::find(std::begin(kStandardKeys), std::end(kStandardKeys), key) != std::end(kStandardKeys);
}

}  // namespace

std::string SerializeManifest(const Manifest& manifest) {
    json root = json::object();
    for (const auto& [key, value] : manifest.extra.items()) {
        if (!IsStandardKey(key)) root[key] = value;
    }
    root["format"] = "tnpk";
    root["version"] = json::array({kMajorVersion, manifest.minor});
    root["writer"] = manifest.writer;
    root["hash"] = std::string(HashAlgorithmName(manifest.hash));
    root["chunk_size"] = manifest.chunk_size;
    root["source"] = manifest.source;
    json chunks = json::array();
    for (const ChunkEntry& chunk : manifest.chunks) {
        chunks.push_back({{"hash", ToHex(chunk.hash)},
                          {"offset", chunk.offset},
                          {"raw_size", chunk.raw_size},
                          {"stored_size", chunk.stored_size},
                          {"compression", std::string(CompressionName(chunk.compression))}});
    }
    root["chunks"] = std::move(chunks);
    json tensors = json::array();
    for (const TensorEntry& tensor : manifest.tensors) {
        json entry = {{"name", tensor.info.name},
                      {"dtype", std::string(DTypeName(tensor.info.dtype))},
                      {"shape", tensor.info.shape},
                      {"nbytes", tensor.info.nbytes},
                      {"chunks", tensor.chunks}};
        if (!tensor.quantization.is_null()) entry["quantization"] = tensor.quantization;
        tensors.push_back(std::move(entry));
    }
    root["tensors"] = std::move(tensors);
    json files = json::array();
    for (const FileEntry& file : manifest.files) {
        json segments = json::array();
        for (const Segment& segment : file.segments) {
            segments.push_back(segment.tensor.empty() ? json{{"chunks", segment.chunks}}
                                                      : json{{"tensor", segment.tensor}});
        }
        files.push_back({{"name", file.name}, {"size", file.size}, {"segments", std::move(segments)}});
    }
    root["files"] = std::move(files);
    return root.dump();
}

namespace {

// Reads typed fields out of untrusted JSON, with errors that say where.
class Fields {
public:
    Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {}

    Status IsObject() const {
        return object_.is_object() ? Status::Ok() : Status::Corruption(where_ + " is not a JSON object");
    }
    Result<const json*> Get(const char* key, json::value_t type) const {
        const auto it = object_.find(key);
        if (it == object_.end()) return Status::Corruption(where_ + ": required key '" + key + "' is missing");
        const bool ok = type == json::value_t::number_unsigned ? it->is_number_unsigned() : it->type() == type;
        if (!ok) return Status::Corruption(where_ + ": '" + key + "' has the wrong type");
        return &*it;
    }
    Result<uint64_t> Unsigned(const char* key) const {
        TP_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::number_unsigned));
        return value->get<uint64_t>();
    }
    Result<std::string> String(const char* key) const {
        TP_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::string));
        return value->get<std::string>();
    }
    Result<const json*> Array(const char* key) const { return Get(key, json::value_t::array); }
    bool Has(const char* key) const { return object_.contains(key); }
    const std::string& where() const { return where_; }

private:
    const json& object_;
    std::string where_;
};

// A list of chunk indices: in range, each but the last exactly `chunk_size` raw bytes. Returns the
// total raw size.
Result<uint64_t> ChunkList(const json& list, const Manifest& manifest, const std::string& where,
                           std::vector<uint32_t>& out) {
    if (!list.is_array()) return Status::Corruption(where + ": 'chunks' is not an array");
    uint64_t total = 0;
    for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_number_unsigned() || list[i].get<uint64_t>() >= manifest.chunks.size()) {
            return Status::Corruption(where + ": chunk reference " + list[i].dump() + " is not a chunk index (" +
                                      std::to_string(manifest.chunks.size()) + " chunks)");
        }
        const auto index = list[i].get<uint32_t>();
        const uint64_t raw = manifest.chunks[index].raw_size;
        if (i + 1 < list.size() && raw != manifest.chunk_size) {
            return Status::Corruption(where + ": chunk " + std::to_string(index) + " has " + std::to_string(raw) +
                                      " raw bytes but only the last chunk may be shorter than chunk_size");
        }
        out.push_back(index);
        total += raw;
    }
    return total;
}

Status ParseChunks(const json& list, uint64_t manifest_offset, const std::string& where, Manifest& manifest) {
    uint64_t expected_offset = kHeaderSize;
    for (size_t i = 0; i < list.size(); ++i) {
        const Fields f(list[i], where + ": chunk " + std::to_string(i));
        TP_RETURN_IF_ERROR(f.IsObject());
        ChunkEntry chunk;
        TP_ASSIGN_OR_RETURN(const std::string hash, f.String("hash"));
        const std::optional<Digest> digest = DigestFromHex(hash);
        if (!digest) return Status::Corruption(f.where() + ": 'hash' is not 64 hex digits");
        chunk.hash = *digest;
        TP_ASSIGN_OR_RETURN(chunk.offset, f.Unsigned("offset"));
        TP_ASSIGN_OR_RETURN(chunk.raw_size, f.Unsigned("raw_size"));
        TP_ASSIGN_OR_RETURN(chunk.stored_size, f.Unsigned("stored_size"));
        TP_ASSIGN_OR_RETURN(const std::string compression, f.String("compression"));
        if (compression == "zstd") {
            chunk.compression = Compression::kZstd;
        } else if (compression == "none") {
            chunk.compression = Compression::kNone;
        } else {
            return Status::Unsupported(f.where() + ": compression '" + compression + "' is not known (none, zstd)");
        }
        if (chunk.raw_size == 0 || chunk.raw_size > manifest.chunk_size) {
            return Status::Corruption(f.where() + ": raw_size " + std::to_string(chunk.raw_size) +
                                      " is not in 1.." + std::to_string(manifest.chunk_size));
        }
        if (chunk.compression == Compression::kNone && chunk.stored_size != chunk.raw_size) {
            return Status::Corruption(f.where() + ": stored uncompressed but stored_size != raw_size");
        }
        if (chunk.offset != expected_offset || chunk.stored_size > manifest_offset ||
            chunk.offset > manifest_offset - chunk.stored_size) {
            return Status::Corruption(f.where() + ": stored at " + std::to_string(chunk.offset) + " (" +
                                      std::to_string(chunk.stored_size) + " bytes) but expected at " +
                                      std::to_string(expected_offset) + ", inside the chunk area ending at " +
                                      std::to_string(manifest_offset));
        }
        expected_offset = AlignChunk(chunk.offset + chunk.stored_size);
        manifest.chunks.push_back(chunk);
    }
    if (expected_offset != manifest_offset) {
        return Status::Corruption(where + ": the chunks end at " + std::to_string(expected_offset) +
                                  " but the manifest starts at " + std::to_string(manifest_offset));
    }
    return Status::Ok();
}

Status ParseTensors(const json& list, const std::string& where, Manifest& manifest) {
    std::set<std::string, std::less<>> names;
    for (size_t i = 0; i < list.size(); ++i) {
        const Fields f(list[i], where + ": tensor " + std::to_string(i));
        TP_RETURN_IF_ERROR(f.IsObject());
        TensorEntry tensor;
        TP_ASSIGN_OR_RETURN(tensor.info.name, f.String("name"));
        const Fields named(list[i], where + ": tensor '" + tensor.info.name + "'");
        if (tensor.info.name.empty() || !names.insert(tensor.info.name).second) {
            return Status::Corruption(named.where() + ": empty or repeated name");
        }
        TP_ASSIGN_OR_RETURN(const std::string dtype, named.String("dtype"));
        const std::optional<DType> parsed = DTypeFromName(dtype);
        if (!parsed) return Status::Unsupported(named.where() + ": dtype '" + dtype + "' is not known");
        tensor.info.dtype = *parsed;
        TP_ASSIGN_OR_RETURN(const json* shape, named.Array("shape"));
        for (const json& dim : *shape) {
            if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
                return Status::Corruption(named.where() + ": shape " + shape->dump() + " is not a list of sizes");
            }
            tensor.info.shape.push_back(dim.get<int64_t>());
        }
        Result<uint64_t> expected = TensorByteSize(tensor.info.dtype, tensor.info.shape);
        if (!expected.ok()) return Status::Corruption(named.where() + ": " + expected.status().message());
        TP_ASSIGN_OR_RETURN(tensor.info.nbytes, named.Unsigned("nbytes"));
        if (tensor.info.nbytes != *expected) {
            return Status::Corruption(named.where() + ": nbytes " + std::to_string(tensor.info.nbytes) + " but " +
                                      dtype + " " + tensor.info.ShapeString() + " is " + std::to_string(*expected));
        }
        TP_ASSIGN_OR_RETURN(const json* chunks, named.Array("chunks"));
        TP_ASSIGN_OR_RETURN(const uint64_t raw, ChunkList(*chunks, manifest, named.where(), tensor.chunks));
        if (raw != tensor.info.nbytes) {
            return Status::Corruption(named.where() + ": its chunks hold " + std::to_string(raw) + " bytes, not " +
                                      std::to_string(tensor.info.nbytes));
        }
        if (named.Has("quantization")) {
            tensor.quantization = list[i]["quantization"];
            if (!tensor.quantization.is_object()) {
                return Status::Corruption(named.where() + ": 'quantization' is not an object");
            }
        }
        manifest.tensors.push_back(std::move(tensor));
    }
    return Status::Ok();
}

Status ParseFiles(const json& list, const std::string& where, Manifest& manifest) {
    std::map<std::string_view, const TensorEntry*> tensors;
    for (const TensorEntry& tensor : manifest.tensors) tensors.emplace(tensor.info.name, &tensor);
    std::set<std::string, std::less<>> names;
    std::set<std::string, std::less<>> placed;
    for (size_t i = 0; i < list.size(); ++i) {
        const Fields f(list[i], where + ": file " + std::to_string(i));
        TP_RETURN_IF_ERROR(f.IsObject());
        FileEntry file;
        TP_ASSIGN_OR_RETURN(file.name, f.String("name"));
        const Fields named(list[i], where + ": file '" + file.name + "'");
        if (!IsSafeRelativePath(file.name)) {
            return Status::Corruption(named.where() + ": not a safe relative path (no '..', no leading '/')");
        }
        if (!names.insert(file.name).second) return Status::Corruption(named.where() + ": listed twice");
        TP_ASSIGN_OR_RETURN(file.size, named.Unsigned("size"));
        TP_ASSIGN_OR_RETURN(const json* segments, named.Array("segments"));
        uint64_t total = 0;
        for (const json& item : *segments) {
            Segment segment;
            if (item.is_object() && item.size() == 1 && item.contains("tensor") && item["tensor"].is_string()) {
                segment.tensor = item["tensor"].get<std::string>();
                const auto found = tensors.find(segment.tensor);
                const TensorEntry* tensor = found == tensors.end() ? nullptr : found->second;
                if (tensor == nullptr) {
                    return Status::Corruption(named.where() + ": segment names tensor '" + segment.tensor +
                                              "', which the manifest does not list");
                }
                if (!placed.insert(segment.tensor).second) {
                    return Status::Corruption(named.where() + ": tensor '" + segment.tensor + "' is placed twice");
                }
                total += tensor->info.nbytes;
            } else if (item.is_object() && item.size() == 1 && item.contains("chunks")) {
                TP_ASSIGN_OR_RETURN(const uint64_t raw, ChunkList(item["chunks"], manifest, named.where(), segment.chunks));
                total += raw;
            } else {
                return Status::Corruption(named.where() + ": segment " + item.dump().substr(0, 80) +
                                          " is neither {\"chunks\": [...]} nor {\"tensor\": NAME}");
            }
            file.segments.push_back(std::move(segment));
        }
        if (total != file.size) {
            return Status::Corruption(named.where() + ": its segments hold " + std::to_string(total) + " bytes, not " +
                                      std::to_string(file.size));
        }
        manifest.files.push_back(std::move(file));
    }
    for (const TensorEntry& tensor : manifest.tensors) {
        if (!placed.contains(tensor.info.name)) {
            return Status::Corruption(where + ": tensor '" + tensor.info.name + "' is in no file");
        }
    }
    return Status::Ok();
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view text, uint64_t manifest_offset, std::string_view origin) {
    const std::string where = std::string(origin) + ": manifest";
    const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return Status::Corruption(where + " is not valid JSON");
    const Fields f(root, where);
    TP_RETURN_IF_ERROR(f.IsObject());
    TP_ASSIGN_OR_RETURN(const std::string format, f.String("format"));
    if (format != "tnpk") return Status::Corruption(where + ": 'format' is '" + format + "', not 'tnpk'");
    Manifest manifest;
    TP_ASSIGN_OR_RETURN(const json* version, f.Array("version"));
    if (version->size() != 2 || !(*version)[0].is_number_unsigned() || !(*version)[1].is_number_unsigned() ||
        (*version)[0].get<uint64_t>() != kMajorVersion || (*version)[1].get<uint64_t>() > UINT16_MAX) {
        return Status::Unsupported(where + ": version " + version->dump() + " is not 1.x");
    }
    manifest.minor = (*version)[1].get<uint16_t>();
    TP_ASSIGN_OR_RETURN(const std::string hash, f.String("hash"));
    const std::optional<HashAlgorithm> algorithm = HashAlgorithmFromName(hash);
    if (!algorithm) return Status::Unsupported(where + ": hash '" + hash + "' is not known (blake2b-256, sha256)");
    manifest.hash = *algorithm;
    TP_ASSIGN_OR_RETURN(manifest.chunk_size, f.Unsigned("chunk_size"));
    if (manifest.chunk_size < kChunkAlignment || manifest.chunk_size > kMaxChunkSize) {
        return Status::Corruption(where + ": chunk_size " + std::to_string(manifest.chunk_size) + " is not in 64.." +
                                  std::to_string(kMaxChunkSize));
    }
    TP_ASSIGN_OR_RETURN(manifest.source, f.String("source"));
    if (f.Has("writer") && root["writer"].is_string()) manifest.writer = root["writer"].get<std::string>();
    TP_ASSIGN_OR_RETURN(const json* chunks, f.Array("chunks"));
    TP_RETURN_IF_ERROR(ParseChunks(*chunks, manifest_offset, where, manifest));
    TP_ASSIGN_OR_RETURN(const json* tensors, f.Array("tensors"));
    TP_RETURN_IF_ERROR(ParseTensors(*tensors, where, manifest));
    TP_ASSIGN_OR_RETURN(const json* files, f.Array("files"));
    TP_RETURN_IF_ERROR(ParseFiles(*files, where, manifest));
    for (const auto& [key, value] : root.items()) {
        if (!IsStandardKey(key)) manifest.extra[key] = value;
    }
    return manifest;
}

}  // namespace tenpak::artifact
