#include "tenpak/remote/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

namespace tenpak::remote {

namespace {

void EnsureCurlInitialised() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::string Trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return std::string(text);
}

// What one transfer saw: the final response's status and headers, and whether the body was cut short
// on purpose (the write callback refused it).
struct Transfer {
    long status = 0;
    std::map<std::string, std::string> headers;
    bool refused = false;
    // Called with each piece of the body; returns false to stop the transfer.
    std::function<bool(std::span<const std::byte>)> on_body;
    // Called once the final status line and headers are in, before any body; returns false to stop.
    std::function<bool(const Transfer&)> on_headers;
    bool headers_done = false;
    std::atomic<uint64_t>* received = nullptr;
};

size_t HeaderCallback(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {  // a new response (after a redirect or a 100 Continue)
        t.headers.clear();
        t.headers_done = false;
        const size_t space = line.find(' ');
        t.status = space == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
        t.headers[Lower(std::string(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
    return size * count;
}

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const size_t n = size * count;
    if (!t.headers_done) {
        t.headers_done = true;
        if (t.on_headers && !t.on_headers(t)) {
            t.refused = true;
            return 0;  // aborts with CURLE_WRITE_ERROR
        }
    }
    if (t.received != nullptr) t.received->fetch_add(n);
    if (t.on_body && !t.on_body(std::span(reinterpret_cast<const std::byte*>(data), n))) {
        t.refused = true;
        return 0;
    }
    return n;
}

bool Retryable(long status) {
    return status == 408 || status == 429 || status >= 500;
}

Status StatusError(const std::string& url, long status) {
    const std::string text = url + ": HTTP " + std::to_string(status);
    if (status == 404) return Status::NotFound(text + " (not found)");
    if (status == 401 || status == 403) {
        return Status::InvalidArgument(text + " (not authorised: check the URL; for a gated or private Hugging Face repository set HF_TOKEN)");
    }
    if (status == 416) return Status::Corruption(text + " (range not satisfiable: the file is shorter than expected)");
    if (Retryable(status)) return Status::Network(text);  // kNetwork is what WithRetries retries
    return Status::InvalidArgument(text);
}

// Parses "bytes START-END/TOTAL".
bool ParseContentRange(const std::string& value, uint64_t& start, uint64_t& end) {
    unsigned long long a = 0, b = 0;
    if (std::sscanf(value.c_str(), "bytes %llu-%llu", &a, &b) != 2) return false;
    start = a;
    end = b;
    return true;
}

}  // namespace

const std::string* HttpResponse::Header(const std::string& lower_case_name) const {
    const auto it = headers.find(lower_case_name);
    return it == headers.end() ? nullptr : &it->second;
}

struct HttpClient::Handle {
    CURL* easy = nullptr;
    ~Handle() {
        if (easy != nullptr) curl_easy_cleanup(easy);
    }
};

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {
    EnsureCurlInitialised();
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::Acquire() const {
    {
        std::lock_guard<std::mutex> lock(pool_mutex_);
        if (!pool_.empty()) {
            std::unique_ptr<Handle> handle = std::move(pool_.back());
            pool_.pop_back();
            curl_easy_reset(handle->easy);  // keeps the connection and DNS caches
            return handle;
        }
    }
    auto handle = std::make_unique<Handle>();
    handle->easy = curl_easy_init();
    return handle;
}

void HttpClient::Recycle(std::unique_ptr<Handle> handle) const {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    pool_.push_back(std::move(handle));
}

namespace {

// One request on `easy`: sets the common options, runs it, and reports curl's result.
CURLcode Perform(CURL* easy, const std::string& url, const HttpOptions& options, Transfer& transfer, bool head,
                 const std::string& range, bool follow_redirects = true) {
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, follow_redirects ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_seconds);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "tenpak/" TENPAK_VERSION);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, HeaderCallback);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, WriteCallback);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
    // Bodies arrive as stored: a transparently decompressed body would not match Content-Length or ranges.
    curl_easy_setopt(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (head) curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (!range.empty()) curl_easy_setopt(easy, CURLOPT_RANGE, range.c_str());
    curl_slist* headers = nullptr;
    if (!options.bearer_token.empty()) {
        headers = curl_slist_append(headers, ("Authorization: Bearer " + options.bearer_token).c_str());
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    }
    const CURLcode code = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0) transfer.status = status;
    curl_slist_free_all(headers);
    return code;
}

}  // namespace

namespace {

// Runs `attempt` until it succeeds, fails for good, or the attempts run out, sleeping with exponential
// backoff in between. `attempt` returns Ok, a retryable kNetwork, or a final error.
Status WithRetries(const HttpOptions& options, const std::string& url, const std::function<Status(int)>& attempt) {
    double backoff = options.first_backoff_seconds;
    Status last;
    for (int i = 0; i < options.max_attempts; ++i) {
        if (i > 0) {
            std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
            backoff = std::min(backoff * 2, options.max_backoff_seconds);
        }
        last = attempt(i);
        if (last.ok() || last.code() != StatusCode::kNetwork) return last;
    }
    return Status::Network(last.message() + " (gave up after " + std::to_string(options.max_attempts) + " attempts on " +
                           url + ")");
}

// A curl failure as a retryable network error.
Status CurlError(const std::string& url, CURLcode code) {
    return Status::Network(url + ": " + curl_easy_strerror(code));
}

}  // namespace

Result<HttpResponse> HttpClient::Head(const std::string& url, bool follow_redirects) const {
    HttpResponse response;
    const Status status = WithRetries(options_, url, [&](int) -> Status {
        std::unique_ptr<Handle> handle = Acquire();
        Transfer transfer;
        requests_.fetch_add(1);
        const CURLcode code = Perform(handle->easy, url, options_, transfer, /*head=*/true, "", follow_redirects);
        if (code != CURLE_OK) return CurlError(url, code);
        char* effective = nullptr;
        curl_easy_getinfo(handle->easy, CURLINFO_EFFECTIVE_URL, &effective);
        response.effective_url = effective != nullptr ? effective : url;
        Recycle(std::move(handle));
        response.status = transfer.status;
        response.headers = std::move(transfer.headers);
        return transfer.status >= 400 ? StatusError(url, transfer.status) : Status::Ok();
    });
    if (!status.ok()) return status;
    return response;
}

Result<HttpResponse> HttpClient::Get(const std::string& url) const {
    HttpResponse response;
    const Status status = WithRetries(options_, url, [&](int) -> Status {
        std::unique_ptr<Handle> handle = Acquire();
        Transfer transfer;
        transfer.received = &bytes_received_;
        response.body.clear();
        transfer.on_body = [&](std::span<const std::byte> piece) {
            response.body.append(reinterpret_cast<const char*>(piece.data()), piece.size());
            return true;
        };
        requests_.fetch_add(1);
        const CURLcode code = Perform(handle->easy, url, options_, transfer, false, "");
        char* effective = nullptr;
        curl_easy_getinfo(handle->easy, CURLINFO_EFFECTIVE_URL, &effective);
        response.effective_url = effective != nullptr ? effective : url;
        Recycle(std::move(handle));
        if (code != CURLE_OK) return CurlError(url, code);
        response.status = transfer.status;
        response.headers = std::move(transfer.headers);
        if (transfer.status >= 400) return StatusError(url, transfer.status);
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return response;
}

Result<std::vector<std::byte>> HttpClient::GetRange(const std::string& url, uint64_t offset, uint64_t size) const {
    std::vector<std::byte> out;
    out.reserve(size);
    if (size == 0) return out;
    bool ignores_range = false;
    const Status status = WithRetries(options_, url, [&](int) -> Status {
        const uint64_t from = offset + out.size();
        const uint64_t last = offset + size - 1;
        std::unique_ptr<Handle> handle = Acquire();
        Transfer transfer;
        transfer.received = &bytes_received_;
        Status problem;
        transfer.on_headers = [&](const Transfer& t) {
            if (t.status == 200) {
                ignores_range = true;  // the whole resource is coming: stop at once
                return false;
            }
            if (t.status != 206) return t.status < 400 ? (problem = StatusError(url, t.status), false) : true;
            uint64_t start = 0, end = 0;
            const auto it = t.headers.find("content-range");
            if (it == t.headers.end() || !ParseContentRange(it->second, start, end) || start != from || end > last) {
                problem = Status::Corruption(url + ": asked for bytes " + std::to_string(from) + "-" + std::to_string(last) +
                                             " but the server sent " +
                                             (it == t.headers.end() ? std::string("no Content-Range") : it->second));
                return false;
            }
            return true;
        };
        transfer.on_body = [&](std::span<const std::byte> piece) {
            if (transfer.status != 206) return true;  // an error page; ignored
            if (out.size() + piece.size() > size) {
                problem = Status::Corruption(url + ": the server sent more bytes than the range asked for");
                return false;
            }
            out.insert(out.end(), piece.begin(), piece.end());
            return true;
        };
        requests_.fetch_add(1);
        const CURLcode code = Perform(handle->easy, url, options_, transfer, false,
                                      std::to_string(from) + "-" + std::to_string(last));
        Recycle(std::move(handle));
        if (ignores_range) return Status::Unsupported(url + ": the server ignores Range requests");
        if (!problem.ok()) return problem;
        if (transfer.status >= 400) return StatusError(url, transfer.status);
        if (code != CURLE_OK) return CurlError(url, code);  // dropped part-way: the next attempt resumes
        if (out.size() != size) {
            return Status::Network(url + ": the connection ended after " + std::to_string(out.size()) + " of " +
                                   std::to_string(size) + " bytes");
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return out;
}

Result<uint64_t> HttpClient::Download(const std::string& url,
                                      const std::function<Status(std::span<const std::byte>)>& sink,
                                      const std::function<Status()>& restart) const {
    uint64_t delivered = 0;
    std::optional<uint64_t> expected;
    const Status status = WithRetries(options_, url, [&](int) -> Status {
        std::unique_ptr<Handle> handle = Acquire();
        Transfer transfer;
        transfer.received = &bytes_received_;
        Status problem;
        transfer.on_headers = [&](const Transfer& t) {
            if (t.status >= 400) return true;  // read below
            if (t.status == 200 && delivered > 0) {
                // The server would not resume: start again from the first byte.
                problem = restart();
                delivered = 0;
                if (!problem.ok()) return false;
            } else if (t.status == 206) {
                uint64_t start = 0, end = 0;
                const auto it = t.headers.find("content-range");
                if (it == t.headers.end() || !ParseContentRange(it->second, start, end) || start != delivered) {
                    problem = Status::Corruption(url + ": resumed at the wrong byte");
                    return false;
                }
            }
            if (t.status == 200) {
                const auto length = t.headers.find("content-length");
                if (length != t.headers.end()) expected = std::strtoull(length->second.c_str(), nullptr, 10);
            }
            return true;
        };
        transfer.on_body = [&](std::span<const std::byte> piece) {
            if (transfer.status >= 400) return true;
            problem = sink(piece);
            if (!problem.ok()) return false;
            delivered += piece.size();
            return true;
        };
        requests_.fetch_add(1);
        const CURLcode code =
            Perform(handle->easy, url, options_, transfer, false, delivered > 0 ? std::to_string(delivered) + "-" : "");
        Recycle(std::move(handle));
        if (!problem.ok()) return problem.code() == StatusCode::kNetwork ? Status::Internal(problem.message()) : problem;
        if (transfer.status >= 400) return StatusError(url, transfer.status);
        if (code != CURLE_OK) return CurlError(url, code);
        if (expected && delivered != *expected) {
            return Status::Network(url + ": the connection ended after " + std::to_string(delivered) + " of " +
                                   std::to_string(*expected) + " bytes");
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return delivered;
}

bool IsHttpUrl(const std::string& text) {
    return text.starts_with("http://") || text.starts_with("https://");
}

}  // namespace tenpak::remote
