// The artifact file server over real sockets (cpp-httplib's client): whole files, HEAD, each form of
// byte range, conditional requests, keep-alive framing, and paths that try to leave the root.
#include "tenpak/remote/file_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <random>
#include <regex>
#include <thread>

#include "remote/http_validators_internal.h"
#include "test_util.h"

namespace tenpak::remote {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

// Not a multiple of the server's 256 KiB read block, so that the last block is a short one.
constexpr size_t kBigSize = 3 * 1024 * 1024 + 12345;

std::string RandomBytes(size_t size, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    return bytes;
}

// One client connection that sends requests as written (no client normalizes or encodes the path).
class RawConnection {
public:
    explicit RawConnection(int port) : sock_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(sock_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~RawConnection() { ::close(sock_); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connected() const { return connected_; }
    void Send(const std::string& request) { ::send(sock_, request.data(), request.size(), MSG_NOSIGNAL); }
    // Everything up to and including the blank line after the headers, and no byte more.
    std::string ReadHead() {
        std::string head;
        char c = 0;
        while (!head.ends_with("\r\n\r\n") && ::recv(sock_, &c, 1, 0) == 1) head += c;
        return head;
    }
    // Everything until the server closes the connection.
    std::string ReadToEnd() {
        std::string received;
        char buffer[4096];
        ssize_t got = 0;
        while ((got = ::recv(sock_, buffer, sizeof buffer, 0)) > 0) received.append(buffer, static_cast<size_t>(got));
        return received;
    }

private:
    int sock_;
    bool connected_ = false;
};

int StatusOf(const std::string& response) {
    std::smatch match;
    static const std::regex kStatusLine(R"(^HTTP/1\.1 (\d{3}) )");
    return std::regex_search(response, match, kStatusLine) ? std::stoi(match[1]) : -1;
}

// GET `path` on a connection of its own; the status code, or -1 when nothing answers.
int RawGetStatus(int port, const std::string& path, std::string* response = nullptr) {
    RawConnection connection(port);
    if (!connection.connected()) return -1;
    connection.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string received = connection.ReadToEnd();
    if (response) *response = received;
    return StatusOf(received);
}

class FileServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        big_ = RandomBytes(kBigSize, 1);
        small_ = RandomBytes(1000, 2);
        WriteFile(dir_.File("big.bin"), big_);
        WriteFile(dir_.File("empty.bin"), "");
        fs::create_directories(dir_.File("nested/deeper"));
        WriteFile(dir_.File("nested/deeper/small.bin"), small_);
        fs::create_directories(dir_.File("with space"));
        WriteFile(dir_.File("with space/a b.bin"), small_);
        FileServerOptions options;
        options.root = dir_.path();
        options.port = 0;
        Result<std::unique_ptr<FileServer>> started = FileServer::Start(options);
        ASSERT_TRUE(started.ok()) << started.status().message();
        server_ = std::move(started).value();
        client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    }

    // GET with the given headers; fails the test when the request itself fails.
    httplib::Response Get(const std::string& path, const httplib::Headers& headers = {}) {
        httplib::Result result = client_->Get(path, headers);
        EXPECT_TRUE(result) << path << ": " << httplib::to_string(result.error());
        return result ? *result : httplib::Response{};
    }
    httplib::Response GetRange(const std::string& path, const std::string& range) {
        return Get(path, {{"Range", range}});
    }
    static void ExpectOneHeader(const httplib::Response& res, const std::string& name, const std::string& value,
                                const std::string& what) {
        EXPECT_EQ(res.get_header_value_count(name), 1u) << name << " in " << what;
        EXPECT_EQ(res.get_header_value(name), value) << name << " in " << what;
    }
    std::string ContentRange(uint64_t first, uint64_t last, uint64_t size) const {
        return "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size);
    }
    void ExpectWholeBig(const httplib::Response& res, const std::string& what) const {
        EXPECT_EQ(res.status, 200) << what;
        EXPECT_EQ(res.body.size(), big_.size()) << what;
        EXPECT_TRUE(res.body == big_) << what;
        EXPECT_FALSE(res.has_header("Content-Range")) << what;
        ExpectOneHeader(res, "Content-Type", "application/octet-stream", what);
        ExpectOneHeader(res, "Content-Length", std::to_string(big_.size()), what);
    }

    TempDir dir_;
    std::string big_;
    std::string small_;
    std::unique_ptr<FileServer> server_;
    std::unique_ptr<httplib::Client> client_;
};

TEST_F(FileServerTest, UrlNamesHostAndPort) {
    EXPECT_GT(server_->port(), 0);
    EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(FileServerTest, GetReturnsEveryByte) {
    const httplib::Response res = Get("/big.bin");
    ExpectWholeBig(res, "GET");
    EXPECT_EQ(res.get_header_value("Accept-Ranges"), "bytes");

    const httplib::Response nested = Get("/nested/deeper/small.bin");
    EXPECT_EQ(nested.status, 200);
    EXPECT_TRUE(nested.body == small_);
    const httplib::Response encoded = Get("/with%20space/a%20b.bin");  // the path is percent-decoded
    EXPECT_EQ(encoded.status, 200);
    EXPECT_TRUE(encoded.body == small_);
    const httplib::Response dotted = Get("/nested/./deeper//small.bin");
    EXPECT_EQ(dotted.status, 200);

    const httplib::Response empty = Get("/empty.bin");
    EXPECT_EQ(empty.status, 200);
    EXPECT_EQ(empty.body, "");
    EXPECT_EQ(empty.get_header_value("Content-Length"), "0");
}

TEST_F(FileServerTest, HeadGivesTheHeadersOfGetAndNoBody) {
    httplib::Result result = client_->Head("/big.bin");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body, "");
    ExpectOneHeader(*result, "Content-Length", std::to_string(kBigSize), "HEAD");
    ExpectOneHeader(*result, "Content-Type", "application/octet-stream", "HEAD");
    ExpectOneHeader(*result, "Accept-Ranges", "bytes", "HEAD");
    EXPECT_EQ(result->get_header_value_count("ETag"), 1u);
    EXPECT_EQ(result->get_header_value_count("Last-Modified"), 1u);
    struct stat st {};
    ASSERT_EQ(::stat(dir_.File("big.bin").c_str(), &st), 0);
    const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    EXPECT_EQ(result->get_header_value("ETag"), StrongEtag(kBigSize, mtime_ns));
    EXPECT_TRUE(std::regex_match(result->get_header_value("ETag"), std::regex(R"("[0-9a-f]+-[0-9a-f]+")")));
    EXPECT_EQ(result->get_header_value("Last-Modified"), HttpDate(st.st_mtim.tv_sec));
    EXPECT_TRUE(
        std::regex_match(result->get_header_value("Last-Modified"),
                         std::regex(R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT)")));

    // The same validators on GET, and HEAD of a range says what GET would send.
    const httplib::Response get = Get("/big.bin");
    EXPECT_EQ(get.get_header_value("ETag"), result->get_header_value("ETag"));
    EXPECT_EQ(get.get_header_value("Last-Modified"), result->get_header_value("Last-Modified"));
    httplib::Result head_range = client_->Head("/big.bin", {{"Range", "bytes=100-199"}});
    ASSERT_TRUE(head_range);
    EXPECT_EQ(head_range->status, 206);
    EXPECT_EQ(head_range->body, "");
    EXPECT_EQ(head_range->get_header_value("Content-Length"), "100");
    EXPECT_EQ(head_range->get_header_value("Content-Range"), ContentRange(100, 199, kBigSize));
}

TEST_F(FileServerTest, EachFormOfByteRangeGivesExactlyItsBytes) {
    struct Case {
        std::string range;
        uint64_t first;
        uint64_t last;
    };
    const uint64_t n = kBigSize;
    const std::vector<Case> cases = {
        {"bytes=0-0", 0, 0},
        {"bytes=10-99", 10, 99},
        {"bytes=262140-262150", 262140, 262150},  // across the server's read block boundary
        {"bytes=100000-2999999", 100000, 2999999},
        {"bytes=" + std::to_string(n - 5) + "-", n - 5, n - 1},
        {"bytes=3000000-", 3000000, n - 1},
        {"bytes=0-", 0, n - 1},
        {"bytes=-1", n - 1, n - 1},
        {"bytes=-777", n - 777, n - 1},
        {"bytes=-99999999", 0, n - 1},            // a suffix longer than the file
        {"bytes=1000-99999999999", 1000, n - 1},  // a last byte past the end is clamped
    };
    for (const Case& c : cases) {
        const httplib::Response res = GetRange("/big.bin", c.range);
        EXPECT_EQ(res.status, 206) << c.range;
        ExpectOneHeader(res, "Content-Range", ContentRange(c.first, c.last, n), c.range);
        ExpectOneHeader(res, "Content-Length", std::to_string(c.last - c.first + 1), c.range);
        ExpectOneHeader(res, "Content-Type", "application/octet-stream", c.range);
        EXPECT_TRUE(res.body == big_.substr(c.first, c.last - c.first + 1)) << c.range;
    }
    const httplib::Response small = GetRange("/nested/deeper/small.bin", "bytes=-10");
    EXPECT_EQ(small.status, 206);
    EXPECT_TRUE(small.body == small_.substr(990));
}

TEST_F(FileServerTest, UnsatisfiableRangeIs416WithTheSize) {
    for (const std::string& range :
         std::vector<std::string>{"bytes=" + std::to_string(kBigSize) + "-", "bytes=99999999-99999999", "bytes=-0"}) {
        const httplib::Response res = GetRange("/big.bin", range);
        EXPECT_EQ(res.status, 416) << range;
        EXPECT_EQ(res.get_header_value("Content-Range"), "bytes */" + std::to_string(kBigSize)) << range;
        EXPECT_EQ(res.body, "") << range;
    }
    const httplib::Response empty = GetRange("/empty.bin", "bytes=0-");
    EXPECT_EQ(empty.status, 416);
    EXPECT_EQ(empty.get_header_value("Content-Range"), "bytes */0");
}

TEST_F(FileServerTest, MalformedAndMultipleRangesAreServedWhole) {
    // "bytes=5-2" and "items=0-1" are refused by httplib's own parser before any handler runs; the
    // server turns that back into a whole answer. Several ranges are answered with the whole file.
    for (const std::string& range :
         std::vector<std::string>{"bytes=5-2", "items=0-1", "bytes=abc", "bytes=0-1,5-6", "bytes=0-1, 100-200, 7-"}) {
        const httplib::Response res = GetRange("/big.bin", range);
        ExpectWholeBig(res, range);
    }
    const httplib::Response empty = GetRange("/empty.bin", "bytes=-10");
    EXPECT_EQ(empty.status, 200);
    EXPECT_EQ(empty.body, "");
}

TEST_F(FileServerTest, IfNoneMatchGives304) {
    const std::string etag = Get("/big.bin").get_header_value("ETag");
    ASSERT_FALSE(etag.empty());
    for (const std::string& header : std::vector<std::string>{etag, "*", "\"other\", " + etag, "W/" + etag}) {
        const httplib::Response res = Get("/big.bin", {{"If-None-Match", header}});
        EXPECT_EQ(res.status, 304) << header;
        EXPECT_EQ(res.body, "") << header;
        EXPECT_EQ(res.get_header_value("ETag"), etag) << header;
    }
    ExpectWholeBig(Get("/big.bin", {{"If-None-Match", "\"other\""}}), "stale If-None-Match");
    // If-None-Match wins over Range (RFC 9110 13.2.2).
    EXPECT_EQ(Get("/big.bin", {{"If-None-Match", etag}, {"Range", "bytes=0-9"}}).status, 304);

    // No Content-Length on a 304 (it would have to be the whole size), and no body: the next response
    // on the same connection follows the blank line at once. (httplib's own client reads a 304 without
    // a length until the connection closes, so the check sends raw requests.)
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.connected());
    connection.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + "\r\n\r\n");
    const std::string head = connection.ReadHead();
    EXPECT_EQ(StatusOf(head), 304) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    connection.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\nConnection: close\r\n\r\n");
    const std::string next = connection.ReadToEnd();
    EXPECT_EQ(StatusOf(next), 206) << next.substr(0, 100);
    EXPECT_TRUE(next.ends_with("\r\n\r\n" + big_.substr(0, 4)));
}

TEST_F(FileServerTest, IfRangeMismatchServesTheWholeFile) {
    const httplib::Response head = Get("/big.bin");
    const std::string etag = head.get_header_value("ETag");
    const std::string last_modified = head.get_header_value("Last-Modified");

    httplib::Response res = Get("/big.bin", {{"Range", "bytes=0-9"}, {"If-Range", etag}});
    EXPECT_EQ(res.status, 206);
    EXPECT_TRUE(res.body == big_.substr(0, 10));
    res = Get("/big.bin", {{"Range", "bytes=0-9"}, {"If-Range", last_modified}});
    EXPECT_EQ(res.status, 206);

    for (const std::string& stale : std::vector<std::string>{"\"0-0\"", "W/" + etag, "Thu, 01 Jan 1970 00:00:00 GMT"}) {
        res = Get("/big.bin", {{"Range", "bytes=0-9"}, {"If-Range", stale}});
        ExpectWholeBig(res, "If-Range: " + stale);
    }
}

TEST_F(FileServerTest, MissingFilesAndFoldersAre404) {
    EXPECT_EQ(Get("/missing.bin").status, 404);
    EXPECT_EQ(Get("/nested").status, 404);
    EXPECT_EQ(Get("/nested/").status, 404);
    EXPECT_EQ(Get("/").status, 404);
    EXPECT_EQ(Get("/nested/deeper/small.bin/x").status, 404);
    ASSERT_EQ(::mkfifo(dir_.File("fifo").c_str(), 0600), 0);
    EXPECT_EQ(Get("/fifo").status, 404);  // and answered at once: opening it does not wait for a writer
    EXPECT_EQ(GetRange("/missing.bin", "bytes=0-1").status, 404);
    httplib::Result post = client_->Post("/big.bin", "x", "text/plain");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405);
    EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
}

TEST_F(FileServerTest, PathsThatLeaveTheRootAreRefused) {
    // A file next to the root, that an escape would reach.
    TempDir outside;
    WriteFile(outside.File("secret.txt"), "secret-outside-the-root");
    fs::create_symlink(outside.File("secret.txt"), dir_.File("escape"));
    fs::create_symlink(dir_.File("nested/deeper/small.bin"), dir_.File("inside"));  // a link within the root is fine

    const std::string to_secret = "/" + fs::relative(outside.File("secret.txt"), dir_.path()).string();
    ASSERT_NE(to_secret.find(".."), std::string::npos);
    std::string encoded_secret = to_secret;  // every ".." as "%2e%2e"
    for (size_t at = encoded_secret.find(".."); at != std::string::npos; at = encoded_secret.find("..", at)) {
        encoded_secret.replace(at, 2, "%2e%2e");
    }
    const std::vector<std::string> paths = {"/../etc/passwd",
                                            "/%2e%2e/%2e%2e/etc/passwd",
                                            "/%2E%2E/%2E%2E/etc/passwd",
                                            "/..%2f..%2fetc%2fpasswd",
                                            "/nested/../../etc/passwd",
                                            "/nested/deeper/../../../big.bin",
                                            "/..",
                                            to_secret,
                                            encoded_secret,
                                            "/escape",
                                            "//etc/passwd",
                                            "/%00/etc/passwd"};
    for (const std::string& path : paths) {
        std::string response;
        const int status = RawGetStatus(server_->port(), path, &response);
        EXPECT_TRUE(status == 403 || status == 404 || status == 400) << path << " -> " << status;
        EXPECT_EQ(response.find("root:"), std::string::npos) << path;
        EXPECT_EQ(response.find("secret-outside"), std::string::npos) << path;
    }
    EXPECT_EQ(RawGetStatus(server_->port(), "/../big.bin"), 403);
    EXPECT_EQ(RawGetStatus(server_->port(), "/escape"), 403);
    EXPECT_EQ(RawGetStatus(server_->port(), "/inside"), 200);
}

TEST_F(FileServerTest, OneKeptAliveConnectionCarriesManyResponses) {
    // Every body length is framed by Content-Length: a wrong one would break the next response.
    client_->set_keep_alive(true);
    const std::string etag = Get("/big.bin").get_header_value("ETag");
    for (int round = 0; round < 3; ++round) {
        EXPECT_TRUE(GetRange("/big.bin", "bytes=5-1004").body == big_.substr(5, 1000));
        EXPECT_EQ(Get("/missing.bin").status, 404);
        EXPECT_EQ(GetRange("/big.bin", "bytes=0-1,4-5").body.size(), kBigSize);
        EXPECT_EQ(GetRange("/big.bin", "bytes=5-2").body.size(), kBigSize);
        EXPECT_EQ(GetRange("/big.bin", "bytes=-0").status, 416);
        EXPECT_TRUE(Get("/nested/deeper/small.bin").body == small_);
        EXPECT_EQ(Get("/empty.bin").body, "");
        httplib::Result head = client_->Head("/big.bin");
        ASSERT_TRUE(head);
        EXPECT_EQ(head->status, 200);
    }
}

TEST_F(FileServerTest, ClientsThatHangUpMidBodyDoNotHurtTheServer) {
    for (int i = 0; i < 3; ++i) {
        RawConnection connection(server_->port());
        ASSERT_TRUE(connection.connected());
        connection.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_EQ(StatusOf(connection.ReadHead()), 200);
    }  // closed with most of the body unread: the server's writes fail (EPIPE, not a SIGPIPE that kills)
    ExpectWholeBig(Get("/big.bin"), "after hang-ups");
}

TEST_F(FileServerTest, ConcurrentRangeReadsAreExact) {
    constexpr int kThreads = 4;
    constexpr uint64_t kPiece = kBigSize / kThreads;
    std::vector<std::string> pieces(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            httplib::Client client("127.0.0.1", server_->port());
            const uint64_t first = static_cast<uint64_t>(i) * kPiece;
            const uint64_t last = i == kThreads - 1 ? kBigSize - 1 : first + kPiece - 1;
            httplib::Result res =
                client.Get("/big.bin", {{"Range", "bytes=" + std::to_string(first) + "-" + std::to_string(last)}});
            if (res && res->status == 206) pieces[static_cast<size_t>(i)] = res->body;
        });
    }
    for (std::thread& t : threads) t.join();
    std::string joined;
    for (const std::string& piece : pieces) joined += piece;
    EXPECT_TRUE(joined == big_);
}

TEST(FileServerStartTest, BadRootsAndBusyPortsAreClearErrors) {
    TempDir dir;
    FileServerOptions options;
    options.port = 0;
    options.root = dir.File("missing");
    Result<std::unique_ptr<FileServer>> missing = FileServer::Start(options);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_NE(missing.status().message().find(dir.File("missing")), std::string::npos);

    WriteFile(dir.File("file"), "x");
    options.root = dir.File("file");
    Result<std::unique_ptr<FileServer>> file = FileServer::Start(options);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(file.status().message().find("not a folder"), std::string::npos);

    options.root = dir.path();
    Result<std::unique_ptr<FileServer>> first = FileServer::Start(options);
    ASSERT_TRUE(first.ok()) << first.status().message();
    options.port = (*first)->port();
    Result<std::unique_ptr<FileServer>> second = FileServer::Start(options);
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(options.port)), std::string::npos)
        << second.status().message();
    EXPECT_NE(second.status().message().find("--port"), std::string::npos);
}

TEST(FileServerStartTest, StopEndsWaitAndTheServerCanBeStoppedTwice) {
    TempDir dir;
    FileServerOptions options;
    options.root = dir.path();
    options.port = 0;
    Result<std::unique_ptr<FileServer>> server = FileServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    const int port = (*server)->port();
    std::thread stopper([&] { (*server)->Stop(); });
    (*server)->Wait();
    stopper.join();
    (*server)->Stop();
    EXPECT_EQ(RawGetStatus(port, "/"), -1);  // nothing listens any more
}

}  // namespace
}  // namespace tenpak::remote
