// A test HTTP server (cpp-httplib) that serves one artifact's bytes and misbehaves on request:
// drops connections part-way, sends wrong bytes, answers 404 or 500, or ignores Range.
#pragma once

#include <atomic>
#include <string>

#include "test_server.h"

namespace tenpak::testing {

class FaultServer {
public:
    enum class Fault { kNone, kDropMidTransfer, kWrongBytes, kNotFound, kServerError, kIgnoreRange };

    explicit FaultServer(std::string body)
        : body_(std::move(body)),
          server_([this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); }) {}

    std::string url(const std::string& name = "m.tnpk") const { return server_.endpoint() + "/" + name; }
    // The fault applies to the next `count` range requests into the chunk area (from `first_byte`
    // on, so that the footer and manifest still come through), or to every request with count < 0.
    void Inject(Fault fault, int count, size_t first_byte = 0) {
        fault_ = fault;
        remaining_ = count;
        first_byte_ = first_byte;
    }
    // GET requests with and without a Range header (HEAD not counted).
    int range_requests() const { return range_requests_.load(); }
    int full_requests() const { return full_requests_.load(); }

private:
    bool FaultApplies(const httplib::Request& req) {
        if (fault_ == Fault::kNone) return false;
        if (!req.ranges.empty() && static_cast<size_t>(req.ranges[0].first) < first_byte_) return false;
        if (remaining_ == 0) return false;
        if (remaining_ > 0) --remaining_;
        return true;
    }

    void Handle(const httplib::Request& req, httplib::Response& res) {
        if (req.path != "/m.tnpk") {
            res.status = 404;
            return;
        }
        const bool head = req.method == "HEAD";
        if (!head) (req.ranges.empty() ? full_requests_ : range_requests_)++;
        const Fault fault = head ? Fault::kNone : (FaultApplies(req) ? fault_.load() : Fault::kNone);
        switch (fault) {
            case Fault::kNotFound:
                res.status = 404;
                return;
            case Fault::kServerError:
                res.status = 500;
                return;
            case Fault::kIgnoreRange:
                res.status = 200;  // the whole body, whatever was asked
                res.set_content(body_, "application/octet-stream");
                return;
            case Fault::kWrongBytes: {
                std::string wrong = body_;
                const size_t at = req.ranges.empty() ? wrong.size() / 2 : static_cast<size_t>(req.ranges[0].first) + 1;
                if (at < wrong.size()) wrong[at] ^= 0x20;
                res.set_content(wrong, "application/octet-stream");
                return;
            }
            case Fault::kDropMidTransfer:
                // Announce everything, send a little, then cut the connection.
                res.set_content_provider(body_.size(), "application/octet-stream",
                                         [this](size_t offset, size_t length, httplib::DataSink& sink) {
                                             sink.write(body_.data() + offset, std::min<size_t>(length, 700));
                                             return false;
                                         });
                return;
            case Fault::kNone:
                res.set_content(body_, "application/octet-stream");
                return;
        }
    }

    std::string body_;
    std::atomic<Fault> fault_{Fault::kNone};
    std::atomic<int> remaining_{0};
    std::atomic<size_t> first_byte_{0};
    std::atomic<int> range_requests_{0};
    std::atomic<int> full_requests_{0};
    TestHttpServer server_;  // last: its thread calls Handle, which uses the members above
};

}  // namespace tenpak::testing
