#include "tenpak/model/tensor_layout.h"

#include <cstring>

#include "tenpak/core/check.h"

namespace tenpak::model {

void PermuteRotaryRows(std::span<const std::byte> src, std::span<std::byte> dst, int64_t n_heads, uint64_t row_bytes,
                       RotaryDirection direction) {
    TP_CHECK(src.size() == dst.size() && row_bytes > 0 && src.size() % row_bytes == 0);
    const uint64_t rows = src.size() / row_bytes;
    TP_CHECK(n_heads > 0 && rows % static_cast<uint64_t>(n_heads) == 0);
    const uint64_t head_dim = rows / static_cast<uint64_t>(n_heads);
    TP_CHECK(head_dim % 2 == 0);
    const uint64_t half = head_dim / 2;
    for (uint64_t head = 0; head < static_cast<uint64_t>(n_heads); ++head) {
        const uint64_t base = head * head_dim;
        for (uint64_t i = 0; i < half; ++i) {
            for (uint64_t j = 0; j < 2; ++j) {
                const uint64_t hf_row = base + j * half + i;
                const uint64_t interleaved_row = base + 2 * i + j;
                const uint64_t from = direction == RotaryDirection::kHfToInterleaved ? hf_row : interleaved_row;
                const uint64_t to = direction == RotaryDirection::kHfToInterleaved ? interleaved_row : hf_row;
                std::memcpy(dst.data() + to * row_bytes, src.data() + from * row_bytes, row_bytes);
            }
        }
    }
}

void Transpose2d(std::span<const std::byte> src, std::span<std::byte> dst, int64_t rows, int64_t cols,
                 size_t elem_bytes) {
    TP_CHECK(src.size() == dst.size() && src.size() == static_cast<size_t>(rows * cols) * elem_bytes);
    // Tiles keep both the reads and the writes within a few cache lines.
    constexpr int64_t kTile = 32;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
        for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
            const int64_t r_end = r0 + kTile < rows ? r0 + kTile : rows;
            const int64_t c_end = c0 + kTile < cols ? c0 + kTile : cols;
            for (int64_t r = r0; r < r_end; ++r) {
                for (int64_t c = c0; c < c_end; ++c) {
                    std::memcpy(dst.data() + static_cast<size_t>(c * rows + r) * elem_bytes,
                                src.data() + static_cast<size_t>(r * cols + c) * elem_bytes, elem_bytes);
                }
            }
        }
    }
}

}  // namespace tenpak::model
