// Block layouts of the GGML quantized types, as stored in GGUF files (shared/formats.md section E.2;
// ggml's src/ggml-common.h is the reference). One block holds consecutive elements along the
// innermost dimension (GGUF's ne[0]); a row is a whole number of blocks.
//
// The f16 scales are kept as their raw bits (uint16_t, little-endian on disk); convert them with
// F16ToF32Ref from tenpak/core/half.h. Every struct has only 1- and 2-byte fields and no padding, so
// sizeof() is the on-disk size; the static_asserts pin it. Blocks in a file are not necessarily
// aligned to 2 bytes: copy a block out with std::memcpy rather than casting the pointer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenpak {

// Elements per block of the "legacy" types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (ggml's QK4_0 ... QK8_0).
constexpr size_t kGgmlBlockElems = 32;
// Elements per super-block of the K-quant types Q2_K ... Q8_K (ggml's QK_K).
constexpr size_t kGgmlSuperBlockElems = 256;
// Bytes of packed 6-bit scales and mins in a Q4_K / Q5_K block (ggml's K_SCALE_SIZE).
constexpr size_t kGgmlKScaleBytes = 12;

// Q4_0: 4-bit codes, one scale. Element j (0..15) is the low nibble of qs[j], element j+16 the high
// nibble of qs[j]; value = (code - 8) * d.
struct BlockQ4_0 {
    uint16_t d;                       // f16 scale
    uint8_t qs[kGgmlBlockElems / 2];  // two 4-bit codes per byte
};
static_assert(sizeof(BlockQ4_0) == 2 + kGgmlBlockElems / 2, "Q4_0 block is 18 bytes");

// Q4_1: 4-bit codes with scale and minimum; same nibble order as Q4_0; value = code * d + m.
struct BlockQ4_1 {
    uint16_t d;                       // f16 scale
    uint16_t m;                       // f16 minimum (offset)
    uint8_t qs[kGgmlBlockElems / 2];  // two 4-bit codes per byte
};
static_assert(sizeof(BlockQ4_1) == 2 * 2 + kGgmlBlockElems / 2, "Q4_1 block is 20 bytes");

// Q5_0: 5-bit codes. The low 4 bits are packed as in Q4_0; bit j of the little-endian u32 in qh is
// the fifth bit of element j. value = (code - 16) * d.
struct BlockQ5_0 {
    uint16_t d;                       // f16 scale
    uint8_t qh[4];                    // fifth bits of the 32 codes, element j in bit j (little-endian u32)
    uint8_t qs[kGgmlBlockElems / 2];  // low 4 bits, two codes per byte
};
static_assert(sizeof(BlockQ5_0) == 2 + 4 + kGgmlBlockElems / 2, "Q5_0 block is 22 bytes");

// Q5_1: as Q5_0 with a minimum; value = code * d + m.
struct BlockQ5_1 {
    uint16_t d;                       // f16 scale
    uint16_t m;                       // f16 minimum (offset)
    uint8_t qh[4];                    // fifth bits of the 32 codes, element j in bit j (little-endian u32)
    uint8_t qs[kGgmlBlockElems / 2];  // low 4 bits, two codes per byte
};
static_assert(sizeof(BlockQ5_1) == 2 * 2 + 4 + kGgmlBlockElems / 2, "Q5_1 block is 24 bytes");

// Q8_0: signed 8-bit codes; value = qs[j] * d.
struct BlockQ8_0 {
    uint16_t d;                  // f16 scale
    int8_t qs[kGgmlBlockElems];  // one code per element
};
static_assert(sizeof(BlockQ8_0) == 2 + kGgmlBlockElems, "Q8_0 block is 34 bytes");

// Q4_K: 8 sub-blocks of 32 elements, each with a 6-bit scale and a 6-bit minimum packed in
// `scales` (sub-block j < 4: scale = scales[j] & 63, min = scales[j+4] & 63; j >= 4: scale =
// (scales[j+4] & 0xF) | (scales[j-4] >> 6) << 4, min = (scales[j+4] >> 4) | (scales[j] >> 6) << 4).
// Chunk c (0..3) of 64 elements uses qs[32c .. 32c+31]: element 64c+l is the low nibble of
// qs[32c+l] (sub-block 2c), element 64c+32+l the high nibble (sub-block 2c+1).
// value = d * scale * code - dmin * min.
struct BlockQ4_K {
    uint16_t d;                            // f16 super-block scale for the 6-bit scales
    uint16_t dmin;                         // f16 super-block scale for the 6-bit minimums
    uint8_t scales[kGgmlKScaleBytes];      // 8 scales and 8 minimums, 6 bits each
    uint8_t qs[kGgmlSuperBlockElems / 2];  // 4-bit codes, two per byte
};
static_assert(sizeof(BlockQ4_K) == 2 * 2 + kGgmlKScaleBytes + kGgmlSuperBlockElems / 2, "Q4_K block is 144 bytes");

// Q6_K: 16 sub-blocks of 16 elements with signed 8-bit scales. Each half of 128 elements uses 64
// bytes of ql, 32 of qh and 8 scales; for l in 0..31 of a half: element l takes the low nibble of
// ql[l] and bits 0-1 of qh[l] (scale is = l/16), element l+32 the low nibble of ql[l+32] and bits
// 2-3 (scale is+2), element l+64 the high nibble of ql[l] and bits 4-5 (scale is+4), element l+96
// the high nibble of ql[l+32] and bits 6-7 (scale is+6). value = d * scale * (code - 32).
struct BlockQ6_K {
    uint8_t ql[kGgmlSuperBlockElems / 2];      // low 4 bits of the 6-bit codes
    uint8_t qh[kGgmlSuperBlockElems / 4];      // high 2 bits of the codes, four per byte
    int8_t scales[kGgmlSuperBlockElems / 16];  // signed 8-bit sub-block scales
    uint16_t d;                                // f16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == kGgmlSuperBlockElems / 2 + kGgmlSuperBlockElems / 4 + kGgmlSuperBlockElems / 16 + 2,
              "Q6_K block is 210 bytes");

}  // namespace tenpak
