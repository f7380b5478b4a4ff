// The artifact file server: cpp-httplib accepts connections and parses requests; everything about
// the answer (which file, which bytes, which status and headers) is decided here, from
// http_validators_internal.h.
//
// How httplib 0.11.4 is steered. Its own Range support (checked against Debian's build) applies
// req.ranges to any body or content provider of known length, whatever the handler wants: a handler
// that sets 200 still gets Content-Range and a partial body, so a whole file cannot be served when
// If-Range fails; a range past the end is not clamped (bytes=10-1000 of 100 bytes announces
// Content-Length 991); and a Range it cannot parse (bytes=5-2) is answered with a bare 416 before any
// handler runs. So bodies are given to it as content providers *without* a length, which it streams
// as they come, and this file sets Content-Length, Content-Range and the status itself. The remaining
// interference is patched in two hooks:
//  - a multi-range request makes httplib replace Content-Type with multipart/byteranges even though it
//    then sends our single body; the post-routing hook puts the real type back;
//  - its early 416 for an unparsable Range reaches the error hook, which serves the request as if
//    there were no Range (RFC 9110 says to ignore such a header).
// Requests are answered in the pre-routing hook, so no regex runs over the path.
#include "tenpak/remote/file_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "remote/http_validators_internal.h"

namespace tenpak::remote {
namespace {
namespace fs = std::filesystem;
using Kind = RangeDecision::Kind;

constexpr int kOk = 200, kPartialContent = 206, kNotModified = 304, kForbidden = 403, kNotFound = 404,
              kMethodNotAllowed = 405, kRangeNotSatisfiable = 416;
constexpr const char* kContentType = "application/octet-stream";
// One pread per block: large enough that the syscall is noise next to the socket write, small
// enough that httplib's pool of (at least 8) connection threads holds only a few MB.
constexpr size_t kReadBlock = 256 * 1024;
// httplib's default of 5 requests per connection would make a range reader reconnect every 5 reads.
constexpr size_t kKeepAliveRequests = 1000;
// How often Start() looks whether the listening thread is up; it takes microseconds.
constexpr auto kStartPoll = std::chrono::milliseconds(1);

// An open file being sent; closed when httplib drops the response (and with it the provider).
struct OpenFile {
    explicit OpenFile(int descriptor) : fd(descriptor) {}
    ~OpenFile() { ::close(fd); }
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    int fd;
    struct stat st {};
};

// Maps the decoded URL path to an open regular file under `root` (canonical), or to the status to
// answer: 403 for a path that tries to leave the root (a ".." segment, or a symlink pointing out),
// 404 for anything else that is not a readable regular file.
std::shared_ptr<OpenFile> OpenUnderRoot(const std::string& root, const std::string& url_path, int* status) {
    *status = kNotFound;
    if (url_path.empty() || url_path.front() != '/' || url_path.find('\0') != std::string::npos) return nullptr;
    fs::path relative;
    size_t begin = 1;
    while (begin <= url_path.size()) {
        const size_t end = std::min(url_path.find('/', begin), url_path.size());
        const std::string segment = url_path.substr(begin, end - begin);
        if (segment == "..") {
            *status = kForbidden;
            return nullptr;
        }
        if (!segment.empty() && segment != ".") relative /= segment;
        begin = end + 1;
    }
    std::error_code ec;
    const fs::path resolved = fs::canonical(fs::path(root) / relative, ec);
    if (ec) return nullptr;
    const std::string& text = resolved.native();
    const std::string prefix = root.back() == '/' ? root : root + "/";
    if (text != root && !text.starts_with(prefix)) {
        *status = kForbidden;
        return nullptr;
    }
    // O_NONBLOCK: opening a FIFO someone left under the root must not hang the connection thread
    // (it is refused below; reads of a regular file ignore the flag).
    const int fd = ::open(text.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return nullptr;
    auto file = std::make_shared<OpenFile>(fd);
    // fstat of the open descriptor: size and validators describe the bytes we will read.
    if (::fstat(fd, &file->st) != 0 || !S_ISREG(file->st.st_mode)) return nullptr;
    return file;
}

// Streams bytes [first, first + length) of the file, a block per call.
httplib::ContentProviderWithoutLength FileProvider(std::shared_ptr<OpenFile> file, uint64_t first, uint64_t length) {
    auto buffer = std::make_shared<std::vector<char>>(std::min<uint64_t>(length, kReadBlock));
    return [file = std::move(file), buffer, first, length](size_t sent, httplib::DataSink& sink) {
        if (sent >= length) {
            sink.done();
            return true;
        }
        const size_t want = static_cast<size_t>(std::min<uint64_t>(length - sent, buffer->size()));
        const ssize_t got = ::pread(file->fd, buffer->data(), want, static_cast<off_t>(first + sent));
        // A file cut short or unreadable after the headers went out: drop the connection, so the
        // client sees a short body rather than wrong bytes.
        if (got <= 0) return false;
        return sink.write(buffer->data(), static_cast<size_t>(got));
    };
}

void ServeFile(const std::string& root, const httplib::Request& req, httplib::Response& res, bool use_range) {
    int status = kNotFound;
    std::shared_ptr<OpenFile> file = OpenUnderRoot(root, req.path, &status);
    if (!file) {
        res.status = status;
        return;
    }
    const uint64_t size = static_cast<uint64_t>(file->st.st_size);
    const int64_t mtime_ns = static_cast<int64_t>(file->st.st_mtim.tv_sec) * 1000000000 + file->st.st_mtim.tv_nsec;
    const std::string etag = StrongEtag(size, mtime_ns);
    const std::string last_modified = HttpDate(file->st.st_mtim.tv_sec);
    res.set_header("Accept-Ranges", "bytes");
    res.set_header("ETag", etag);
    res.set_header("Last-Modified", last_modified);
    if (req.has_header("If-None-Match") && IfNoneMatchMatches(req.get_header_value("If-None-Match"), etag)) {
        res.status = kNotModified;
        return;
    }

    RangeDecision range;
    if (use_range && req.has_header("Range") &&
        (!req.has_header("If-Range") || IfRangeMatches(req.get_header_value("If-Range"), etag, last_modified))) {
        range = DecideRange(req.get_header_value("Range"), size);
    }
    if (range.kind == Kind::kUnsatisfiable) {
        res.status = kRangeNotSatisfiable;
        res.set_header("Content-Range", "bytes */" + std::to_string(size));
        return;
    }
    uint64_t first = 0;
    uint64_t length = size;
    res.status = kOk;
    if (range.kind == Kind::kPartial) {
        first = range.first;
        length = range.last - range.first + 1;
        res.status = kPartialContent;
        res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) +
                                            "/" + std::to_string(size));
    }
    res.set_header("Content-Length", std::to_string(length));
    if (req.method == "HEAD" || length == 0) {
        res.set_header("Content-Type", kContentType);
        return;
    }
    res.set_content_provider(kContentType, FileProvider(std::move(file), first, length));  // sets Content-Type
}

// Only ours: httplib's default also sets SO_REUSEPORT, with which a second server binds a port that
// is already serving and the kernel splits the connections between them.
void ReuseAddressOnly(socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::string HostForUrl(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;  // an IPv6 literal
}

}  // namespace

struct FileServer::Impl {
    std::string root;  // canonical
    std::string host;
    int port = 0;
    httplib::Server server;
    std::thread thread;  // runs listen_after_bind() until Stop()
    std::atomic<bool> listening_ended{false};
    std::atomic<bool> stop_called{false};
    std::mutex join_mutex;  // Wait() may be called from several threads and from ~FileServer
};

FileServer::FileServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FileServer::~FileServer() {
    Stop();
    Wait();
}

int FileServer::port() const {
    return impl_->port;
}

std::string FileServer::url() const {
    return "http://" + HostForUrl(impl_->host) + ":" + std::to_string(impl_->port);
}

void FileServer::Wait() {
    std::lock_guard<std::mutex> lock(impl_->join_mutex);
    if (impl_->thread.joinable()) impl_->thread.join();
}

// Async-signal-safe: an atomic exchange, then httplib's stop(), which only swaps and closes the
// listening socket. Only the first call acts, so that a signal handler, the owner and the destructor
// may all call it.
void FileServer::Stop() {
    if (impl_->stop_called.exchange(true)) return;
    impl_->server.stop();
}

Result<std::unique_ptr<FileServer>> FileServer::Start(const FileServerOptions& options) {
    std::error_code ec;
    const fs::path root = fs::canonical(options.root, ec);
    if (ec) return Status::NotFound(options.root + ": cannot serve it: " + ec.message());
    if (!fs::is_directory(root, ec)) {
        return Status::InvalidArgument(options.root +
                                       " is not a folder: pass the folder that holds the files to serve");
    }
    if (options.port < 0 || options.port > 65535) {
        return Status::InvalidArgument("port " + std::to_string(options.port) +
                                       " is out of range: use 1-65535, or 0 for any free port");
    }

    auto impl = std::make_unique<Impl>();
    impl->root = root.string();
    impl->host = options.host;
    httplib::Server& server = impl->server;
    server.set_socket_options(ReuseAddressOnly);
    server.set_keep_alive_max_count(kKeepAliveRequests);
    const std::string& served = impl->root;
    server.set_pre_routing_handler([&served](const httplib::Request& req, httplib::Response& res) {
        if (req.method == "GET" || req.method == "HEAD") {
            ServeFile(served, req, res, /*use_range=*/true);
        } else {
            res.status = kMethodNotAllowed;
            res.set_header("Allow", "GET, HEAD");
        }
        return httplib::Server::HandlerResponse::Handled;
    });
    server.set_error_handler(
        httplib::Server::HandlerWithResponse([&served](const httplib::Request& req, httplib::Response& res) {
            // Ours always carry Content-Range; a bare 416 is httplib refusing a Range it could not parse.
            const bool bare_416 = res.status == kRangeNotSatisfiable && !res.has_header("Content-Range");
            if (!bare_416 || (req.method != "GET" && req.method != "HEAD")) {
                return httplib::Server::HandlerResponse::Unhandled;
            }
            ServeFile(served, req, res, /*use_range=*/false);
            return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
        // httplib added a multipart type beside (or instead of) ours; the body is one whole file.
        const auto [begin, end] = res.headers.equal_range("Content-Type");
        const bool multipart =
            std::any_of(begin, end, [](const auto& h) { return h.second.starts_with("multipart/"); });
        if (multipart) {
            res.headers.erase("Content-Type");
            if (res.status == kOk) res.set_header("Content-Type", kContentType);
        }
        // A 304 has no body, and a Content-Length on it must be the size a 200 would have (RFC 9110
        // 8.6); httplib's "0" is not, so none is sent.
        if (res.status == kNotModified) res.headers.erase("Content-Length");
    });

    const std::string where = HostForUrl(options.host) + ":" + std::to_string(options.port);
    if (options.port == 0) {
        impl->port = server.bind_to_any_port(options.host);
        if (impl->port < 0) {
            return Status::IOError("cannot listen on " + where +
                                   ": no free port, or the host is not an address of this machine");
        }
    } else {
        if (!server.bind_to_port(options.host, options.port)) {
            return Status::IOError("cannot listen on " + where +
                                   ": the port is in use or the host is not an address of this machine; choose "
                                   "another --port (0 picks a free one) or --host");
        }
        impl->port = options.port;
    }

    Impl* raw = impl.get();
    raw->thread = std::thread([raw] {
        raw->server.listen_after_bind();
        raw->listening_ended = true;
    });
    // httplib's stop() does nothing until the accept loop runs, so Start() returns only once it does
    // (listen_after_bind marks itself running first thing, or returns).
    while (!server.is_running() && !raw->listening_ended) std::this_thread::sleep_for(kStartPoll);
    if (!server.is_running()) {
        raw->stop_called = true;
        raw->thread.join();
        return Status::IOError("the server on " + where + " stopped as it started");
    }
    return std::unique_ptr<FileServer>(new FileServer(std::move(impl)));
}

}  // namespace tenpak::remote
