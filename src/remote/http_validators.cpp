// Range and validator rules of RFC 9110 (sections 8.8, 13.1 and 14), as http_validators_internal.h
// states them. Parsing is strict: anything that is not exactly the grammar makes the header ignored,
// never guessed at.
#include "remote/http_validators_internal.h"

#include <array>
#include <cstdio>
#include <limits>
#include <optional>

namespace tenpak::remote {
namespace {

constexpr std::string_view kOws = " \t";

std::string_view Trim(std::string_view text) {
    const size_t begin = text.find_first_not_of(kOws);
    if (begin == std::string_view::npos) return {};
    return text.substr(begin, text.find_last_not_of(kOws) - begin + 1);
}

// Decimal digits only; values too large for uint64_t saturate, which every caller treats as "past
// the end of any file".
std::optional<uint64_t> ParseDigits(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
            value = std::numeric_limits<uint64_t>::max();
        } else {
            value = value * 10 + digit;
        }
    }
    return value;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// The opaque part of an entity tag, with any W/ prefix removed; nullopt when it is not a tag.
std::optional<std::string_view> OpaqueTag(std::string_view tag, bool* weak) {
    *weak = tag.starts_with("W/");
    if (*weak) tag.remove_prefix(2);
    if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
    return tag;
}

}  // namespace

RangeDecision DecideRange(std::string_view value, uint64_t size) {
    using Kind = RangeDecision::Kind;
    const RangeDecision whole;
    const size_t equals = value.find('=');
    if (equals == std::string_view::npos || !EqualsIgnoreCase(Trim(value.substr(0, equals)), "bytes")) return whole;

    // The list syntax (RFC 9110 5.6.1) allows empty elements: "bytes=, 0-1" is one range.
    std::string_view spec;
    int specs = 0;
    std::string_view rest = value.substr(equals + 1);
    while (true) {
        const size_t comma = rest.find(',');
        const std::string_view element = Trim(rest.substr(0, comma));
        if (!element.empty()) {
            spec = element;
            ++specs;
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (specs != 1) return whole;  // none, or a multi-range request: served whole

    const size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return whole;
    const std::string_view first_text = spec.substr(0, dash);
    const std::string_view last_text = spec.substr(dash + 1);
    RangeDecision decision;
    if (first_text.empty()) {  // "-n": the last n bytes
        const std::optional<uint64_t> suffix = ParseDigits(last_text);
        if (!suffix) return whole;
        if (size == 0) return whole;  // no 206 can describe zero bytes (Content-Range needs first <= last)
        if (*suffix == 0) {
            decision.kind = Kind::kUnsatisfiable;
            return decision;
        }
        decision.kind = Kind::kPartial;
        decision.first = *suffix >= size ? 0 : size - *suffix;
        decision.last = size - 1;
        return decision;
    }
    const std::optional<uint64_t> first = ParseDigits(first_text);
    if (!first) return whole;
    std::optional<uint64_t> last;
    if (!last_text.empty()) {
        last = ParseDigits(last_text);
        if (!last || *last < *first) return whole;  // malformed, so ignored (RFC 9110 14.1.1)
    }
    if (*first >= size) {
        decision.kind = Kind::kUnsatisfiable;
        return decision;
    }
    decision.kind = Kind::kPartial;
    decision.first = *first;
    decision.last = (!last || *last >= size) ? size - 1 : *last;
    return decision;
}

std::string StrongEtag(uint64_t size, int64_t mtime_ns) {
    char text[48];
    std::snprintf(text, sizeof text, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(mtime_ns));
    return text;
}

std::string HttpDate(std::time_t seconds) {
    // Written out rather than strftime's %a and %b, which follow the locale.
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[40];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[static_cast<size_t>(tm.tm_wday)],
                  tm.tm_mday, kMonths[static_cast<size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return text;
}

bool IfNoneMatchMatches(std::string_view header, const std::string& etag) {
    header = Trim(header);
    if (header == "*") return true;
    bool ours_weak = false;
    const std::optional<std::string_view> ours = OpaqueTag(etag, &ours_weak);
    while (!header.empty()) {
        const size_t comma = header.find(',');
        bool weak = false;
        const std::optional<std::string_view> tag = OpaqueTag(Trim(header.substr(0, comma)), &weak);
        if (tag && ours && *tag == *ours) return true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

bool IfRangeMatches(std::string_view header, const std::string& etag, const std::string& last_modified) {
    header = Trim(header);
    if (header.starts_with("W/")) return false;
    if (header.starts_with("\"")) return header == etag;
    return header == last_modified;
}

}  // namespace tenpak::remote
