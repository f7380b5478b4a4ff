// Helpers shared by the tokenizer.json reader and writer.
#pragma once

#include <string>
#include <string_view>

#include "tenpak/core/status.h"
#include "tenpak/core/utf8.h"

namespace tenpak::io::internal {

// The space marker of SentencePiece-style vocabularies, U+2581 '▁'.
inline constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";

// JSON strings must be UTF-8, and nlohmann's dump() stops on anything else: see tenpak/core/utf8.h.
using ::tenpak::IsValidUtf8;

// Rejects input nested deeper than `max_depth` arrays/objects before nlohmann parses it (its DOM
// tolerates depth, but nothing TenPak reads is nested more than a few levels, and refusing early
// keeps hostile files cheap).
Status CheckJsonNesting(std::string_view text, int max_depth, const std::string& origin);

}  // namespace tenpak::io::internal
