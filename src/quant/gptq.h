// GPTQ (Frantar et al. 2022; shared/formats.md F.1, B.5): quantizes one linear layer's weights
// column by column, spreading each column's rounding error over the columns not yet quantized
// with the inverse Hessian of the layer's inputs, so that the layer's outputs on the calibration
// data move as little as possible. The group parameters are GPTQ's min/max quantizer, the same
// fit as rtn (rtn.cpp), so that a GPTQ tensor and an rtn tensor differ only in their codes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant {

// H = 2/n sum_t x_t x_t^T over the calibration tokens, accumulated batch by batch as a running
// mean (never storing the inputs), F32 like the reference. n counts tokens (the reference counts
// sequences; only the scale of H differs, which GPTQ ignores). Each Add is one BLAS syrk; the
// cols x cols matrix is allocated by the first Add. Not thread-safe: one accumulator per layer input.
class HessianAccumulator {
public:
    explicit HessianAccumulator(int64_t cols);
    // x: [tokens, cols] row-major. Fails (kInvalidArgument) naming the token and column of the first
    // NaN or Inf; the accumulator is then unchanged.
    Status Add(const float* x, int64_t tokens);
    int64_t cols() const { return cols_; }
    int64_t tokens() const { return tokens_; }
    // cols x cols, row-major, both triangles filled (all zeros if no token was added). The
    // accumulator is empty afterwards (tokens() == 0) and may be reused.
    std::vector<float> Take();

private:
    int64_t cols_;
    int64_t tokens_ = 0;
    std::vector<float> h_;
};

struct GptqOptions {
    int bits = 4;              // 2, 3, 4, 8
    int64_t group_size = 128;  // 32, 64, 128, or -1 (one group per row)
    bool symmetric = true;
    bool act_order = false;      // desc_act: columns in order of decreasing Hessian diagonal
    bool static_groups = false;  // group parameters fixed up front on the original column order
    double damp = 0.01;          // fraction of the mean Hessian diagonal added to the diagonal
    int64_t block_size = 128;    // columns per lazy batch update
};

// The GPTQ fields of a QuantOptions (bits, group size, symmetry, act-order, static groups, damp).
struct QuantOptions;
GptqOptions GptqOptionsFrom(const QuantOptions& options);

struct GptqResult {
    // kAffine codes/scales/zeros like rtn's; g_idx filled when act_order && !static_groups (the
    // group of each original column), empty otherwise.
    quantformat::QuantizedTensor tensor;
    double loss = 0.0;                  // sum over weights of (w - q)^2 / d^2 / 2, as the reference reports
    double damp_used = 0.0;             // the dampening that made H positive definite (>= options.damp)
    std::vector<std::string> warnings;  // e.g. "Hessian not positive definite; dampening raised to 0.1"
};

// Quantizes W ([rows, cols], row-major F32) given the Hessian of its inputs (cols x cols, as
// HessianAccumulator::Take returns; consumed). Dead inputs (zero diagonal) get zero weights. A
// Hessian that is not positive definite after dampening gets 10x more dampening, with a warning,
// up to a limit; then an error. Fails (kInvalidArgument) on NaN/Inf in W (row and column), on
// sizes that do not match, or on unsupported options (listing the supported ones).
// The result does not depend on the pool's thread count. Sets OpenBLAS's thread count to the
// pool's size (as kernels::MatMul does). Memory besides W and H: 8 cols^2 bytes while H^-1 is
// factorized (in double, see gptq.cpp), then W transposed (4 rows cols bytes) and the codes.
Result<GptqResult> GptqQuantize(std::span<const float> w, int64_t rows, int64_t cols, std::vector<float> hessian,
                                const GptqOptions& options, ThreadPool& pool);

}  // namespace tenpak::quant
