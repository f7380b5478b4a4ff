// The lossless delta's transform: the difference between a fine-tuned tensor and its base in the
// integer domain (XOR of the bit patterns, or subtraction modulo 2^bits), then the bytes of each word
// split into planes. A fine-tune moves weights a little: their sign and exponent bytes barely change,
// so the high-byte plane of the difference is mostly zeros and compresses far better than the
// interleaved bytes would (the idea behind ZipNN). Both steps are exact and invertible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tenpak::delta {

enum class Difference : uint8_t { kXor = 0, kSubtract = 1 };
std::string_view DifferenceName(Difference difference);  // "xor", "sub"

// out[i] = fine[i] XOR base[i], or fine[i] - base[i] (mod 2^(8 * word_size)), word by word
// (little-endian words of `word_size` bytes: 1, 2, 4 or 8). REQUIRES equal sizes, a multiple of
// word_size; `out` may alias `fine`.
void Diff(std::span<const std::byte> base, std::span<const std::byte> fine, size_t word_size, Difference difference,
          std::span<std::byte> out);
// The inverse: out[i] = base[i] XOR diff[i], or base[i] + diff[i]. `out` may alias `diff`.
void Undiff(std::span<const std::byte> base, std::span<const std::byte> diff, size_t word_size, Difference difference,
            std::span<std::byte> out);

// Byte planes, most significant first: out = [byte w-1 of every word][byte w-2 of every word]...[byte 0].
// REQUIRES words.size() a multiple of word_size and out.size() == words.size(); no aliasing.
void SplitPlanes(std::span<const std::byte> words, size_t word_size, std::span<std::byte> out);
void JoinPlanes(std::span<const std::byte> planes, size_t word_size, std::span<std::byte> out);

}  // namespace tenpak::delta
