// HTTP(S) over libcurl, as artifacts and Hub downloads need it: whole small files, byte ranges, and
// large streamed downloads, each with retries and exponential backoff, and a dropped transfer resumed
// from the byte it reached.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/result.h"

namespace tenpak::remote {

struct HttpOptions {
    int max_attempts = 6;                 // per request, the first one included
    double first_backoff_seconds = 0.1;   // doubled after each failed attempt
    double max_backoff_seconds = 5.0;
    long connect_timeout_seconds = 15;
    long stall_timeout_seconds = 30;      // a transfer slower than 1 byte/s for this long is dropped and retried
    std::string bearer_token;             // sent as "Authorization: Bearer ..." when not empty
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // lower-case names, the last response's (after redirects)
    std::string body;
    std::string effective_url;

    const std::string* Header(const std::string& lower_case_name) const;
};

// Thread safety: every method may be called from several threads at once (each transfer uses its
// own curl handle; handles are pooled so that connections are reused).
class HttpClient {
public:
    explicit HttpClient(HttpOptions options = {});
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // HEAD, following redirects unless asked not to (then a 3xx is returned as it is, with its
    // Location). A status >= 400 is an error naming the URL and the status (kNotFound for 404,
    // kInvalidArgument for 401/403 with a hint about HF_TOKEN, kNetwork for 5xx after retries).
    Result<HttpResponse> Head(const std::string& url, bool follow_redirects = true) const;
    // GET of a small resource into memory, with retries.
    Result<HttpResponse> Get(const std::string& url) const;
    // Exactly `size` bytes at `offset` by a Range request; a transfer dropped part-way is resumed
    // from where it stopped. kUnsupported when the server ignores Range (answers 200 with the
    // whole resource), so that the caller can fall back to one full download.
    Result<std::vector<std::byte>> GetRange(const std::string& url, uint64_t offset, uint64_t size) const;
    // The whole resource, streamed to `sink` in order. A dropped transfer is resumed with a Range
    // request when the server allows it, else restarted (`restart` is called first, so the caller
    // can truncate what it wrote). Returns the bytes delivered.
    Result<uint64_t> Download(const std::string& url, const std::function<Status(std::span<const std::byte>)>& sink,
                              const std::function<Status()>& restart) const;

    // Bytes of response bodies received over the client's life (retries included).
    uint64_t bytes_received() const { return bytes_received_.load(); }
    // Requests sent (retries included).
    uint64_t requests() const { return requests_.load(); }

private:
    struct Handle;
    std::unique_ptr<Handle> Acquire() const;
    void Recycle(std::unique_ptr<Handle> handle) const;

    HttpOptions options_;
    mutable std::mutex pool_mutex_;
    mutable std::vector<std::unique_ptr<Handle>> pool_;
    mutable std::atomic<uint64_t> bytes_received_{0};
    mutable std::atomic<uint64_t> requests_{0};
};

// Whether `text` is an http:// or https:// URL.
bool IsHttpUrl(const std::string& text);

}  // namespace tenpak::remote
