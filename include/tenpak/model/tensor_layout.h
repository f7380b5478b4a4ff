// Byte-level reorderings that separate one file convention's tensor layout from another's.
// They move whole rows (or elements), so they work on any dtype, including GGML blocks for the
// row permutation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tenpak::model {

enum class RotaryDirection : uint8_t {
    kHfToInterleaved = 0,  // HF rotate_half halves -> Meta / llama.cpp adjacent pairs
    kInterleavedToHf = 1,
};

// Permutes the rows of a q or k projection ([n_heads * head_dim rows] x row_bytes) between the two
// rotary layouts. Within each head of head_dim rows, HF row j*(head_dim/2) + i is interleaved row
// 2*i + j (the permutation convert_hf_to_gguf.py applies). REQUIRES rows divisible by n_heads and
// an even head_dim; src and dst of the same size and not overlapping.
void PermuteRotaryRows(std::span<const std::byte> src, std::span<std::byte> dst, int64_t n_heads, uint64_t row_bytes,
                       RotaryDirection direction);

// Transposes a row-major [rows, cols] matrix of `elem_bytes`-sized elements into dst ([cols, rows]).
void Transpose2d(std::span<const std::byte> src, std::span<std::byte> dst, int64_t rows, int64_t cols,
                 size_t elem_bytes);

}  // namespace tenpak::model
