#include "tenpak/core/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tenpak/core/check.h"

namespace tenpak {

std::string_view StatusCodeName(StatusCode code) {
    switch (code) {
        case StatusCode::kOk:
            return "ok";
        case StatusCode::kInvalidArgument:
            return "invalid argument";
        case StatusCode::kNotFound:
            return "not found";
        case StatusCode::kCorruption:
            return "corruption";
        case StatusCode::kUnsupported:
            return "unsupported";
        case StatusCode::kIOError:
            return "I/O error";
        case StatusCode::kNetwork:
            return "network error";
        case StatusCode::kIntegrity:
            return "integrity error";
        case StatusCode::kResourceExhausted:
            return "resource exhausted";
        case StatusCode::kCancelled:
            return "cancelled";
        case StatusCode::kInternal:
            return "internal error";
    }
    return "unknown";
}

std::string Status::ToString() const {
    if (ok()) return "ok";
    std::string out(StatusCodeName(code_));
    out += ": ";
    out += message_;
    return out;
}

Status Status::WithContext(std::string_view context) const {
    if (ok()) return *this;
    std::string msg(context);
    msg += ": ";
    msg += message_;
    return {code_, std::move(msg)};
}

std::string ErrnoMessage(int err) {
    char buf[256];
    // GNU strerror_r returns a pointer that may or may not be buf.
    const char* text = strerror_r(err, buf, sizeof(buf));
    return text;
}

namespace internal {
void CheckFailed(const char* condition, const char* file, int line) {
    std::fprintf(stderr, "tenpak: internal check failed: %s at %s:%d (this is a bug; please report it)\n", condition,
                 file, line);
    std::abort();
}
}  // namespace internal

}  // namespace tenpak
