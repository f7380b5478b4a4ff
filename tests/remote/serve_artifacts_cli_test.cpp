// `tenpak serve-artifacts` as a user runs it: a child process that prints its URL, serves a file,
// and exits 0 on SIGTERM or SIGINT; and exit 2 for a folder that is not there.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <filesystem>
#include <regex>

#include "test_util.h"

extern char** environ;

namespace tenpak {
namespace {
using testing::RunTenpak;
using testing::TempDir;
using testing::WriteFile;

// A `tenpak` child whose stdout is a pipe, so that the test reads what it prints while it runs.
class ServingChild {
public:
    explicit ServingChild(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe(fds) != 0) return;
        std::vector<std::string> storage = {TENPAK_BINARY};
        storage.insert(storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (std::string& a : storage) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        posix_spawn_file_actions_addclose(&actions, fds[1]);
        if (posix_spawn(&pid_, TENPAK_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        out_ = fds[0];
    }
    ~ServingChild() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) ::close(out_);
    }
    ServingChild(const ServingChild&) = delete;
    ServingChild& operator=(const ServingChild&) = delete;

    bool started() const { return pid_ > 0; }
    // The first line printed (the server prints it once it listens); empty if the child exits first.
    std::string FirstLine() {
        std::string line;
        char c = 0;
        while (::read(out_, &c, 1) == 1 && c != '\n') line += c;
        return line;
    }
    // The pretty-printed JSON object printed with --json (lines up to the closing brace).
    nlohmann::json ReadJson() {
        std::string text;
        for (std::string line = FirstLine(); !line.empty(); line = FirstLine()) {
            text += line;
            if (line == "}") break;
        }
        return nlohmann::json::parse(text, nullptr, false);
    }
    // Sends the signal and returns the exit code (128 + signal if the signal killed it).
    int SignalAndWait(int signal_number) {
        ::kill(pid_, signal_number);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

TEST(ServeArtifactsCliTest, ServesUntilSignalledThenExitsZero) {
    TempDir dir;
    const std::string bytes(100000, 'q');
    WriteFile(dir.File("m.tnpk"), bytes);
    for (const int signal_number : {SIGTERM, SIGINT}) {
        // Port 0: the server picks a free port and prints it, so no port is guessed and raced for.
        ServingChild child({"serve-artifacts", dir.path(), "--port", "0"});
        ASSERT_TRUE(child.started());
        const std::string line = child.FirstLine();
        std::smatch match;
        ASSERT_TRUE(std::regex_match(line, match,
                                     std::regex(R"(serving (.*) at http://127\.0\.0\.1:(\d+) \(Ctrl-C to stop\))")))
            << line;
        EXPECT_EQ(match[1], dir.path());
        httplib::Client client("127.0.0.1", std::stoi(match[2]));
        httplib::Result whole = client.Get("/m.tnpk");
        ASSERT_TRUE(whole);
        EXPECT_EQ(whole->status, 200);
        EXPECT_TRUE(whole->body == bytes);
        httplib::Result part = client.Get("/m.tnpk", {{"Range", "bytes=-10"}});
        ASSERT_TRUE(part);
        EXPECT_EQ(part->status, 206);
        EXPECT_EQ(part->body, bytes.substr(bytes.size() - 10));
        EXPECT_EQ(child.SignalAndWait(signal_number), 0) << strsignal(signal_number);
    }
}

TEST(ServeArtifactsCliTest, JsonGivesTheUrl) {
    TempDir dir;
    ServingChild child({"serve-artifacts", dir.path(), "--port", "0", "--json"});
    ASSERT_TRUE(child.started());
    const nlohmann::json printed = child.ReadJson();
    ASSERT_TRUE(printed.is_object());
    const int port = printed["port"].get<int>();
    EXPECT_GT(port, 0);
    EXPECT_EQ(printed["url"], "http://127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(printed["root"], dir.path());
    EXPECT_EQ(child.SignalAndWait(SIGTERM), 0);
}

TEST(ServeArtifactsCliTest, MissingFolderOrAFileIsExit2) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"serve-artifacts", dir.File("nope"), "--port", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(dir.File("nope")), std::string::npos) << r.err;
    WriteFile(dir.File("file"), "x");
    r = RunTenpak({"serve-artifacts", dir.File("file"), "--port", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not a folder"), std::string::npos) << r.err;
    r = RunTenpak({"serve-artifacts", dir.path(), "--port", "70000"});
    EXPECT_EQ(r.exit_code, 2);
}

// The commands a user runs against a served artifact: pull (mirror, unpack through the cache, with
// a required signature), stream one tensor, and eval with the URL as the MODEL.
TEST(ServeArtifactsCliTest, PullStreamAndEvalWhatItServes) {
    TempDir dir;
    const std::string bundled = testing::BundledModel();
    ASSERT_EQ(RunTenpak({"keygen", "-o", dir.File("key")}).exit_code, 0);
    std::filesystem::create_directories(dir.File("www"));
    testing::CommandResult r =
        RunTenpak({"pack", bundled, "-o", dir.File("www/m.tnpk"), "--sign", dir.File("key"), "--chunk-size", "64KiB"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ServingChild server({"serve-artifacts", dir.File("www"), "--port", "0", "--json"});
    ASSERT_TRUE(server.started());
    const nlohmann::json started = server.ReadJson();
    ASSERT_TRUE(started.is_object() && started.contains("url"));
    const std::string url = started["url"].get<std::string>() + "/m.tnpk";
    // Nothing in these tests may touch the user's own chunk cache.
    ASSERT_EQ(::setenv("XDG_CACHE_HOME", dir.File("xdg").c_str(), 1), 0);

    r = RunTenpak({"pull", url, "-o", dir.File("copy.tnpk"), "--pubkey", dir.File("key.pub"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(testing::ReadFile(dir.File("copy.tnpk")) == testing::ReadFile(dir.File("www/m.tnpk")));
    EXPECT_NE(nlohmann::json::parse(r.out)["signature"].get<std::string>().find("valid"), std::string::npos);

    r = RunTenpak({"pull", url, "-o", dir.File("out"), "--cache", dir.File("cache"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["chunks_from_cache"], 0);
    for (const std::string& name : testing::ListDir(bundled)) {
        EXPECT_TRUE(testing::ReadFile(bundled + "/" + name) == testing::ReadFile(dir.File("out/" + name))) << name;
    }
    r = RunTenpak({"pull", url, "-o", dir.File("out2"), "--cache", dir.File("cache"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json again = nlohmann::json::parse(r.out);
    EXPECT_EQ(again["chunks_from_cache"], again["chunks"]);

    r = RunTenpak({"stream", url, "--tensor", "model.layers.0.mlp.up_proj.weight", "--no-cache", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json streamed = nlohmann::json::parse(r.out);
    EXPECT_LE(streamed["transfer_ratio"].get<double>(), 1.1);
    EXPECT_EQ(streamed["open_requests"], 2);
    r = RunTenpak({"stream", url, "--tensor", "no.such.tensor", "--no-cache"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("no tensor 'no.such.tensor'"), std::string::npos) << r.err;

    const std::string text = testing::SampleText(dir, 4000);
    const testing::CommandResult local = RunTenpak({"eval", bundled, "--text", text, "--ctx", "128", "--json"});
    const testing::CommandResult remote = RunTenpak({"eval", url, "--text", text, "--ctx", "128", "--json"});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    ASSERT_EQ(remote.exit_code, 0) << remote.err;
    EXPECT_EQ(nlohmann::json::parse(local.out)["perplexity"], nlohmann::json::parse(remote.out)["perplexity"]);
    EXPECT_TRUE(std::filesystem::exists(dir.File("xdg/tenpak/chunks")));  // eval went through the default cache

    r = RunTenpak({"pull", started["url"].get<std::string>() + "/missing.tnpk", "-o", dir.File("x.tnpk")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("missing.tnpk: HTTP 404"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.File("x.tnpk")));
    r = RunTenpak({"pull", "not a url", "-o", dir.File("y")});
    EXPECT_EQ(r.exit_code, 2);
    ::unsetenv("XDG_CACHE_HOME");
    EXPECT_EQ(server.SignalAndWait(SIGTERM), 0);
}

}  // namespace
}  // namespace tenpak
