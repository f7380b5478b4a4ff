// llama.cpp's k-quant encoders (Q4_K, Q6_K), exact: see ggml_kquants.cpp. They are not group codecs
// (a super-block of 256 weights chooses its 8 or 16 group scales together and then quantizes those
// scales once more), so they have a driver of their own, wrapped as a Quantizer by quantizer.cpp.
#pragma once

#include <cstdint>
#include <span>

#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {

enum class KQuant : uint8_t { kQ4_K, kQ6_K };

// W row-major [rows, cols]; cols must be a multiple of 256. A NaN or Inf is refused, naming its row
// and column. The result has super_blocks set (Q4_K: kAffineMin 4-bit, groups of 32; Q6_K: kAffine
// 8-bit codes 0..63 with zero 32, groups of 16).
Result<quantformat::QuantizedTensor> QuantizeKQuant(KQuant type, std::span<const float> w, int64_t rows, int64_t cols,
                                                    ThreadPool& pool);
// The same from weights stored as F16, BF16 or F32 (rows x cols of `dtype`), cast one super-block
// at a time: the same tensor as QuantizeKQuant of the F32 cast, without holding that cast.
Result<quantformat::QuantizedTensor> QuantizeKQuantStored(KQuant type, DType dtype, std::span<const std::byte> w,
                                                          int64_t rows, int64_t cols, ThreadPool& pool);

}  // namespace tenpak::quant
