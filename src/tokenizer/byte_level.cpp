#include <array>

#include "byte_level_internal.h"
#include "utf8_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

constexpr bool IsPrintableLatin1(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
    std::array<std::string, 256> chars;
    std::array<int16_t, 512> byte_of{};  // every mapped code point is below U+0144

    Tables() {
        byte_of.fill(-1);
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            const int code_point = IsPrintableLatin1(b) ? b : next++;
            AppendUtf8(static_cast<uint32_t>(code_point), chars[static_cast<size_t>(b)]);
            byte_of[static_cast<size_t>(code_point)] = static_cast<int16_t>(b);
        }
    }
};

const Tables& GetTables() {
    static const Tables tables;
    return tables;
}

}  // namespace

std::string_view ByteLevelChar(uint8_t b) {
    return GetTables().chars[b];
}

std::string ToByteLevel(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out += ByteLevelChar(static_cast<uint8_t>(c));
    return out;
}

int ByteOfByteLevelChar(uint32_t code_point) {
    const Tables& t = GetTables();
    return code_point < t.byte_of.size() ? t.byte_of[code_point] : -1;
}

}  // namespace tenpak::tokenizer::internal
