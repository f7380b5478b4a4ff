#include "tenpak/optimize/candidate_cache.h"

#include <cstdlib>
#include <filesystem>

#include "tenpak/io/atomic_output.h"
#include "tenpak/io/mapped_file.h"

namespace tenpak::optimize {
namespace fs = std::filesystem;

std::string DefaultCacheDir() {
    if (const char* dir = std::getenv("TENPAK_CACHE"); dir && *dir) return std::string(dir) + "/optimize";
    if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir) return std::string(dir) + "/tenpak/optimize";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/tenpak/optimize";
    return ".tenpak-cache/optimize";
}

Result<Digest> ModelDigest(const model::Model& model) {
    Hasher hasher(HashAlgorithm::kSha256);
    hasher.Update(model.config.raw.dump());
    const io::TensorSource& source = *model.native;
    for (const io::TensorInfo& info : source.tensors()) {
        hasher.Update(info.name + "|" + std::string(DTypeName(info.dtype)) + "|" + info.ShapeString() + "|");
        TP_ASSIGN_OR_RETURN(io::TensorData data, source.Read(info));
        hasher.Update(data.bytes());
        source.Release(info);
    }
    return hasher.Finish();
}

Result<Digest> FileDigest(const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::string bytes, io::ReadFileToString(path));
    return HashBytes(HashAlgorithm::kSha256, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

Digest KeyOf(std::initializer_list<std::pair<std::string_view, std::string_view>> parts) {
    Hasher hasher(HashAlgorithm::kSha256);
    for (const auto& [label, value] : parts) {
        hasher.Update(std::string(label) + "=" + std::to_string(value.size()) + ":");
        hasher.Update(value);
    }
    return hasher.Finish();
}

std::string CandidateCache::EntryDir(const Digest& key) const { return dir_ + "/" + ToHex(key); }

std::optional<nlohmann::json> CandidateCache::Load(const Digest& key, const std::string& record) const {
    const std::string path = EntryDir(key) + "/" + record + ".json";
    if (!fs::exists(path)) return std::nullopt;
    Result<std::string> text = io::ReadFileToString(path);
    if (!text.ok()) return std::nullopt;
    nlohmann::json value = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return std::nullopt;
    return value;
}

Status CandidateCache::Store(const Digest& key, const std::string& record, const nlohmann::json& value) const {
    std::error_code error;
    fs::create_directories(EntryDir(key), error);
    if (error) return Status::IOError("cannot create the cache folder " + EntryDir(key) + ": " + error.message());
    TP_ASSIGN_OR_RETURN(io::AtomicFile file, io::AtomicFile::Create(EntryDir(key) + "/" + record + ".json"));
    TP_RETURN_IF_ERROR(file.Append(value.dump(2) + "\n"));
    return file.Commit();
}

}  // namespace tenpak::optimize
