// GPT-2's byte-to-unicode mapping (bytes_to_unicode in openai/gpt-2 encoder.py, tokenizers'
// ByteLevel): every byte becomes a printable character, so that byte-level vocabularies are text.
// The 188 printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68
// (controls, space, DEL, NBSP, soft hyphen) become U+0100, U+0101, ... in byte order, so ' ' is
// 'Ġ' (U+0120) and '\n' is 'Ċ' (U+010A).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tenpak::tokenizer::internal {

// The UTF-8 text of byte b's character.
std::string_view ByteLevelChar(uint8_t b);

// Each byte of `bytes` as its character.
std::string ToByteLevel(std::string_view bytes);

// The byte a character stands for, or -1 for a character outside the mapping.
int ByteOfByteLevelChar(uint32_t code_point);

}  // namespace tenpak::tokenizer::internal
