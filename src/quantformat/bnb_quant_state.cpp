// bitsandbytes' packed QuantState JSON: see bnb_quant_state_internal.h for the exact text.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bnb_quant_state_internal.h"
#include "tenpak/core/check.h"

namespace tenpak::quantformat::internal {

namespace {

constexpr int64_t kMinBlocksize = 32;
constexpr int64_t kMaxBlocksize = 4096;
// Python's repr switches to scientific notation below 1e-4 and from 1e16 on.
constexpr int kReprMinExponent = -4;
constexpr int kReprMaxExponent = 16;

Status BadState(const std::string& what) {
    return Status::Corruption("quant state JSON: " + what);
}

// A JSON value for a message, cut short: the state may be up to the size limit of its tensor.
std::string Brief(const nlohmann::json& value) {
    constexpr size_t kMaxChars = 60;
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
    return text;
}

std::optional<int64_t> AsInt64(const nlohmann::json& value) {
    if (value.is_number_unsigned()) {
        const uint64_t u = value.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(u);
    }
    if (value.is_number_integer()) return value.get<int64_t>();
    return std::nullopt;
}

// The value of a required key, or an error naming it.
Result<const nlohmann::json*> Member(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end()) return BadState(std::string("key \"") + key + "\" is missing");
    return &*it;
}

Result<std::string> StringMember(const nlohmann::json& object, const char* key) {
    TP_ASSIGN_OR_RETURN(const nlohmann::json* value, Member(object, key));
    if (!value->is_string()) return BadState(std::string("\"") + key + "\" is " + Brief(*value) + ", not a string");
    return value->get<std::string>();
}

Result<int64_t> IntegerMember(const nlohmann::json& object, const char* key) {
    TP_ASSIGN_OR_RETURN(const nlohmann::json* value, Member(object, key));
    const std::optional<int64_t> integer = AsInt64(*value);
    if (!integer) return BadState(std::string("\"") + key + "\" is " + Brief(*value) + ", not an integer");
    return *integer;
}

bool IsPowerOfTwo(int64_t value) {
    return value > 0 && (value & (value - 1)) == 0;
}

Status ParseShape(const nlohmann::json& object, Bnb4QuantState& state) {
    TP_ASSIGN_OR_RETURN(const nlohmann::json* shape, Member(object, "shape"));
    const std::string why = "\"shape\" is " + Brief(*shape) + ", expected [N, K] of two positive integers";
    if (!shape->is_array() || shape->size() != 2) return BadState(why);
    const std::optional<int64_t> rows = AsInt64((*shape)[0]);
    const std::optional<int64_t> cols = AsInt64((*shape)[1]);
    if (!rows || !cols || *rows <= 0 || *cols <= 0) return BadState(why);
    state.rows = *rows;
    state.cols = *cols;
    return Status::Ok();
}

Status ParseNested(const nlohmann::json& object, Bnb4QuantState& state) {
    const bool has_blocksize = object.contains("nested_blocksize");
    const bool has_dtype = object.contains("nested_dtype");
    const bool has_offset = object.contains("nested_offset");
    state.nested = has_blocksize || has_dtype || has_offset;
    if (!state.nested) return Status::Ok();
    if (!has_blocksize || !has_dtype || !has_offset) {
        return BadState(
            "double quantization needs all of \"nested_blocksize\", \"nested_dtype\" and "
            "\"nested_offset\"");
    }
    TP_ASSIGN_OR_RETURN(state.nested_blocksize, IntegerMember(object, "nested_blocksize"));
    if (state.nested_blocksize <= 0 || state.nested_blocksize > kMaxBlocksize) {
        return BadState("\"nested_blocksize\" is " + std::to_string(state.nested_blocksize) + ", expected 1.." +
                        std::to_string(kMaxBlocksize) + " (bitsandbytes writes 256)");
    }
    TP_ASSIGN_OR_RETURN(const std::string nested_dtype, StringMember(object, "nested_dtype"));
    if (nested_dtype != "float32")
        return BadState("\"nested_dtype\" is \"" + nested_dtype + "\", expected \"float32\"");
    TP_ASSIGN_OR_RETURN(const nlohmann::json* offset, Member(object, "nested_offset"));
    if (!offset->is_number()) return BadState("\"nested_offset\" is " + Brief(*offset) + ", not a number");
    // bitsandbytes loads it with torch.tensor(float(...)): a float32.
    state.nested_offset = static_cast<float>(offset->get<double>());
    if (!std::isfinite(state.nested_offset)) return BadState("\"nested_offset\" " + Brief(*offset) + " is not finite");
    return Status::Ok();
}

// json.dumps of a str that needs no escaping (every string we write is a fixed ASCII name).
std::string Quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

}  // namespace

std::string PythonFloatRepr(double value) {
    TP_CHECK(std::isfinite(value));
    // std::to_chars gives the shortest round-tripping digits, as Python's repr does; only the layout
    // of those digits differs. Scientific form first: "-1.2345e-05".
    char buffer[64];
    const std::to_chars_result result =
        std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
    std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
    std::string out;
    if (text.front() == '-') {
        out = "-";
        text.remove_prefix(1);
    }
    const size_t e_at = text.find('e');
    std::string digits;
    for (char c : text.substr(0, e_at)) {
        if (c != '.') digits += c;
    }
    std::string_view exponent_text = text.substr(e_at + 1);
    if (exponent_text.front() == '+') exponent_text.remove_prefix(1);
    int exponent = 0;
    std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);

    const int count = static_cast<int>(digits.size());
    if (exponent >= kReprMinExponent && exponent < kReprMaxExponent) {
        if (exponent < 0) return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
        const int integer_digits = exponent + 1;
        if (count <= integer_digits) {
            return out + digits + std::string(static_cast<size_t>(integer_digits - count), '0') + ".0";
        }
        return out + digits.substr(0, static_cast<size_t>(integer_digits)) + "." +
               digits.substr(static_cast<size_t>(integer_digits));
    }
    out += digits.substr(0, 1);
    if (count > 1) out += "." + digits.substr(1);
    const int magnitude = std::abs(exponent);
    out += exponent < 0 ? "e-" : "e+";
    if (magnitude < 10) out += "0";
    return out + std::to_string(magnitude);
}

std::string FormatBnb4QuantState(const Bnb4QuantState& state) {
    std::string json = "{\"quant_type\": " + Quoted(state.quant_type) +
                       ", \"blocksize\": " + std::to_string(state.blocksize) + ", \"dtype\": " + Quoted(state.dtype) +
                       ", \"shape\": [" + std::to_string(state.rows) + ", " + std::to_string(state.cols) + "]";
    if (state.nested) {
        json += ", \"nested_blocksize\": " + std::to_string(state.nested_blocksize) +
                ", \"nested_dtype\": \"float32\", \"nested_offset\": " +
                PythonFloatRepr(static_cast<double>(state.nested_offset));
    }
    return json + "}";
}

Result<Bnb4QuantState> ParseBnb4QuantState(std::string_view json) {
    const nlohmann::json root = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return BadState("not valid JSON");
    if (!root.is_object()) return BadState("expected an object, found " + std::string(root.type_name()));

    Bnb4QuantState state;
    TP_ASSIGN_OR_RETURN(state.quant_type, StringMember(root, "quant_type"));
    if (state.quant_type != "nf4" && state.quant_type != "fp4") {
        return BadState("\"quant_type\" is \"" + state.quant_type + "\", expected \"nf4\" or \"fp4\"");
    }
    TP_ASSIGN_OR_RETURN(state.blocksize, IntegerMember(root, "blocksize"));
    if (!IsPowerOfTwo(state.blocksize) || state.blocksize < kMinBlocksize || state.blocksize > kMaxBlocksize) {
        return BadState("\"blocksize\" is " + std::to_string(state.blocksize) + ", expected a power of two " +
                        std::to_string(kMinBlocksize) + ".." + std::to_string(kMaxBlocksize));
    }
    TP_ASSIGN_OR_RETURN(state.dtype, StringMember(root, "dtype"));
    if (state.dtype != "float16" && state.dtype != "bfloat16" && state.dtype != "float32") {
        return BadState("\"dtype\" is \"" + state.dtype + "\", expected \"float16\", \"bfloat16\" or \"float32\"");
    }
    TP_RETURN_IF_ERROR(ParseShape(root, state));
    TP_RETURN_IF_ERROR(ParseNested(root, state));
    return state;
}

}  // namespace tenpak::quantformat::internal
