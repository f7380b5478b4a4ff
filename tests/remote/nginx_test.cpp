// Against a real nginx on loopback (its own config in a temporary folder): pulls mirror and unpack
// bit-exact, and reading one tensor transfers that tensor's stored bytes and nothing else.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tenpak/artifact/packer.h"
#include "tenpak/remote/http_client.h"
#include "tenpak/remote/pull.h"
#include "test_util.h"

extern char** environ;

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();
const char* const kNginx = "/usr/sbin/nginx";

int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// nginx in the foreground with a config serving `root`, stopped (SIGQUIT) when the object dies.
class Nginx {
public:
    // Ready once `probe` (a file under root) is served.
    Nginx(const TempDir& dir, const std::string& root, const std::string& probe) : port_(FreePort()) {
        const std::string prefix = dir.File("nginx");
        fs::create_directories(prefix);
        // Started by root, nginx runs its workers as `nobody`, who may not reach a private temporary
        // folder: keep them root then (for any other user the directive is ignored).
        const std::string user = ::geteuid() == 0 ? "user root;\n" : "";
        testing::WriteFile(prefix + "/nginx.conf",
                           user + "worker_processes 1;\ndaemon off;\npid " + prefix + "/nginx.pid;\nerror_log " + prefix +
                               "/error.log;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n"
                               "  client_body_temp_path " + prefix + "/body;\n  proxy_temp_path " + prefix +
                               "/proxy;\n  fastcgi_temp_path " + prefix + "/fastcgi;\n  uwsgi_temp_path " + prefix +
                               "/uwsgi;\n  scgi_temp_path " + prefix + "/scgi;\n  server {\n    listen 127.0.0.1:" +
                               std::to_string(port_) + ";\n    root " + root + ";\n  }\n}\n");
        const std::string conf = prefix + "/nginx.conf";
        std::vector<std::string> args = {kNginx, "-c", conf, "-p", prefix, "-e", prefix + "/error.log"};
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        if (::posix_spawn(&pid_, kNginx, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
        // Ready when it answers.
        remote::HttpOptions quick;
        quick.max_attempts = 1;
        const remote::HttpClient client(quick);
        for (int i = 0; i < 200 && pid_ > 0; ++i) {
            if (client.Head(url(probe)).ok()) {
                ready_ = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~Nginx() {
        if (pid_ > 0) {
            ::kill(pid_, SIGQUIT);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }
    bool ready() const { return ready_; }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

private:
    int port_;
    pid_t pid_ = -1;
    bool ready_ = false;
};

class NginxTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(kNginx)) GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh installs nginx-light)";
        fs::create_directories(dir_.File("www"));
        artifact::PackOptions options;
        options.progress = false;
        options.chunk_size = 64 << 10;
        Result<artifact::PackInput> input = artifact::DescribePackInput(kBundled);
        ASSERT_TRUE(input.ok());
        ASSERT_TRUE(artifact::Pack(*input, dir_.File("www/m.tnpk"), options).ok());
        nginx_ = std::make_unique<Nginx>(dir_, dir_.File("www"), "/m.tnpk");
        ASSERT_TRUE(nginx_->ready()) << ReadFile(dir_.File("nginx/error.log"));
    }

    TempDir dir_;
    std::unique_ptr<Nginx> nginx_;
};

TEST_F(NginxTest, PullMirrorsAndUnpacksBitExact) {
    remote::PullOptions options;
    options.progress = false;
    options.remote.cache_dir = dir_.File("cache");
    Result<remote::PullReport> mirror = remote::PullArtifact(nginx_->url("/m.tnpk"), dir_.File("copy.tnpk"), options);
    ASSERT_TRUE(mirror.ok()) << mirror.status().message();
    EXPECT_FALSE(mirror->full_download);
    EXPECT_TRUE(ReadFile(dir_.File("copy.tnpk")) == ReadFile(dir_.File("www/m.tnpk")));
    Result<remote::PullReport> unpack = remote::PullArtifact(nginx_->url("/m.tnpk"), dir_.File("out"), options);
    ASSERT_TRUE(unpack.ok()) << unpack.status().message();
    for (const std::string& name : testing::ListDir(kBundled)) {
        EXPECT_TRUE(ReadFile(kBundled + "/" + name) == ReadFile(dir_.File("out/" + name))) << name;
    }
}

TEST_F(NginxTest, OneTensorCostsItsStoredBytesPlusTheFooterAndManifest) {
    remote::RemoteOptions options;
    options.use_cache = false;
    Result<remote::RemoteArtifact> remote = remote::OpenRemoteArtifact(nginx_->url("/m.tnpk"), options);
    ASSERT_TRUE(remote.ok()) << remote.status().message();
    EXPECT_EQ(remote->client->requests(), 2u);  // HEAD, then the last 64 KiB
    const uint64_t opened = remote->client->bytes_received();
    EXPECT_LE(opened, 64u << 10);
    for (const char* name : {"model.embed_tokens.weight", "model.layers.3.mlp.up_proj.weight", "model.norm.weight"}) {
        const artifact::TensorEntry* tensor = remote->artifact->FindTensor(name);
        ASSERT_NE(tensor, nullptr);
        uint64_t stored = 0;
        for (uint32_t index : tensor->chunks) stored += remote->artifact->manifest().chunks[index].stored_size;
        const uint64_t before = remote->client->bytes_received();
        Result<io::TensorData> data = remote->artifact->ReadTensor(*tensor, 4);
        ASSERT_TRUE(data.ok()) << data.status().message();
        EXPECT_EQ(data->size(), tensor->info.nbytes);
        const uint64_t transferred = remote->client->bytes_received() - before;
        // Chunks in the tail read at open cost nothing more; others cost exactly their stored bytes.
        EXPECT_LE(transferred, stored) << name;
        EXPECT_LE(static_cast<double>(transferred), 1.1 * static_cast<double>(stored)) << name;
    }
}

}  // namespace
}  // namespace tenpak
