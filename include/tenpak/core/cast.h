// Conversion of a whole tensor's bytes from one dtype to another: between the float types F64,
// F32, F16 and BF16 (rounding to nearest even), and from any dtype DequantizeToF32 reads (GGML
// blocks) to a float type. Goes through F32 in chunks, so the extra memory is constant.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"

namespace tenpak {

// True when CastTensor can convert `from` to `to`.
bool CanCast(DType from, DType to);

// Converts `count` elements. REQUIRES src.size() == TensorByteSize(from, {count}) and likewise dst.
Status CastTensor(DType from, std::span<const std::byte> src, DType to, std::span<std::byte> dst, uint64_t count);

}  // namespace tenpak
