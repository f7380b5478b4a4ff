// UTF-8 validation, for text TenPak reads from outside (tokenizer files, calibration texts).
#pragma once

#include <string_view>

namespace tenpak {

// Whether `text` is well-formed UTF-8: no stray continuation bytes, no truncated or overlong
// sequences, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

}  // namespace tenpak
