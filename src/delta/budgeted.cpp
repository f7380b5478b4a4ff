#include "budgeted.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>

#include "tenpak/core/cast.h"
#include "tenpak/core/dequantize.h"

namespace tenpak::delta {
namespace {

struct Shape2d {
    int64_t rows;
    int64_t cols;
};

Shape2d AsMatrix(const io::TensorInfo& info) {
    int64_t cols = 1;
    for (size_t i = 1; i < info.shape.size(); ++i) cols *= info.shape[i];
    return {info.shape[0], cols};
}

Result<std::vector<float>> ToF32(const io::TensorInfo& info, std::span<const std::byte> bytes) {
    std::vector<float> values(static_cast<size_t>(info.NumElements()));
    TP_RETURN_IF_ERROR(DequantizeToF32(info.dtype, bytes, values));
    return values;
}

// base + change, rounded to `dtype` and read back: the values a loader of the rebuilt file sees.
Result<std::vector<float>> RoundTrip(DType dtype, std::span<const float> base, std::span<const float> change,
                                     std::vector<std::byte>* stored) {
    std::vector<float> sum(base.size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = base[i] + change[i];
    const int64_t count = static_cast<int64_t>(sum.size());
    TP_ASSIGN_OR_RETURN(const uint64_t nbytes, TensorByteSize(dtype, std::span<const int64_t>(&count, 1)));
    std::vector<std::byte> bytes(nbytes);
    TP_RETURN_IF_ERROR(CastTensor(DType::kF32, std::as_bytes(std::span<const float>(sum)), dtype, bytes, sum.size()));
    TP_RETURN_IF_ERROR(DequantizeToF32(dtype, bytes, sum));
    if (stored != nullptr) *stored = std::move(bytes);
    return sum;
}

}  // namespace

bool CanApproximate(const io::TensorInfo& info) {
    return (info.dtype == DType::kF32 || info.dtype == DType::kF16 || info.dtype == DType::kBF16) &&
           info.shape.size() >= 2 && info.NumElements() > 0;
}

uint64_t CompressedSize(std::span<const std::byte> bytes, int level) {
    if (level <= 0 || bytes.empty()) return bytes.size();
    std::vector<std::byte> frame(ZSTD_compressBound(bytes.size()));
    const size_t n = ZSTD_compress(frame.data(), frame.size(), bytes.data(), bytes.size(), level);
    return ZSTD_isError(n) ? bytes.size() : std::min<uint64_t>(n, bytes.size());
}

Result<std::optional<BudgetedTensor>> ApproximateChange(const io::TensorInfo& info, std::span<const std::byte> base,
                                                        std::span<const std::byte> fine, double max_relative_error,
                                                        uint64_t exact_bytes, int zstd_level) {
    TP_ASSIGN_OR_RETURN(const std::vector<float> base_values, ToF32(info, base));
    TP_ASSIGN_OR_RETURN(const std::vector<float> fine_values, ToF32(info, fine));
    std::vector<float> change(fine_values.size());
    for (size_t i = 0; i < change.size(); ++i) change[i] = fine_values[i] - base_values[i];
    const double norm = std::sqrt(SquaredNorm(change));
    if (!std::isfinite(norm)) {
        return Status::InvalidArgument("tensor '" + info.name + "': its change from the base is not finite (NaN or Inf)");
    }
    const double max_error = max_relative_error * norm;
    const auto [rows, cols] = AsMatrix(info);
    struct Candidate {
        Approximation approximation;
        uint64_t compressed;
    };
    std::vector<Candidate> candidates;
    for (const std::unique_ptr<ApproxEncoder>& encoder : ApproxEncoders()) {
        std::optional<Approximation> a = encoder->Encode(change, rows, cols, max_error);
        if (!a) continue;
        const uint64_t compressed = CompressedSize(a->bytes, zstd_level);
        if (compressed < exact_bytes) candidates.push_back({std::move(*a), compressed});
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.compressed < b.compressed; });
    // The encoders measured their error on the change; rounding the sum to a 16-bit dtype adds some.
    std::vector<float> decoded(change.size());
    for (Candidate& entry : candidates) {
        Approximation& candidate = entry.approximation;
        TP_RETURN_IF_ERROR(FindApproxEncoder(candidate.encoder)->Decode(candidate.params, candidate.bytes, rows, cols, decoded));
        TP_ASSIGN_OR_RETURN(const std::vector<float> rebuilt, RoundTrip(info.dtype, base_values, decoded, nullptr));
        const double error = std::sqrt(SquaredDistance(rebuilt, fine_values));
        if (error <= max_error) return std::optional<BudgetedTensor>(BudgetedTensor{std::move(candidate), norm > 0 ? error / norm : 0.0});
    }
    return std::optional<BudgetedTensor>();
}

Result<std::vector<std::byte>> ReconstructTensor(const io::TensorInfo& info, std::span<const std::byte> base,
                                                 const std::string& encoder, const nlohmann::json& params,
                                                 std::span<const std::byte> stored) {
    const ApproxEncoder* decoder = FindApproxEncoder(encoder);
    if (decoder == nullptr) return Status::Corruption("tensor '" + info.name + "': unknown delta encoder '" + encoder + "'");
    if (!CanApproximate(info)) return Status::Corruption("tensor '" + info.name + "': its dtype or shape cannot hold an approximated change");
    const auto [rows, cols] = AsMatrix(info);
    std::vector<float> change(static_cast<size_t>(info.NumElements()));
    if (Status decoded = decoder->Decode(params, stored, rows, cols, change); !decoded.ok()) {
        return Status::Corruption("tensor '" + info.name + "': " + decoded.message());
    }
    TP_ASSIGN_OR_RETURN(const std::vector<float> base_values, ToF32(info, base));
    std::vector<std::byte> bytes;
    TP_RETURN_IF_ERROR(RoundTrip(info.dtype, base_values, change, &bytes).status());
    return bytes;
}

}  // namespace tenpak::delta
