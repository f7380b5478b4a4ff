// The Range, ETag and date rules of the file server, without sockets: each form of byte range, the
// headers that must be ignored rather than refused, and the conditional headers.
#include "remote/http_validators_internal.h"

#include <gtest/gtest.h>

namespace tenpak::remote {
namespace {
using Kind = RangeDecision::Kind;

void ExpectPartial(std::string_view header, uint64_t size, uint64_t first, uint64_t last) {
    const RangeDecision d = DecideRange(header, size);
    EXPECT_EQ(d.kind, Kind::kPartial) << header;
    EXPECT_EQ(d.first, first) << header;
    EXPECT_EQ(d.last, last) << header;
}

void ExpectKind(std::string_view header, uint64_t size, Kind kind) {
    EXPECT_EQ(DecideRange(header, size).kind, kind) << header << " on " << size << " bytes";
}

TEST(DecideRangeTest, SingleRangesSelectTheirBytes) {
    ExpectPartial("bytes=0-0", 1000, 0, 0);
    ExpectPartial("bytes=10-99", 1000, 10, 99);
    ExpectPartial("bytes=10-", 1000, 10, 999);
    ExpectPartial("bytes=-1", 1000, 999, 999);
    ExpectPartial("bytes=-100", 1000, 900, 999);
    ExpectPartial("Bytes = 5-6 ", 1000, 5, 6);  // the unit is case-insensitive; whitespace around the list is allowed
    ExpectPartial("bytes=, 5-6,", 1000, 5, 6);  // empty list elements do not count
}

TEST(DecideRangeTest, PastTheEndIsClampedOrUnsatisfiable) {
    ExpectPartial("bytes=990-5000", 1000, 990, 999);
    ExpectPartial("bytes=0-99999999999999999999999", 1000, 0, 999);  // saturates, then clamps
    ExpectPartial("bytes=-5000", 1000, 0, 999);                      // a suffix longer than the file: all of it
    ExpectKind("bytes=1000-", 1000, Kind::kUnsatisfiable);
    ExpectKind("bytes=1000-2000", 1000, Kind::kUnsatisfiable);
    ExpectKind("bytes=99999999999999999999999-", 1000, Kind::kUnsatisfiable);
    ExpectKind("bytes=-0", 1000, Kind::kUnsatisfiable);
}

TEST(DecideRangeTest, EmptyFileHasNoSatisfiableRangeButASuffixIsIgnored) {
    ExpectKind("bytes=0-", 0, Kind::kUnsatisfiable);
    ExpectKind("bytes=0-0", 0, Kind::kUnsatisfiable);
    ExpectKind("bytes=-10", 0, Kind::kWhole);
}

TEST(DecideRangeTest, MalformedOtherUnitsAndMultipleRangesAreIgnored) {
    for (const char* header : {"", "bytes", "bytes=", "bytes=-", "bytes=5-2", "bytes=a-b", "bytes=1-2-3", "bytes=+1-2",
                               "bytes= 1 - 2", "items=0-1", "bytes=0-1,5-6", "bytes=0-1, 900-"}) {
        ExpectKind(header, 1000, Kind::kWhole);
    }
}

TEST(ValidatorTest, EtagAndDateFormats) {
    EXPECT_EQ(StrongEtag(0x1234, 0xabcdef), "\"1234-abcdef\"");
    EXPECT_EQ(HttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
    EXPECT_EQ(HttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(ValidatorTest, IfNoneMatchComparesWeakly) {
    const std::string etag = "\"a-b\"";
    EXPECT_TRUE(IfNoneMatchMatches("\"a-b\"", etag));
    EXPECT_TRUE(IfNoneMatchMatches("W/\"a-b\"", etag));
    EXPECT_TRUE(IfNoneMatchMatches("\"x\", \"a-b\"", etag));
    EXPECT_TRUE(IfNoneMatchMatches(" * ", etag));
    EXPECT_FALSE(IfNoneMatchMatches("\"a-c\"", etag));
    EXPECT_FALSE(IfNoneMatchMatches("a-b", etag));  // not a quoted tag
    EXPECT_FALSE(IfNoneMatchMatches("", etag));
}

TEST(ValidatorTest, IfRangeComparesStronglyOrByExactDate) {
    const std::string etag = "\"a-b\"";
    const std::string date = "Sun, 06 Nov 1994 08:49:37 GMT";
    EXPECT_TRUE(IfRangeMatches("\"a-b\"", etag, date));
    EXPECT_TRUE(IfRangeMatches(date, etag, date));
    EXPECT_FALSE(IfRangeMatches("W/\"a-b\"", etag, date));  // a weak tag never allows a range
    EXPECT_FALSE(IfRangeMatches("\"a-c\"", etag, date));
    EXPECT_FALSE(IfRangeMatches("Sun, 06 Nov 1994 08:49:38 GMT", etag, date));
}

}  // namespace
}  // namespace tenpak::remote
