// The "delta" key of a delta artifact's manifest: per tensor, how it is stored and the hashes that
// tie it to its base (docs/formats/delta.md).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenpak/core/hash.h"
#include "tenpak/core/result.h"
#include "tenpak/delta/byte_planes.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::delta {

inline constexpr std::string_view kDeltaSource = "delta";  // the manifest's "source"
inline constexpr std::string_view kDeltaKey = "delta";     // its extra top-level key

// kApprox: the change approximated within a budget by one of ApproxEncoders() (budgeted deltas).
enum class Mode : uint8_t { kReference = 0, kDifference = 1, kWhole = 2, kApprox = 3 };

struct TensorDelta {
    io::TensorInfo info;  // the fine-tune's tensor
    Mode mode = Mode::kWhole;
    size_t word = 1;                         // kDifference
    Difference difference = Difference::kXor;  // kDifference
    Digest hash{};       // of the fine-tune's tensor bytes (kApprox: of the original, which apply does not rebuild exactly)
    Digest base_hash{};  // of the base tensor's bytes (kReference, kDifference, kApprox)
    std::string encoder;               // kApprox: ApproxEncoder::name()
    nlohmann::json params;             // kApprox: the encoder's parameters
    double relative_error = 0;         // kApprox: ||rebuilt - fine|| / ||fine - base||
};

std::string_view ModeName(Mode mode);  // "ref", "diff", "whole", "approx"

nlohmann::json TensorDeltaToJson(const TensorDelta& tensor, HashAlgorithm algorithm);
// `where` names the artifact and tensor in errors.
Result<TensorDelta> TensorDeltaFromJson(const std::string& name, const nlohmann::json& json, const std::string& where);

}  // namespace tenpak::delta
