// Hub-style downloads against a local server that mimics the Hub's URL layout and headers:
// /{repo}/resolve/{revision}/{file}, X-Repo-Commit, ETag for small files, and for LFS files a 302 to a
// CDN URL with X-Linked-Etag (the SHA-256) and X-Linked-Size.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "tenpak/core/hash.h"
#include "tenpak/io/hf_folder.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"
#include "tenpak/remote/hub_download.h"
#include "test_server.h"
#include "test_util.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();
const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

class HubServer {
public:
    // Serves every file of `folder` as repository `repo` at revision "main".
    HubServer(const std::string& repo, const std::string& folder, std::string required_token = "")
        : repo_(repo), token_(std::move(required_token)) {
        for (const std::string& name : testing::ListDir(folder)) files_[name] = ReadFile(folder + "/" + name);
        server_ = std::make_unique<testing::TestHttpServer>(
            [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    }
    std::string endpoint() const { return server_->endpoint(); }
    // LFS downloads send these bytes instead of the real ones.
    void CorruptLfs() { corrupt_ = true; }

private:
    static std::string Sha256(const std::string& bytes) {
        return ToHex(HashBytes(HashAlgorithm::kSha256, std::as_bytes(std::span(bytes))));
    }

    void Handle(const httplib::Request& req, httplib::Response& res) {
        if (!token_.empty() && req.get_header_value("Authorization") != "Bearer " + token_) {
            res.status = 401;
            return;
        }
        const std::string cdn = "/cdn/";
        if (req.path.starts_with(cdn)) {
            for (const auto& [name, bytes] : files_) {
                if (Sha256(bytes) != req.path.substr(cdn.size())) continue;
                std::string body = bytes;
                if (corrupt_) body[body.size() / 2] ^= 1;
                res.set_content(body, "application/octet-stream");
                return;
            }
            res.status = 404;
            return;
        }
        const std::string prefix = "/" + repo_ + "/resolve/main/";
        const auto file = req.path.starts_with(prefix) ? files_.find(req.path.substr(prefix.size())) : files_.end();
        if (file == files_.end()) {
            res.status = 404;
            return;
        }
        res.set_header("X-Repo-Commit", kCommit);
        if (file->first.ends_with(".safetensors")) {
            res.set_header("X-Linked-Etag", "\"" + Sha256(file->second) + "\"");
            res.set_header("X-Linked-Size", std::to_string(file->second.size()));
            res.set_redirect(cdn + Sha256(file->second));
            return;
        }
        res.set_header("ETag", "\"" + Sha256(file->second).substr(0, 40) + "\"");
        res.set_content(file->second, "application/octet-stream");
    }

    std::string repo_;
    std::string token_;
    std::map<std::string, std::string> files_;
    std::atomic<bool> corrupt_{false};
    std::unique_ptr<testing::TestHttpServer> server_;  // last: stopped before the members it uses
};

remote::HubDownloadOptions Options(const HubServer& server, const TempDir& dir) {
    remote::HubDownloadOptions options;
    options.endpoint = server.endpoint();
    options.cache_dir = dir.File("hub");
    options.progress = false;
    options.http.first_backoff_seconds = 0.01;
    return options;
}

TEST(HubDownloadTest, FillsTheHfCacheLayoutThatOpenModelFinds) {
    TempDir dir;
    HubServer server("tiny/stories", kBundled);
    Result<remote::HubDownloadReport> report = remote::DownloadFromHub("tiny/stories", Options(server, dir));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->commit, kCommit);
    const fs::path repo = dir.File("hub/models--tiny--stories");
    EXPECT_EQ(ReadFile((repo / "refs/main").string()), kCommit);
    const fs::path snapshot = repo / "snapshots" / kCommit;
    EXPECT_EQ(report->snapshot, snapshot.string());
    for (const char* name : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer.model",
                             "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"}) {
        const fs::path link = snapshot / name;
        ASSERT_TRUE(fs::is_symlink(link)) << name;
        EXPECT_TRUE(fs::read_symlink(link).string().starts_with("../../blobs/")) << name;
        EXPECT_TRUE(ReadFile(link.string()) == ReadFile(kBundled + "/" + name)) << name;
    }
    // The safetensors blob is named by its SHA-256, as the Hub's LFS ETag names it.
    const std::string weights = ReadFile(kBundled + "/model.safetensors");
    EXPECT_TRUE(fs::exists(repo / "blobs" / ToHex(HashBytes(HashAlgorithm::kSha256, std::as_bytes(std::span(weights))))));

    // TenPak's own org/name lookup opens it.
    ASSERT_EQ(::setenv("HF_HUB_CACHE", dir.File("hub").c_str(), 1), 0);
    Result<model::Model> m = model::OpenModel("tiny/stories");
    ::unsetenv("HF_HUB_CACHE");
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->config.num_layers, 5);

    // A second pull finds every blob cached.
    Result<remote::HubDownloadReport> again = remote::DownloadFromHub("tiny/stories", Options(server, dir));
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->bytes_downloaded, 0u);
    EXPECT_EQ(again->files_already_cached, again->files.size());
}

TEST(HubDownloadTest, ShardedWeightsComeWithTheirIndex) {
    TempDir dir;
    Result<model::Model> m = model::OpenModel(kBundled);
    ASSERT_TRUE(m.ok());
    model::WriteOptions write;
    write.progress = false;
    write.max_shard_bytes = 300'000;
    ASSERT_TRUE(model::WriteHfFolder(*m, dir.File("sharded"), write).ok());
    HubServer server("tiny/sharded", dir.File("sharded"));
    Result<remote::HubDownloadReport> report = remote::DownloadFromHub("tiny/sharded", Options(server, dir));
    ASSERT_TRUE(report.ok()) << report.status().message();
    size_t shards = 0;
    for (const std::string& file : report->files) shards += file.ends_with(".safetensors");
    EXPECT_GT(shards, 1u);
    Result<io::HfFolder> folder = io::OpenHfFolder(report->snapshot);
    ASSERT_TRUE(folder.ok()) << folder.status().message();
    EXPECT_EQ(folder->tensors->tensors().size(), m->native->tensors().size());
}

TEST(HubDownloadTest, GatedRepositoryNeedsTheTokenAndBadBytesAreRefused) {
    TempDir dir;
    HubServer server("tiny/gated", kBundled, "hf_secret");
    Result<remote::HubDownloadReport> report = remote::DownloadFromHub("tiny/gated", Options(server, dir));
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.status().message().find("HF_TOKEN"), std::string::npos) << report.status().message();
    remote::HubDownloadOptions with_token = Options(server, dir);
    with_token.http.bearer_token = "hf_secret";
    report = remote::DownloadFromHub("tiny/gated", with_token);
    ASSERT_TRUE(report.ok()) << report.status().message();

    TempDir other;
    HubServer bad("tiny/bad", kBundled);
    bad.CorruptLfs();
    report = remote::DownloadFromHub("tiny/bad", Options(bad, other));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kIntegrity);
    EXPECT_NE(report.status().message().find("SHA-256"), std::string::npos) << report.status().message();
    // Nothing half-written is left under blobs/.
    const fs::path blobs = other.File("hub/models--tiny--bad/blobs");
    for (const auto& entry : fs::directory_iterator(blobs)) {
        EXPECT_FALSE(entry.path().filename().string().ends_with(".safetensors")) << entry.path();
        EXPECT_NE(entry.path().filename().string().front(), '.') << entry.path();
    }
    EXPECT_EQ(remote::DownloadFromHub("tiny/missing", Options(bad, other)).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tenpak
