#include "tenpak/delta/byte_planes.h"

#include <cstring>

namespace tenpak::delta {
namespace {

template <typename Word>
void DiffWords(const std::byte* base, const std::byte* fine, size_t n, Difference difference, std::byte* out) {
    for (size_t i = 0; i < n; ++i) {
        Word b, f;
        std::memcpy(&b, base + i * sizeof(Word), sizeof(Word));
        std::memcpy(&f, fine + i * sizeof(Word), sizeof(Word));
        const Word d = difference == Difference::kXor ? static_cast<Word>(f ^ b) : static_cast<Word>(f - b);
        std::memcpy(out + i * sizeof(Word), &d, sizeof(Word));
    }
}

template <typename Word>
void UndiffWords(const std::byte* base, const std::byte* diff, size_t n, Difference difference, std::byte* out) {
    for (size_t i = 0; i < n; ++i) {
        Word b, d;
        std::memcpy(&b, base + i * sizeof(Word), sizeof(Word));
        std::memcpy(&d, diff + i * sizeof(Word), sizeof(Word));
        const Word f = difference == Difference::kXor ? static_cast<Word>(d ^ b) : static_cast<Word>(b + d);
        std::memcpy(out + i * sizeof(Word), &f, sizeof(Word));
    }
}

template <void (*Fn8)(const std::byte*, const std::byte*, size_t, Difference, std::byte*),
          void (*Fn4)(const std::byte*, const std::byte*, size_t, Difference, std::byte*),
          void (*Fn2)(const std::byte*, const std::byte*, size_t, Difference, std::byte*),
          void (*Fn1)(const std::byte*, const std::byte*, size_t, Difference, std::byte*)>
void ByWordSize(std::span<const std::byte> a, std::span<const std::byte> b, size_t word_size, Difference difference,
                std::span<std::byte> out) {
    const size_t n = a.size() / word_size;
    switch (word_size) {
        case 8:
            return Fn8(a.data(), b.data(), n, difference, out.data());
        case 4:
            return Fn4(a.data(), b.data(), n, difference, out.data());
        case 2:
            return Fn2(a.data(), b.data(), n, difference, out.data());
        default:
            return Fn1(a.data(), b.data(), n, difference, out.data());
    }
}

}  // namespace

std::string_view DifferenceName(Difference difference) {
    return difference == Difference::kXor ? "xor" : "sub";
}

void Diff(std::span<const std::byte> base, std::span<const std::byte> fine, size_t word_size, Difference difference,
          std::span<std::byte> out) {
    ByWordSize<DiffWords<uint64_t>, DiffWords<uint32_t>, DiffWords<uint16_t>, DiffWords<uint8_t>>(base, fine, word_size,
                                                                                                  difference, out);
}

void Undiff(std::span<const std::byte> base, std::span<const std::byte> diff, size_t word_size, Difference difference,
            std::span<std::byte> out) {
    ByWordSize<UndiffWords<uint64_t>, UndiffWords<uint32_t>, UndiffWords<uint16_t>, UndiffWords<uint8_t>>(
        base, diff, word_size, difference, out);
}

void SplitPlanes(std::span<const std::byte> words, size_t word_size, std::span<std::byte> out) {
    const size_t n = words.size() / word_size;
    for (size_t plane = 0; plane < word_size; ++plane) {
        const size_t byte = word_size - 1 - plane;  // most significant first (little-endian words)
        std::byte* dst = out.data() + plane * n;
        for (size_t i = 0; i < n; ++i) dst[i] = words[i * word_size + byte];
    }
}

void JoinPlanes(std::span<const std::byte> planes, size_t word_size, std::span<std::byte> out) {
    const size_t n = planes.size() / word_size;
    for (size_t plane = 0; plane < word_size; ++plane) {
        const size_t byte = word_size - 1 - plane;
        const std::byte* src = planes.data() + plane * n;
        for (size_t i = 0; i < n; ++i) out[i * word_size + byte] = src[i];
    }
}

}  // namespace tenpak::delta
