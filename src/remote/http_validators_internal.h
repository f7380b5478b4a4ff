// The parts of HTTP (RFC 9110) that a static file server decides from request headers alone: which
// bytes a Range header selects, whether If-None-Match / If-Range match the file, and the ETag and
// Last-Modified values they are compared with. Pure functions, so that they are tested without sockets.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace tenpak::remote {

struct RangeDecision {
    enum class Kind : uint8_t {
        kWhole,          // no usable Range: answer 200 with the whole file
        kPartial,        // answer 206 with bytes [first, last]
        kUnsatisfiable,  // answer 416 with "Content-Range: bytes */SIZE"
    };
    Kind kind = Kind::kWhole;
    uint64_t first = 0;
    uint64_t last = 0;  // inclusive, as in Content-Range
};

// Decides what to send for the Range header `value` of a file of `size` bytes. A header that is
// absent (empty), malformed, in another unit, or that lists several ranges is ignored (kWhole):
// RFC 9110 lets a server ignore Range, and one contiguous answer is all that artifact readers ask for.
// One range whose first byte is at or past the end (or a zero-length suffix) is unsatisfiable; a
// last byte past the end is clamped, and a suffix longer than the file selects the whole file (206).
// An empty file has no byte to select, so a range on it is ignored when it is a suffix, else refused.
RangeDecision DecideRange(std::string_view value, uint64_t size);

// "\"<size hex>-<mtime ns hex>\"": changes when the file is rewritten, even within one second.
std::string StrongEtag(uint64_t size, int64_t mtime_ns);

// IMF-fixdate in GMT ("Sun, 06 Nov 1994 08:49:37 GMT"), whatever the process locale.
std::string HttpDate(std::time_t seconds);

// If-None-Match: "*" or a comma-separated list of entity tags, compared weakly (W/ ignored).
bool IfNoneMatchMatches(std::string_view header, const std::string& etag);

// If-Range: an entity tag (compared strongly, so a weak tag never matches) or an HTTP-date (which must
// equal Last-Modified exactly). False means "the file changed: send all of it".
bool IfRangeMatches(std::string_view header, const std::string& etag, const std::string& last_modified);

}  // namespace tenpak::remote
