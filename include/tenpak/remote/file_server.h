// A small static file server for artifacts (cpp-httplib): GET and HEAD with Range, ETag and
// Last-Modified, for tests and for users without a CDN (`tenpak serve-artifacts`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tenpak/core/result.h"

namespace tenpak::remote {

struct FileServerOptions {
    std::string root;  // the folder served; requests cannot leave it
    std::string host = "127.0.0.1";
    int port = 8080;   // 0: any free port (see FileServer::port())
};

class FileServer {
public:
    // Binds and starts serving on a background thread.
    static Result<std::unique_ptr<FileServer>> Start(const FileServerOptions& options);
    ~FileServer();  // stops
    int port() const;
    std::string url() const;  // "http://host:port"
    // Blocks until Stop() (or a signal handler calling Stop()).
    void Wait();
    void Stop();

private:
    struct Impl;
    explicit FileServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tenpak::remote
