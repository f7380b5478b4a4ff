// Budgeted deltas: a tensor's change from its base, D = fine - base (F32, rows x cols), stored as an
// approximation whose error ||D - decoded||_F stays within a given bound. Each encoder is one family
// (low rank, sparse, low-bit, sign); the delta writer asks every one for its cheapest encoding within
// the bound and keeps the smallest whose reconstructed tensor, rounded to the fine-tune's dtype, still
// meets it (docs/formats/delta.md).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/status.h"

namespace tenpak::delta {

struct Approximation {
    std::string encoder;           // the encoder's name, stored as the tensor's mode
    nlohmann::json params;         // what Decode needs besides the shape (rank, count, bits, group size)
    std::vector<std::byte> bytes;  // stored as the tensor's bytes (the container compresses them)
};

class ApproxEncoder {
public:
    virtual ~ApproxEncoder() = default;
    virtual std::string_view name() const = 0;
    // The smallest encoding of `d` in this family whose error is at most `max_error` (Frobenius), or
    // nullopt when none is (or none would pay: each encoder gives up where a plain difference is cheaper).
    virtual std::optional<Approximation> Encode(std::span<const float> d, int64_t rows, int64_t cols,
                                                double max_error) const = 0;
    // out = the decoded D. kCorruption (naming nothing but the problem) when params or the byte count
    // do not fit the shape. REQUIRES out.size() == rows * cols.
    virtual Status Decode(const nlohmann::json& params, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                          std::span<float> out) const = 0;
};

// Every encoder, cheapest families first.
const std::vector<std::unique_ptr<ApproxEncoder>>& ApproxEncoders();
// nullptr for an unknown name.
const ApproxEncoder* FindApproxEncoder(std::string_view name);

// ||a - b||_F^2, accumulated in double.
double SquaredDistance(std::span<const float> a, std::span<const float> b);
double SquaredNorm(std::span<const float> a);

// Little-endian scalars appended to / read from a byte vector: the encoders' stored layouts.
class ByteWriter {
public:
    template <typename T>
    void Put(std::span<const T> values) {
        const auto* p = reinterpret_cast<const std::byte*>(values.data());
        bytes_.insert(bytes_.end(), p, p + values.size_bytes());
    }
    std::vector<std::byte> Take() { return std::move(bytes_); }

private:
    std::vector<std::byte> bytes_;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}
    // False (and nothing read) when fewer than out.size() values are left.
    template <typename T>
    bool Get(std::span<T> out) {
        if (bytes_.size() - at_ < out.size_bytes()) return false;
        std::memcpy(out.data(), bytes_.data() + at_, out.size_bytes());
        at_ += out.size_bytes();
        return true;
    }
    bool AtEnd() const { return at_ == bytes_.size(); }

private:
    std::span<const std::byte> bytes_;
    size_t at_ = 0;
};

}  // namespace tenpak::delta
