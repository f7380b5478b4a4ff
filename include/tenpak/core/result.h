// Result<T>: either a value of type T or a non-OK Status (C++20 has no std::expected).
//
//   Result<Header> ParseHeader(...);
//   TP_ASSIGN_OR_RETURN(Header header, ParseHeader(bytes));
//
// Accessing value() of an error Result is a bug and aborts (TP_CHECK), it never throws.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "tenpak/core/check.h"
#include "tenpak/core/status.h"

namespace tenpak {

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor): returned implicitly
    Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
        TP_CHECK(!status_.ok() && "a Result made from a Status must hold an error");
    }

    bool ok() const { return value_.has_value(); }
    const Status& status() const& { return status_; }
    Status status() && { return std::move(status_); }

    const T& value() const& {
        TP_CHECK(ok() && "value() of an error Result");
        return *value_;
    }
    T& value() & {
        TP_CHECK(ok() && "value() of an error Result");
        return *value_;
    }
    T value() && {
        TP_CHECK(ok() && "value() of an error Result");
        return std::move(*value_);
    }
    const T& operator*() const& { return value(); }
    T& operator*() & { return value(); }
    const T* operator->() const { return &value(); }
    T* operator->() { return &value(); }

private:
    std::optional<T> value_;
    Status status_;  // OK when value_ is set
};

}  // namespace tenpak
