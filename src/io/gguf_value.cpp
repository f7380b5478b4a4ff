// GgufValue: one GGUF metadata value. Integers are kept widened (uint64_t for unsigned types,
// int64_t for signed), F32 as the exact double of the float, and arrays behind a shared_ptr so that
// copying a 150,000-token vocabulary is cheap. The GgufType remembers the width written on disk.
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

#include "gguf_internal.h"
#include "tenpak/io/gguf.h"

namespace tenpak::io {
namespace {

// Items shown by Describe() before "...".
constexpr size_t kDescribeItems = 4;
// Longest name QuoteName() shows in full.
constexpr size_t kQuoteMaxBytes = 96;

constexpr std::array<std::string_view, 13> kTypeNames = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

// Appends `text` with quotes and escapes; at most `max_bytes` of it (then "...").
void AppendQuoted(std::string& out, std::string_view text, size_t max_bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    const size_t shown = text.size() > max_bytes ? max_bytes : text.size();
    for (size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        } else {
            out += static_cast<char>(c);  // printable ASCII and UTF-8 bytes
        }
    }
    out += '"';
    if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
}

template <typename T>
std::string ShortestText(T v) {
    std::array<char, 64> buf;
    const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return std::string(buf.data(), result.ptr);
}

}  // namespace

std::string_view GgufTypeName(GgufType type) {
    const auto id = static_cast<uint32_t>(type);
    return id < kTypeNames.size() ? kTypeNames[id] : std::string_view("unknown");
}

GgufValue GgufValue::MakeArray(GgufType element_type, std::vector<GgufValue> items) {
    auto array = std::make_shared<Array>();
    array->element_type = element_type;
    array->items = std::move(items);
    return {GgufType::kArray, std::shared_ptr<const Array>(std::move(array))};
}

GgufValue GgufValue::StringArray(const std::vector<std::string>& items) {
    std::vector<GgufValue> values;
    values.reserve(items.size());
    for (const std::string& item : items) values.push_back(String(item));
    return MakeArray(GgufType::kString, std::move(values));
}

// The items are set in place rather than built with F32() / I32(): moving a freshly built Payload
// makes GCC 12 report a false -Wmaybe-uninitialized (on the std::string alternative) under
// -fsanitize=address at -O3.
GgufValue GgufValue::F32Array(const std::vector<float>& items) {
    std::vector<GgufValue> values(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        values[i].type_ = GgufType::kF32;
        values[i].payload_ = static_cast<double>(items[i]);
    }
    return MakeArray(GgufType::kF32, std::move(values));
}

GgufValue GgufValue::I32Array(const std::vector<int32_t>& items) {
    std::vector<GgufValue> values(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        values[i].type_ = GgufType::kI32;
        values[i].payload_ = static_cast<int64_t>(items[i]);
    }
    return MakeArray(GgufType::kI32, std::move(values));
}

std::optional<uint64_t> GgufValue::AsUInt() const {
    if (const auto* u = std::get_if<uint64_t>(&payload_)) return *u;
    if (const auto* i = std::get_if<int64_t>(&payload_)) {
        if (*i >= 0) return static_cast<uint64_t>(*i);
    }
    return std::nullopt;
}

std::optional<int64_t> GgufValue::AsInt() const {
    if (const auto* i = std::get_if<int64_t>(&payload_)) return *i;
    if (const auto* u = std::get_if<uint64_t>(&payload_)) {
        if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(*u);
    }
    return std::nullopt;
}

std::optional<double> GgufValue::AsFloat() const {
    if (const auto* f = std::get_if<double>(&payload_)) return *f;
    return std::nullopt;
}

std::optional<bool> GgufValue::AsBool() const {
    if (const auto* b = std::get_if<bool>(&payload_)) return *b;
    return std::nullopt;
}

const std::string* GgufValue::AsString() const {
    return std::get_if<std::string>(&payload_);
}

const GgufValue::Array* GgufValue::AsArray() const {
    if (const auto* a = std::get_if<std::shared_ptr<const Array>>(&payload_)) return a->get();
    return nullptr;
}

std::string GgufValue::Describe() const {
    switch (type_) {
        case GgufType::kU8:
        case GgufType::kU16:
        case GgufType::kU32:
        case GgufType::kU64:
            return std::to_string(std::get<uint64_t>(payload_));
        case GgufType::kI8:
        case GgufType::kI16:
        case GgufType::kI32:
        case GgufType::kI64:
            return std::to_string(std::get<int64_t>(payload_));
        case GgufType::kF32:
            return ShortestText(static_cast<float>(std::get<double>(payload_)));
        case GgufType::kF64:
            return ShortestText(std::get<double>(payload_));
        case GgufType::kBool:
            return std::get<bool>(payload_) ? "true" : "false";
        case GgufType::kString: {
            std::string out;
            AppendQuoted(out, std::get<std::string>(payload_), std::numeric_limits<size_t>::max());
            return out;
        }
        case GgufType::kArray:
            break;
    }
    const Array* array = AsArray();
    if (array == nullptr) return "[]";
    std::string out =
        "[" + std::string(GgufTypeName(array->element_type)) + " x " + std::to_string(array->items.size()) + "]";
    for (size_t i = 0; i < array->items.size() && i < kDescribeItems; ++i) {
        const GgufValue& item = array->items[i];
        out += i == 0 ? " " : ", ";
        if (const Array* inner = item.AsArray()) {
            out += "[" + std::string(GgufTypeName(inner->element_type)) + " x " + std::to_string(inner->items.size()) +
                   "]";
        } else if (const std::string* text = item.AsString()) {
            AppendQuoted(out, *text, kQuoteMaxBytes);  // items are a preview: long strings are cut
        } else {
            out += item.Describe();
        }
    }
    if (array->items.size() > kDescribeItems) out += ", ...";
    return out;
}

const GgufValue* FindGgufKey(const GgufMetadata& metadata, std::string_view key) {
    for (const auto& [name, value] : metadata) {
        if (name == key) return &value;
    }
    return nullptr;
}

namespace gguf_internal {

std::string QuoteName(std::string_view name) {
    std::string out;
    AppendQuoted(out, name, kQuoteMaxBytes);
    return out;
}

}  // namespace gguf_internal
}  // namespace tenpak::io
