// Dequantization of stored tensor bytes to F32, by dtype: F32, F16, BF16, F64, and the GGML block
// types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K (block layouts in tenpak/core/ggml_blocks.h).
// These are the scalar references that the kernels are tested against.
#pragma once

#include <cstddef>
#include <span>

#include "tenpak/core/dtype.h"
#include "tenpak/core/status.h"

namespace tenpak {

// True when DequantizeToF32 handles `dtype`.
bool CanDequantize(DType dtype);

// Converts `src` (whole elements/blocks of `dtype`) to `dst.size()` floats.
// kInvalidArgument when the sizes disagree, kUnsupported for other dtypes.
Status DequantizeToF32(DType dtype, std::span<const std::byte> src, std::span<float> dst);

}  // namespace tenpak
