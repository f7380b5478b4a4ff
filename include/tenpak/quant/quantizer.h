// Quantization methods that need no calibration data (rtn, nf4, fp4, int8, and llama.cpp's Q8_0 /
// Q4_0 / Q4_1 reference encoders) behind one interface. Each turns an F32 weight matrix into a
// QuantizedTensor; none knows how the result is stored (tenpak/quantformat/layouts.h does that).
//
// What each method produces (shared/formats.md has the references):
//   rtn   kAffine, `bits` 2/3/4/8, groups of `group_size` columns (-1: one group per row). GPTQ's
//         min/max quantizer (B.4); F16-representable scales (rounded before the codes are chosen);
//         zero points are floats holding integers, asymmetric ones clamped to >= 1 so that GPTQ v1
//         ("zero - 1" on disk) can store them.
//   nf4   kNf4 / kFp4, 4 bits, blocks of `group_size` (default 64) elements of the row-major
//   fp4   flattening; scales = F32 block absmax (D.1). With double_quant, `double_quant` is filled and
//         `scales` holds the absmax values a loader reconstructs from it.
//   int8  kInt8Absmax, one group per row, scales = SCB (D.2).
//   q8_0  kAffine 8 bits, blocks of 32, zero 128, scale = the F16 value of ggml's d (E.2).
//   q4_0  kAffine 4 bits, blocks of 32, zero 8.
//   q4_1  kAffineMin 4 bits, blocks of 32, zeros = the F16 value of the block minimum.
// The GGUF encoders are llama.cpp's quantize_row_*_ref bit for bit: packing their codes and scales
// into GGML blocks gives llama-quantize's bytes.
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
    // Calibrated methods: they need the layer's inputs, so they run through QuantizeModel's
    // calibration pipeline (src/quant/calibration.h) or the per-layer functions of gptq.h / awq.h,
    // not through a Quantizer.
    kGptq = 7,  // GPTQ (formats.md F.1), rtn's group fit, codes chosen with the inverse Hessian
    kAwq = 8,   // AWQ (F.2): activation-aware scales and clipping, AutoAWQ's asymmetric quantizer
    // llama.cpp's k-quant reference encoders (quantize_row_q4_K_ref / q6_K_ref): super-blocks of 256.
    kGgufQ4_K = 9,
    kGgufQ6_K = 10,
};
// "rtn", "nf4", "fp4", "int8", "q8_0", "q4_0", "q4_1", "gptq", "awq", "q4_k", "q6_k"
std::string_view MethodName(Method method);
bool IsCalibrated(Method method);  // gptq, awq
bool IsKQuant(Method method);      // q4_k, q6_k: super-block encoders, no BlockwiseRecipe

// Fields a method does not use are ignored (bits and group_size mean nothing to int8 and the GGUF
// encoders, whose groups are fixed).
struct QuantOptions {
    Method method = Method::kRtn;
    int bits = 4;                 // rtn: 2, 3, 4, 8
    int64_t group_size = 128;     // rtn: 32, 64, 128 or -1 (per output channel); nf4/fp4: block size,
                                  // a power of two in 32..4096 (bitsandbytes' default 64: see DefaultOptions)
    bool symmetric = true;        // rtn
    bool double_quant = false;    // nf4/fp4: quantize the block absmax values (block 256, 8-bit dynamic map)
    float int8_threshold = 6.0f;  // int8: recorded in the config (an inference-time outlier threshold)
    // gptq:
    bool act_order = false;      // desc_act: columns in order of decreasing Hessian diagonal
    bool static_groups = false;  // group parameters fixed before the columns are updated
    double damp = 0.01;          // dampening, a fraction of the mean Hessian diagonal
};

// The options of `method` with that method's own defaults (rtn and gptq: 4-bit symmetric g128;
// awq: 4-bit asymmetric g128; nf4/fp4: block 64, no double quantization). The struct's member
// defaults are rtn's.
QuantOptions DefaultOptions(Method method);

// Checks the options alone (bits, group sizes, method combinations); the message lists the choices.
Status ValidateOptions(const QuantOptions& options);

// Thread safety: a Quantizer is immutable; Quantize may be called from several threads at once
// (with different pools, or one pool: ThreadPool serialises its ParallelFor calls).
class Quantizer {
public:
    virtual ~Quantizer() = default;
    virtual Method method() const = 0;
    // Quantizes W (rows x cols, row-major F32; w.size() == rows * cols). Fails with
    // kInvalidArgument, naming nothing but the problem, when W holds NaN or Inf (the first one's row
    // and column), when cols does not divide into the method's groups (both numbers), or when a
    // scale stored as F16 would overflow; callers add the tensor name.
    // Groups are spread over `pool`; the result does not depend on the thread count.
    virtual Result<quantformat::QuantizedTensor> Quantize(std::span<const float> w, int64_t rows, int64_t cols,
                                                          ThreadPool& pool) const = 0;
};

// ValidateOptions, then the method's quantizer; kInvalidArgument for the calibrated methods.
Result<std::unique_ptr<Quantizer>> MakeQuantizer(const QuantOptions& options);

}  // namespace tenpak::quant
