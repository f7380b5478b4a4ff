// UTF-8 walking for the tokenizers. Text is never rejected: a byte that does not start a valid
// character counts as a one-byte character, so that byte fallback can carry it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tenpak::tokenizer::internal {

// Bytes of the character at text[pos] (REQUIRES pos < text.size()): 1 to 4 for a valid character;
// 1 for a byte that starts none (a stray continuation byte, an overlong form, a surrogate, a code
// point past U+10FFFF, a sequence cut off by the end of the text).
size_t Utf8Length(std::string_view text, size_t pos);

// The code point of the character at text[pos] that is `length` bytes long (as Utf8Length gave);
// an invalid single byte gives its own value.
uint32_t Utf8Decode(std::string_view text, size_t pos, size_t length);

void AppendUtf8(uint32_t code_point, std::string& out);

// Rust's char::is_whitespace (Unicode White_Space), which tokenizers' Strip and friends use.
bool IsUnicodeWhitespace(uint32_t code_point);

}  // namespace tenpak::tokenizer::internal
