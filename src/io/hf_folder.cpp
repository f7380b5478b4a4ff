#include "tenpak/io/hf_folder.h"

#include <algorithm>
#include <filesystem>

#include "tenpak/io/mapped_file.h"
#include "tenpak/io/safetensors.h"

namespace tenpak::io {
namespace fs = std::filesystem;

Result<std::vector<AuxFile>> ReadAuxFiles(const std::string& dir) {
    std::vector<AuxFile> files;
    for (std::string_view name : kCarriedFiles) {
        const fs::path path = fs::path(dir) / name;
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) continue;
        TP_ASSIGN_OR_RETURN(std::string content, ReadFileToString(path.string()));
        files.push_back({std::string(name), std::move(content)});
    }
    return files;
}

Result<HfFolder> OpenHfFolder(const std::string& dir) {
    HfFolder folder;
    folder.path = dir;
    const fs::path root(dir);
    const std::string config_path = (root / "config.json").string();
    Result<std::string> config_text = ReadFileToString(config_path);
    if (!config_text.ok()) {
        if (config_text.status().code() == StatusCode::kNotFound) {
            return Status::NotFound(dir + ": no config.json (a Hugging Face model folder needs one)");
        }
        return config_text.status();
    }
    folder.config = nlohmann::json::parse(*config_text, nullptr, /*allow_exceptions=*/false);
    if (folder.config.is_discarded()) return Status::Corruption(config_path + ": not valid JSON");
    if (!folder.config.is_object()) return Status::Corruption(config_path + ": must be a JSON object");

    std::error_code ec;
    const fs::path index = root / kSafetensorsIndexName;
    const fs::path single = root / "model.safetensors";
    if (fs::exists(index, ec)) {
        TP_ASSIGN_OR_RETURN(folder.tensors, ShardedSafetensorsSource::Open(index.string()));
    } else if (fs::exists(single, ec)) {
        TP_ASSIGN_OR_RETURN(folder.tensors, SafetensorsReader::Open(single.string()));
    } else {
        std::vector<std::string> found;
        bool has_pickle = false;
        for (const auto& entry : fs::directory_iterator(root, ec)) {
            const std::string name = entry.path().filename().string();
            if (entry.path().extension() == ".safetensors") found.push_back(name);
            if (name == "pytorch_model.bin" || name == "pytorch_model.bin.index.json") has_pickle = true;
        }
        std::sort(found.begin(), found.end());
        if (found.size() == 1) {
            TP_ASSIGN_OR_RETURN(folder.tensors, SafetensorsReader::Open((root / found[0]).string()));
        } else if (found.size() > 1) {
            return Status::Corruption(dir + ": " + std::to_string(found.size()) +
                                      " .safetensors files but no model.safetensors.index.json to say which tensor "
                                      "is where");
        } else if (has_pickle) {
            return Status::Unsupported(dir +
                                       ": holds a PyTorch pickle checkpoint (pytorch_model.bin), which TenPak "
                                       "does not load (pickles can run code); save it with safetensors first");
        } else {
            return Status::NotFound(dir +
                                    ": no weights found (looked for model.safetensors.index.json, "
                                    "model.safetensors and *.safetensors)");
        }
    }
    TP_ASSIGN_OR_RETURN(folder.aux_files, ReadAuxFiles(dir));
    return folder;
}

bool LooksLikeHubId(std::string_view text) {
    if (text.empty() || text[0] == '.' || text[0] == '/' || text[0] == '~') return false;
    const std::string_view id = text.substr(0, text.find('@'));
    const size_t slash = id.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) return false;
    if (id.find('/', slash + 1) != std::string_view::npos) return false;
    for (char c : id) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
        if (!ok) return false;
    }
    return true;
}

std::string HubCacheDir() {
    if (const char* cache = std::getenv("HF_HUB_CACHE"); cache != nullptr && *cache != '\0') return cache;
    if (const char* home = std::getenv("HF_HOME"); home != nullptr && *home != '\0') {
        return (fs::path(home) / "hub").string();
    }
    const char* user_home = std::getenv("HOME");
    return (fs::path(user_home != nullptr ? user_home : "/") / ".cache" / "huggingface" / "hub").string();
}

Result<std::string> ResolveHubId(std::string_view id) {
    if (!LooksLikeHubId(id)) return Status::InvalidArgument("'" + std::string(id) + "' is not an org/name model id");
    const size_t at = id.find('@');
    const std::string repo(id.substr(0, at));
    const std::string revision = at == std::string_view::npos ? "main" : std::string(id.substr(at + 1));
    std::string folder_name = "models--" + repo;
    folder_name.replace(folder_name.find('/'), 1, "--");
    const fs::path repo_dir = fs::path(HubCacheDir()) / folder_name;
    std::error_code ec;
    if (!fs::is_directory(repo_dir, ec)) {
        return Status::NotFound("model '" + repo + "' is not in the local Hugging Face cache (looked in " +
                                repo_dir.string() + "; set HF_HUB_CACHE or HF_HOME, or download it first)");
    }
    std::string commit = revision;
    const fs::path ref = repo_dir / "refs" / revision;
    if (fs::is_regular_file(ref, ec)) {
        TP_ASSIGN_OR_RETURN(commit, ReadFileToString(ref.string()));
        while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
    }
    const fs::path snapshot = repo_dir / "snapshots" / commit;
    if (commit.empty() || commit.find('/') != std::string::npos || !fs::is_directory(snapshot, ec)) {
        return Status::NotFound("model '" + repo + "' revision '" + revision +
                                "' has no snapshot in the cache (looked for " + ref.string() + " and " +
                                snapshot.string() + ")");
    }
    return snapshot.string();
}

}  // namespace tenpak::io
