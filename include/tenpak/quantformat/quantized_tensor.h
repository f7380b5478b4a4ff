// A quantized weight matrix in TenPak's own, layout-free form: one unpacked integer code per weight
// plus the parameters that turn codes back into values. Every quantization method produces this,
// every file layout (GPTQ, AWQ, bitsandbytes, GGUF blocks) packs and unpacks it, and the engine
// turns it into the packed form its kernels read (tenpak/kernels/packed.h). No method knows about
// layouts and no layout knows about methods.
//
// Orientation is nn.Linear's: `rows` = output features (N), `cols` = input features (K), codes
// row-major [rows][cols]. Layouts that store W^T (GPTQ, AWQ) transpose when they pack.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tenpak/core/status.h"

namespace tenpak::quantformat {

// How a code q becomes a value. `scales` and `zeros` hold one entry per group (see below).
enum class Scheme : uint8_t {
    kAffine = 0,      // w = scale * (q - zero)                  GPTQ, AWQ, RTN; GGUF Q8_0 / Q4_0 (zero 128 / 8)
    kAffineMin = 1,   // w = scale * q + min, `zeros` holds min  GGUF Q4_1
    kNf4 = 2,         // w = Nf4Table()[q] * absmax             bitsandbytes nf4; `scales` holds absmax
    kFp4 = 3,         // w = Fp4Table()[q] * absmax             bitsandbytes fp4; `scales` holds absmax
    kInt8Absmax = 4,  // w = (q - 128) * absmax / 127           LLM.int8 row-wise; `scales` holds SCB
};
std::string_view SchemeName(Scheme scheme);  // "affine", "affine-min", "nf4", "fp4", "int8-absmax"

// bitsandbytes' double quantization of the nf4/fp4 block absmax values ("compress_statistics"):
// absmax[b] = DynamicMap8()[codes[b]] * nested_absmax[b / nested_block] + offset.
struct DoubleQuant {
    std::vector<uint8_t> codes;        // one per block
    std::vector<float> nested_absmax;  // one per nested block
    float offset = 0.0f;               // mean of the original absmax values
    int64_t nested_block = 256;
};

// GGML's k-quants (GGUF Q4_K, Q6_K): the group scales, and Q4_K's minimums, are themselves small
// integers times one F16 factor per super-block of 256 consecutive weights of a row:
//   scales[g] = d[s] * scale_codes[g]             Q4_K: codes 0..63;  Q6_K: -128..127
//   zeros[g]  = -(dmin[s] * min_codes[g])         Q4_K only (kAffineMin's minimum), codes 0..63
// with s = g / groups_per_super_block (groups along a row: 8 of 32 for Q4_K, 16 of 16 for Q6_K).
// `scales` and `zeros` hold those products, the values a loader computes; these fields are what
// the file stores.
struct SuperBlocks {
    int64_t groups_per_super_block = 0;
    std::vector<float> d;             // one per super-block, F16 values
    std::vector<float> dmin;          // Q4_K only
    std::vector<int8_t> scale_codes;  // one per group
    std::vector<uint8_t> min_codes;   // Q4_K only, one per group
};

struct QuantizedTensor {
    int64_t rows = 0;  // output features N
    int64_t cols = 0;  // input features K
    int bits = 4;      // 2, 3, 4 or 8
    Scheme scheme = Scheme::kAffine;
    bool symmetric = true;  // how the method chose the zero points (GPTQ's `sym`); informational
    // Weights sharing one scale (and zero):
    //  - kAffine / kAffineMin: consecutive columns of one row; cols % group_size == 0 (a per-channel
    //    tensor has group_size == cols). Group g of row r is at index r * groups() + g.
    //  - kNf4 / kFp4: consecutive elements of the row-major flattening (bitsandbytes' blocks, which
    //    may straddle rows); block b covers elements [b * group_size, (b + 1) * group_size).
    //  - kInt8Absmax: a whole row (group_size == cols).
    int64_t group_size = 0;
    std::vector<uint8_t> codes;  // rows * cols, values < 2^bits
    std::vector<float> scales;   // one per group, as described above (the values a loader multiplies by)
    std::vector<float> zeros;    // kAffine: zero points; kAffineMin: minimums; otherwise empty
    // Act-order (GPTQ desc_act): the group of each input column, cols entries, so that for kAffine the
    // group of (r, c) is r * groups() + g_idx[c]. Empty: column c is in group c / group_size.
    std::vector<int32_t> g_idx;
    std::optional<DoubleQuant> double_quant;  // nf4/fp4 only; `scales` then holds the dequantized absmax
    std::optional<SuperBlocks> super_blocks;  // GGUF k-quants only (kAffine Q6_K, kAffineMin Q4_K)

    // Groups per row (kAffine, kAffineMin, kInt8Absmax) or blocks in the whole tensor (kNf4, kFp4).
    int64_t groups() const;
    // Index into scales/zeros of the weight at (row, col).
    int64_t GroupIndex(int64_t row, int64_t col) const;
};

// Checks that sizes and values agree with the description above (code range, group sizes, g_idx
// range, double-quant sizes). The message names what is wrong.
Status Validate(const QuantizedTensor& q);

// The scalar reference: out[r * cols + c] = the value of weight (r, c), computed in F32 exactly as
// the Scheme comments say. REQUIRES Validate(q).ok() and out.size() == rows * cols.
void Dequantize(const QuantizedTensor& q, std::span<float> out);

// The bitsandbytes code tables (shared/formats.md D.1), index = 4-bit code.
const std::array<float, 16>& Nf4Table();
const std::array<float, 16>& Fp4Table();
// bitsandbytes' signed 8-bit dynamic map used for double quantization (formats.md D.1), ascending.
const std::array<float, 256>& DynamicMap8();

}  // namespace tenpak::quantformat
