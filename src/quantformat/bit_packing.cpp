// See bit_packing_internal.h for the bit-string rule shared by GPTQ and AWQ.
#include "bit_packing_internal.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "tenpak/core/check.h"

namespace tenpak::quantformat::internal {

namespace {

constexpr int kWordBits = 32;
constexpr int64_t kRowTile = 16;  // rows per tile of PackRowsTransposedLE: 16 words = a 64-byte line

// The 32-bit word of `32 / bits` codes starting at `in` (code j in bits [bits * j, bits * j + bits)).
template <int kBits>
uint32_t PackWord(const uint8_t* in) {
    if constexpr (kBits == 8) {
        uint32_t word;
        std::memcpy(&word, in, sizeof(word));
        if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap32(word);
        return word;
    } else if constexpr (kBits == 4) {
        // 8 codes, one per byte: fold pairs of nibbles, then pairs of bytes, then of halves.
        uint64_t x;
        std::memcpy(&x, in, sizeof(x));
        if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
        x &= 0x0F0F0F0F0F0F0F0Full;
        x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
        x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
        x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
        return static_cast<uint32_t>(x);
    } else {
        constexpr uint32_t kMask = (1u << kBits) - 1u;
        uint32_t word = 0;
        for (int j = 0; j < kWordBits / kBits; ++j) word |= (in[j] & kMask) << (kBits * j);
        return word;
    }
}

void StoreWordLE(std::byte* out, uint32_t word) {
    if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap32(word);
    std::memcpy(out, &word, sizeof(word));
}

// Rows are taken kRowTile at a time: their codes (16 KB for 1024 inputs) are read once, in order,
// and stay in L1 while each output row gets kRowTile consecutive words, one whole 64-byte line.
// (Tiling the other way, a few words of every row, read the codes with a stride of a row and spent
// most of its time waiting for them.)
template <int kBits>
void PackRowsTransposedLETyped(const uint8_t* codes, int64_t rows, int64_t width, std::byte* out) {
    constexpr int64_t kPerWord = kWordBits / kBits;
    const int64_t row_words = width / kPerWord;
    for (int64_t r0 = 0; r0 < rows; r0 += kRowTile) {
        const int64_t r1 = std::min(rows, r0 + kRowTile);
        for (int64_t w = 0; w < row_words; ++w) {
            std::byte* column = out + w * rows * 4;
            for (int64_t row_idx = r0; row_idx < r1; ++row_idx) {
                StoreWordLE(column + row_idx * 4, PackWord<kBits>(codes + row_idx * width + w * kPerWord));
            }
        }
    }
}

}  // namespace

void PackRowsTransposedLE(std::span<const uint8_t> codes, int64_t rows, int64_t width, int bits,
                          std::span<std::byte> out) {
    TP_CHECK(codes.size() == static_cast<size_t>(rows * width));
    TP_CHECK(kWordBits % bits == 0 && (width * bits) % kWordBits == 0);
    TP_CHECK(out.size() == static_cast<size_t>(rows * width * bits / 8));
    switch (bits) {
        case 8:
            return PackRowsTransposedLETyped<8>(codes.data(), rows, width, out.data());
        case 4:
            return PackRowsTransposedLETyped<4>(codes.data(), rows, width, out.data());
        case 2:
            return PackRowsTransposedLETyped<2>(codes.data(), rows, width, out.data());
        case 1:
            return PackRowsTransposedLETyped<1>(codes.data(), rows, width, out.data());
        default:
            TP_CHECK(false);
    }
}

void PackBitString(std::span<const uint8_t> codes, int bits, std::span<uint32_t> words) {
    TP_CHECK(bits >= 1 && bits <= 8);
    TP_CHECK(codes.size() * static_cast<size_t>(bits) == words.size() * kWordBits);
    const uint32_t mask = (1u << bits) - 1u;
    if (kWordBits % bits == 0) {
        // 2, 4, 8 bits: no field crosses a word; fill each word from its own codes (the common case,
        // and several times faster than the general loop below).
        const size_t per_word = static_cast<size_t>(kWordBits / bits);
        for (size_t w = 0; w < words.size(); ++w) {
            const uint8_t* in = codes.data() + w * per_word;
            uint32_t word = 0;
            for (size_t j = 0; j < per_word; ++j) word |= (in[j] & mask) << (bits * static_cast<int>(j));
            words[w] = word;
        }
        return;
    }
    std::fill(words.begin(), words.end(), 0u);
    for (size_t i = 0; i < codes.size(); ++i) {
        const size_t bit = i * static_cast<size_t>(bits);
        const size_t word = bit / kWordBits;
        const unsigned offset = static_cast<unsigned>(bit % kWordBits);
        // Widen so that a field crossing into the next word (3 bits) keeps its high bits.
        const uint64_t field = static_cast<uint64_t>(codes[i] & mask) << offset;
        words[word] |= static_cast<uint32_t>(field);
        if (offset + static_cast<unsigned>(bits) > kWordBits)
            words[word + 1] |= static_cast<uint32_t>(field >> kWordBits);
    }
}

void UnpackBitString(std::span<const uint32_t> words, int bits, std::span<uint8_t> codes) {
    TP_CHECK(bits >= 1 && bits <= 8);
    TP_CHECK(codes.size() * static_cast<size_t>(bits) == words.size() * kWordBits);
    const uint32_t mask = (1u << bits) - 1u;
    for (size_t i = 0; i < codes.size(); ++i) {
        const size_t bit = i * static_cast<size_t>(bits);
        const size_t word = bit / kWordBits;
        const unsigned offset = static_cast<unsigned>(bit % kWordBits);
        uint64_t pair = words[word];
        if (offset + static_cast<unsigned>(bits) > kWordBits)
            pair |= static_cast<uint64_t>(words[word + 1]) << kWordBits;
        codes[i] = static_cast<uint8_t>((pair >> offset) & mask);
    }
}

std::vector<uint32_t> PackRows(std::span<const uint8_t> codes, int64_t rows, int64_t width, int bits,
                               std::span<const int> order) {
    TP_CHECK(codes.size() == static_cast<size_t>(rows * width));
    TP_CHECK((width * bits) % kWordBits == 0);
    TP_CHECK(order.empty() || width % static_cast<int64_t>(order.size()) == 0);
    const size_t row_words = static_cast<size_t>(width * bits / kWordBits);
    std::vector<uint32_t> words(static_cast<size_t>(rows) * row_words);
    std::vector<uint8_t> row(static_cast<size_t>(width));
    for (int64_t row_idx = 0; row_idx < rows; ++row_idx) {
        const std::span<const uint8_t> source = codes.subspan(static_cast<size_t>(row_idx * width), row.size());
        if (order.empty()) {
            std::copy(source.begin(), source.end(), row.begin());
        } else {
            for (size_t run = 0; run < row.size(); run += order.size()) {
                for (size_t slot = 0; slot < order.size(); ++slot) {
                    row[run + slot] = source[run + static_cast<size_t>(order[slot])];
                }
            }
        }
        PackBitString(row, bits,
                      std::span<uint32_t>(words).subspan(static_cast<size_t>(row_idx) * row_words, row_words));
    }
    return words;
}

std::vector<uint8_t> UnpackRows(std::span<const uint32_t> words, int64_t rows, int64_t width, int bits,
                                std::span<const int> order) {
    TP_CHECK((width * bits) % kWordBits == 0);
    const size_t row_words = static_cast<size_t>(width * bits / kWordBits);
    TP_CHECK(words.size() == static_cast<size_t>(rows) * row_words);
    TP_CHECK(order.empty() || width % static_cast<int64_t>(order.size()) == 0);
    std::vector<uint8_t> codes(static_cast<size_t>(rows * width));
    std::vector<uint8_t> row(static_cast<size_t>(width));
    for (int64_t row_idx = 0; row_idx < rows; ++row_idx) {
        UnpackBitString(words.subspan(static_cast<size_t>(row_idx) * row_words, row_words), bits, row);
        uint8_t* target = codes.data() + row_idx * width;
        if (order.empty()) {
            std::copy(row.begin(), row.end(), target);
        } else {
            for (size_t run = 0; run < row.size(); run += order.size()) {
                for (size_t slot = 0; slot < order.size(); ++slot) {
                    target[run + static_cast<size_t>(order[slot])] = row[run + slot];
                }
            }
        }
    }
    return codes;
}

}  // namespace tenpak::quantformat::internal
