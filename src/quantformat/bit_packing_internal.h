// Packing small unsigned codes into 32-bit words, shared by GPTQ (qweight, qzeros) and AWQ (qweight,
// qzeros).
//
// Both formats treat a run of words as one little-endian bit string: word 0 holds bits 0..31, word 1
// bits 32..63, and so on; code i occupies bits [bits * i, bits * i + bits). For 2, 4 and 8 bits no
// code crosses a word, which gives formats.md B.2 ("the lowest bits hold the lowest row"). For 3 bits
// it gives exactly GPTQ's 96-bit scheme (B.3): 32 codes fill 3 words, code 10 straddles words 0 and 1
// and code 21 straddles words 1 and 2. Writing the rule once as a bit string is why no 3-bit special
// case (AutoGPTQ's shift tables and fix-ups for fields 10 and 21) appears anywhere.
//
// AWQ additionally permutes the codes inside each run of 8 before packing (its AWQ_ORDER); the
// `order` argument carries such a permutation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tenpak::quantformat::internal {

// Packs codes[i] & (2^bits - 1) into bits [bits * i, bits * i + bits) of `words`, which it overwrites.
// REQUIRES 1 <= bits <= 8 and codes.size() * bits == words.size() * 32.
void PackBitString(std::span<const uint8_t> codes, int bits, std::span<uint32_t> words);

// The inverse: codes[i] = bits [bits * i, bits * i + bits) of `words`.
// REQUIRES 1 <= bits <= 8 and codes.size() * bits == words.size() * 32.
void UnpackBitString(std::span<const uint32_t> words, int bits, std::span<uint8_t> codes);

// Packs each row of a row-major (rows x width) code matrix into width * bits / 32 words, giving a
// row-major (rows x width * bits / 32) word matrix. When `order` is not empty, slot s of every run
// of order.size() codes holds the code at position order[s] of that run (AWQ's interleave).
// REQUIRES codes.size() == rows * width, (width * bits) % 32 == 0, width % order.size() == 0.
std::vector<uint32_t> PackRows(std::span<const uint8_t> codes, int64_t rows, int64_t width, int bits,
                               std::span<const int> order = {});

// PackRows followed by Transpose, written straight into little-endian I32 bytes: word (w, r) of
// the (width * bits / 32) x rows result packs codes [w * 32 / bits, (w + 1) * 32 / bits) of row r
// (GPTQ's qweight, from TenPak's [N, K] codes). One pass in tiles of 16 rows, with no
// intermediate matrices; for 1, 2, 4 and 8 bits. 3 bits go through PackRows.
// REQUIRES codes.size() == rows * width, (width * bits) % 32 == 0, 32 % bits == 0,
// out.size() == rows * width * bits / 8.
void PackRowsTransposedLE(std::span<const uint8_t> codes, int64_t rows, int64_t width, int bits,
                          std::span<std::byte> out);

// The inverse of PackRows with the same `order`.
std::vector<uint8_t> UnpackRows(std::span<const uint32_t> words, int64_t rows, int64_t width, int bits,
                                std::span<const int> order = {});

// The transpose of a row-major (rows x cols) matrix: GPTQ and AWQ store W^T, TenPak W.
// Done in square tiles, so that both the reads and the strided writes of a tile stay in L1 (a plain
// double loop misses the cache on every write once a column of the output exceeds it).
template <typename T>
std::vector<T> Transpose(std::span<const T> matrix, int64_t rows, int64_t cols) {
    constexpr int64_t kTile = 32;
    std::vector<T> out(matrix.size());
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
        const int64_t r1 = std::min(rows, r0 + kTile);
        for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
            const int64_t c1 = std::min(cols, c0 + kTile);
            for (int64_t row_idx = r0; row_idx < r1; ++row_idx) {
                for (int64_t col_idx = c0; col_idx < c1; ++col_idx) {
                    out[static_cast<size_t>(col_idx * rows + row_idx)] =
                        matrix[static_cast<size_t>(row_idx * cols + col_idx)];
                }
            }
        }
    }
    return out;
}

}  // namespace tenpak::quantformat::internal
