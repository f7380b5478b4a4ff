// Quantization methods that need no calibration data (rtn, nf4, fp4, int8, and llama.cpp's Q8_0 /
// Q4_0 / Q4_1 reference encoders) behind one interface. Each turns an F32 weight matrix into a
// QuantizedTensor; none knows how the result is stored (tenpak/quantformat/layouts.h does that).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {

enum class Method : uint8_t {
    kRtn = 0,       // round to nearest, GPTQ's min/max quantizer (formats.md B.4), groups along the input
    kNf4 = 1,       // bitsandbytes blockwise absmax, NF4 table
    kFp4 = 2,       // bitsandbytes blockwise absmax, FP4 table
    kInt8 = 3,      // LLM.int8 vector-wise: row absmax (SCB), round half to even
    kGgufQ8_0 = 4,  // llama.cpp quantize_row_q8_0_ref, bit for bit
    kGgufQ4_0 = 5,  // llama.cpp quantize_row_q4_0_ref
    kGgufQ4_1 = 6,  // llama.cpp quantize_row_q4_1_ref
};
std::string_view MethodName(Method method);  // "rtn", "nf4", "fp4", "int8", "q8_0", "q4_0", "q4_1"

struct QuantOptions {
    Method method = Method::kRtn;
    int bits = 4;                 // rtn: 2, 3, 4, 8
    int64_t group_size = 128;     // rtn: 32, 64, 128 or -1 (per output channel); nf4/fp4: block size (64)
    bool symmetric = true;        // rtn
    bool double_quant = false;    // nf4/fp4: quantize the block absmax values (block 256, 8-bit dynamic map)
    float int8_threshold = 6.0f;  // int8: recorded in the config (an inference-time outlier threshold)
};

// Checks the options alone (bits, group sizes, method combinations); the message lists the choices.
Status ValidateOptions(const QuantOptions& options);

class Quantizer {
public:
    virtual ~Quantizer() = default;
    virtual Method method() const = 0;
    // Quantizes W (rows x cols, row-major F32). Fails, naming nothing but the problem, when W holds
    // NaN or Inf or when cols does not divide into the method's groups; callers add the tensor name.
    // Rows are spread over `pool`; the result does not depend on the thread count.
    virtual Result<quantformat::QuantizedTensor> Quantize(std::span<const float> w, int64_t rows, int64_t cols,
                                                          ThreadPool& pool) const = 0;
};

Result<std::unique_ptr<Quantizer>> MakeQuantizer(const QuantOptions& options);

}  // namespace tenpak::quant
