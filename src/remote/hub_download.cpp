#include "tenpak/remote/hub_download.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "tenpak/core/hash.h"
#include "tenpak/core/progress.h"
#include "tenpak/io/atomic_output.h"
#include "tenpak/io/hf_folder.h"
#include "tenpak/io/mapped_file.h"

namespace tenpak::remote {
namespace fs = std::filesystem;
namespace {

// Files worth having beside the weights, when the repository has them.
constexpr const char* kOptionalFiles[] = {
    "generation_config.json", "tokenizer.json",    "tokenizer.model",      "tokenizer_config.json",
    "special_tokens_map.json", "added_tokens.json", "vocab.json",           "merges.txt",
    "quantize_config.json",    "quant_config.json",
};

std::string EnvOr(const char* name, std::string fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// An ETag without W/ and quotes: the blob's name in the cache.
std::string BlobName(std::string etag) {
    if (etag.starts_with("W/")) etag = etag.substr(2);
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    return etag;
}

bool IsSafeBlobName(const std::string& name) {
    return !name.empty() && name.find('/') == std::string::npos && name != "." && name != ".." &&
           name.find('\0') == std::string::npos;
}

class HubRepo {
public:
    HubRepo(const std::string& id, const HubDownloadOptions& options, HubDownloadReport& report)
        : options_(options), report_(report), client_(WithToken(options.http)) {
        const size_t at = id.find('@');
        report_.repo = id.substr(0, at);
        report_.revision = at == std::string::npos ? "main" : id.substr(at + 1);
        endpoint_ = options.endpoint.empty() ? EnvOr("HF_ENDPOINT", "https://huggingface.co") : options.endpoint;
        while (endpoint_.ends_with("/")) endpoint_.pop_back();
        std::string folder = "models--" + report_.repo;
        folder.replace(folder.find('/'), 1, "--");
        root_ = fs::path(options.cache_dir.empty() ? io::HubCacheDir() : options.cache_dir) / folder;
    }

    std::string Url(const std::string& file) const {
        return endpoint_ + "/" + report_.repo + "/resolve/" + report_.revision + "/" + file;
    }

    // Fetches one file into blobs/ and links it from the snapshot. False when the repository does
    // not have it and it is optional.
    Result<bool> Fetch(const std::string& file, bool required) {
        Result<HttpResponse> head = client_.Head(Url(file), /*follow_redirects=*/false);
        if (!head.ok()) {
            if (!required && head.status().code() == StatusCode::kNotFound) return false;
            return head.status();
        }
        const std::string* commit = head->Header("x-repo-commit");
        const std::string* linked = head->Header("x-linked-etag");
        const std::string* etag = linked != nullptr ? linked : head->Header("etag");
        if (etag == nullptr) {
            return Status::Unsupported(Url(file) + ": the server gives no ETag, so the file cannot be placed in the HF cache");
        }
        if (commit != nullptr && !commit->empty()) {
            if (report_.commit.empty()) report_.commit = *commit;
            if (*commit != report_.commit) {
                return Status::Network(Url(file) + ": the repository changed while downloading (commit " + *commit +
                                       " after " + report_.commit + "); run the pull again");
            }
        }
        const std::string blob = BlobName(*etag);
        if (!IsSafeBlobName(blob)) return Status::Corruption(Url(file) + ": ETag '" + *etag + "' is not a usable blob name");
        const fs::path blob_path = root_ / "blobs" / blob;
        std::error_code ec;
        fs::create_directories(blob_path.parent_path(), ec);
        if (fs::exists(blob_path, ec)) {
            ++report_.files_already_cached;
        } else {
            const std::string* size = head->Header("x-linked-size");
            if (size == nullptr) size = head->Header("content-length");
            TP_RETURN_IF_ERROR(DownloadBlob(file, blob, blob_path, size ? std::strtoull(size->c_str(), nullptr, 10) : 0));
        }
        pending_links_.push_back({file, blob});
        report_.files.push_back(file);
        return true;
    }

    // Links every fetched file from snapshots/<commit>/ and writes refs/<revision>.
    Status Finish() {
        if (report_.commit.empty()) {
            return Status::Unsupported(endpoint_ + ": the server gives no X-Repo-Commit header, which the HF cache layout needs");
        }
        if (!IsSafeBlobName(report_.commit)) return Status::Corruption(endpoint_ + ": bad commit '" + report_.commit + "'");
        const fs::path snapshot = root_ / "snapshots" / report_.commit;
        std::error_code ec;
        for (const auto& [file, blob] : pending_links_) {
            const fs::path link = snapshot / file;
            fs::create_directories(link.parent_path(), ec);
            fs::path target = fs::path("..") / "..";
            for (size_t i = 0; i < static_cast<size_t>(std::count(file.begin(), file.end(), '/')); ++i) target = fs::path("..") / target;
            target = target / "blobs" / blob;
            fs::remove(link, ec);
            fs::create_symlink(target, link, ec);
            if (ec) return Status::IOError(link.string() + ": cannot create the snapshot link: " + ec.message());
        }
        if (report_.revision != report_.commit) {
            fs::create_directories(root_ / "refs", ec);
            Result<io::AtomicFile> ref = io::AtomicFile::Create((root_ / "refs" / report_.revision).string());
            if (!ref.ok()) return ref.status();
            TP_RETURN_IF_ERROR(ref->Append(report_.commit));
            TP_RETURN_IF_ERROR(ref->Commit());
        }
        report_.snapshot = snapshot.string();
        return Status::Ok();
    }

    Result<std::string> ReadSnapshotFile(const std::string& file) const {
        for (const auto& [name, blob] : pending_links_) {
            if (name == file) return io::ReadFileToString((root_ / "blobs" / blob).string());
        }
        return Status::NotFound(file);
    }

private:
    static HttpOptions WithToken(HttpOptions http) {
        if (http.bearer_token.empty()) http.bearer_token = EnvOr("HF_TOKEN", "");
        return http;
    }

    // Downloads to a temporary name in blobs/, checks a SHA-256 ETag, renames into place.
    Status DownloadBlob(const std::string& file, const std::string& blob, const fs::path& blob_path, uint64_t size) {
        Result<io::AtomicFile> out = io::AtomicFile::Create(blob_path.string());
        if (!out.ok()) return out.status();
        Hasher sha(HashAlgorithm::kSha256);
        std::optional<Progress> bar;
        if (options_.progress) bar.emplace("pulling " + file, size, Progress::Unit::kBytes);
        io::AtomicFile& file_out = *out;
        const auto sink = [&](std::span<const std::byte> piece) -> Status {
            sha.Update(piece);
            if (bar) bar->Advance(piece.size());
            return file_out.Append(piece);
        };
        const auto restart = [&]() -> Status {
            return Status::Unsupported(Url(file) + ": the download broke off and the server cannot resume it; run the pull again");
        };
        TP_ASSIGN_OR_RETURN(const uint64_t bytes, client_.Download(Url(file), sink, restart));
        // An LFS file's ETag is its SHA-256 in hex (either case); other ETags are opaque.
        const std::optional<Digest> lfs_sha = DigestFromHex(blob);
        if (lfs_sha && sha.Finish() != *lfs_sha) {
            return Status::Integrity(Url(file) + ": the downloaded bytes do not match their SHA-256 ETag " + blob);
        }
        report_.bytes_downloaded += bytes;
        return file_out.Commit();
    }

    const HubDownloadOptions& options_;
    HubDownloadReport& report_;
    HttpClient client_;
    std::string endpoint_;
    fs::path root_;
    std::vector<std::pair<std::string, std::string>> pending_links_;
};

// The shard names of a safetensors index (weight_map values), sorted and checked.
Result<std::vector<std::string>> ShardsOf(const std::string& index_text, const std::string& where) {
    const nlohmann::json index = nlohmann::json::parse(index_text, nullptr, false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
        return Status::Corruption(where + ": not a safetensors index (no 'weight_map' object)");
    }
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
        if (!shard.is_string() || shard.get<std::string>().find("..") != std::string::npos) {
            return Status::Corruption(where + ": tensor '" + tensor + "' maps to a bad shard name");
        }
        shards.insert(shard.get<std::string>());
    }
    return std::vector<std::string>(shards.begin(), shards.end());
}

}  // namespace

Result<HubDownloadReport> DownloadFromHub(const std::string& id, const HubDownloadOptions& options) {
    if (!io::LooksLikeHubId(id)) return Status::InvalidArgument("'" + id + "' is not an org/name model id");
    HubDownloadReport report;
    HubRepo repo(id, options, report);
    TP_RETURN_IF_ERROR(repo.Fetch("config.json", /*required=*/true).status());
    TP_ASSIGN_OR_RETURN(const bool sharded, repo.Fetch("model.safetensors.index.json", /*required=*/false));
    if (sharded) {
        TP_ASSIGN_OR_RETURN(const std::string index, repo.ReadSnapshotFile("model.safetensors.index.json"));
        TP_ASSIGN_OR_RETURN(const std::vector<std::string> shards,
                            ShardsOf(index, repo.Url("model.safetensors.index.json")));
        for (const std::string& shard : shards) TP_RETURN_IF_ERROR(repo.Fetch(shard, /*required=*/true).status());
    } else {
        TP_ASSIGN_OR_RETURN(const bool single, repo.Fetch("model.safetensors", /*required=*/false));
        if (!single) {
            return Status::Unsupported(repo.Url("model.safetensors") +
                                       ": the repository has no safetensors weights (model.safetensors or "
                                       "model.safetensors.index.json); PyTorch .bin checkpoints are not supported");
        }
    }
    for (const char* file : kOptionalFiles) TP_RETURN_IF_ERROR(repo.Fetch(file, /*required=*/false).status());
    TP_RETURN_IF_ERROR(repo.Finish());
    return report;
}

}  // namespace tenpak::remote
