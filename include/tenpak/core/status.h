// Status: the outcome of an operation that can fail for reasons outside our control (bad input,
// I/O, network). TenPak library code never throws; it returns a Status or a Result<T>.
//
// Codes are coarse and meant for callers (the CLI maps them to exit codes, the REST API to HTTP
// statuses). Messages are precise and meant for people: they name the file, tensor, offset or
// field, what was expected and, where it helps, what to do.
//
// Thread safety: a Status is a value; distinct objects may be used concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tenpak {

// Stored in no file, but the REST API reports the name: keep the values stable.
enum class StatusCode : uint8_t {
    kOk = 0,
    kInvalidArgument = 1,    // bad usage or a malformed input file
    kNotFound = 2,           // a file, tensor or key that should exist does not
    kCorruption = 3,         // bytes that violate their format (truncated, overlapping, out of range)
    kUnsupported = 4,        // well-formed but outside what TenPak handles (a dtype, an architecture)
    kIOError = 5,            // the OS refused (open, read, write, rename, mmap)
    kNetwork = 6,            // a transfer failed
    kIntegrity = 7,          // a checksum or signature does not match
    kResourceExhausted = 8,  // out of memory or disk, or a limit was hit
    kCancelled = 9,
    kInternal = 10,  // a bug in TenPak
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
public:
    Status() = default;  // OK
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status Ok() { return Status(); }
    static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
    static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
    static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
    static Status Unsupported(std::string msg) { return {StatusCode::kUnsupported, std::move(msg)}; }
    static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
    static Status Network(std::string msg) { return {StatusCode::kNetwork, std::move(msg)}; }
    static Status Integrity(std::string msg) { return {StatusCode::kIntegrity, std::move(msg)}; }
    static Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
    static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
    static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }

    // "corruption: model.safetensors: tensor 'x' ends past the end of the file"
    std::string ToString() const;

    // Returns a copy whose message is "<context>: <message>" (used to add a file name or tensor
    // name as an error travels up). An OK status stays OK.
    Status WithContext(std::string_view context) const;

private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

// errno as text, for I/O messages: "No such file or directory".
std::string ErrnoMessage(int err);

}  // namespace tenpak

#define TP_STATUS_CONCAT_INNER(a, b) a##b
#define TP_STATUS_CONCAT(a, b) TP_STATUS_CONCAT_INNER(a, b)

// Returns from the current function when `expr` (a Status) is not OK.
#define TP_RETURN_IF_ERROR(expr)                 \
    do {                                         \
        ::tenpak::Status tp_status_ = (expr);    \
        if (!tp_status_.ok()) return tp_status_; \
    } while (false)

// `TP_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result<T> or returns its error.
// It expands to several statements: inside an `if`, use braces.
#define TP_ASSIGN_OR_RETURN(lhs, expr) TP_ASSIGN_OR_RETURN_IMPL(TP_STATUS_CONCAT(tp_result_, __LINE__), lhs, expr)
#define TP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)   \
    auto tmp = (expr);                             \
    if (!tmp.ok()) return std::move(tmp).status(); \
    lhs = std::move(tmp).value()
