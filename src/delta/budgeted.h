// One tensor of a budgeted delta: the cheapest approximation of its change whose reconstruction,
// rounded to the tensor's dtype, is within the error budget; and the reconstruction itself (apply).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "approx_encoder.h"
#include "tenpak/core/result.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::delta {

// Tensors a budget applies to: F32, F16 or BF16 with at least two dimensions (rows = the first,
// columns = the rest); others keep the lossless difference.
bool CanApproximate(const io::TensorInfo& info);

struct BudgetedTensor {
    Approximation approximation;
    double relative_error = 0;  // ||reconstructed - fine||_F / ||fine - base||_F, in the tensor's dtype
};

// The encoding (ApproxEncoders(), each asked for its cheapest within the budget) that is smallest
// once compressed with zstd at `zstd_level`, among those whose reconstruction errs by at most
// `max_relative_error` of the change's norm and that compress below `exact_bytes` (what the exact
// difference costs); nullopt when none does, and the caller stores the exact difference.
// REQUIRES CanApproximate(info) and bytes of info's size.
Result<std::optional<BudgetedTensor>> ApproximateChange(const io::TensorInfo& info, std::span<const std::byte> base,
                                                        std::span<const std::byte> fine, double max_relative_error,
                                                        uint64_t exact_bytes, int zstd_level);

// The size of `bytes` compressed by zstd at `level` (as the container would store them, at most
// their own size).
uint64_t CompressedSize(std::span<const std::byte> bytes, int level);

// The fine-tune's tensor bytes rebuilt: base + the decoded change, rounded to info's dtype.
Result<std::vector<std::byte>> ReconstructTensor(const io::TensorInfo& info, std::span<const std::byte> base,
                                                 const std::string& encoder, const nlohmann::json& params,
                                                 std::span<const std::byte> stored);

}  // namespace tenpak::delta
