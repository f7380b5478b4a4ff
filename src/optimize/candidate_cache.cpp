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

namespace {

// Each file of the model at `path` as [name, size, mtime in the file clock's ticks], sorted by name;
// nullopt when the path is not a local file or folder (nothing to fingerprint).
std::optional<nlohmann::json> FilesFingerprint(const std::string& path) {
    std::error_code error;
    std::vector<fs::path> files;
    if (fs::is_directory(path, error)) {
        for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
            if (entry.is_regular_file(error)) files.push_back(entry.path());
        }
        if (error) return std::nullopt;
    } else if (fs::is_regular_file(path, error)) {
        files.emplace_back(path);
    } else {
        return std::nullopt;
    }
    std::sort(files.begin(), files.end());
    nlohmann::json out = nlohmann::json::array();
    for (const fs::path& file : files) {
        const uintmax_t size = fs::file_size(file, error);
        if (error) return std::nullopt;
        const fs::file_time_type time = fs::last_write_time(file, error);
        if (error) return std::nullopt;
        out.push_back({file.filename().string(), size, static_cast<int64_t>(time.time_since_epoch().count())});
    }
    return out;
}

}  // namespace

Result<DigestLookup> CandidateCache::ModelDigestOf(const model::Model& model, const std::string& path,
                                                   bool refresh) const {
    const std::optional<nlohmann::json> files = FilesFingerprint(path);
    std::error_code error;
    const std::string absolute = fs::absolute(path, error).lexically_normal().string();
    const Digest memo_key = KeyOf({{"model-digest-memo", absolute}});
    if (files && !refresh) {
        if (std::optional<nlohmann::json> memo = Load(memo_key, "digest");
            memo && memo->value("files", nlohmann::json()) == *files) {
            if (std::optional<Digest> digest = DigestFromHex(memo->value("digest", ""))) return DigestLookup{*digest, true};
        }
    }
    TP_ASSIGN_OR_RETURN(Digest digest, ModelDigest(model));
    if (files) {
        // Best effort: a cache that cannot be written only costs the next run the hashing.
        (void)Store(memo_key, "digest", {{"path", absolute}, {"files", *files}, {"digest", ToHex(digest)}});
    }
    return DigestLookup{digest, false};
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
