// EstimateDelta: the sizes WriteDelta would produce in each mode, from a sample of the changed tensors.
#include <algorithm>
#include <cmath>

#include "budgeted.h"
#include "tensor_pairing.h"
#include "tenpak/delta/delta.h"

namespace tenpak::delta {
namespace {

// The manifest's cost per tensor entry (its name, mode, dtype, shape, two hex hashes, chunk list):
// about 500 bytes in the deltas of the real pair (docs/formats/delta.md), and a fixed part.
constexpr uint64_t kManifestBytesPerTensor = 500;
constexpr uint64_t kManifestFixedBytes = 2048;

// The compressed size of `bytes`, judged on its first MiB when it is larger.
uint64_t SampledCompressedSize(std::span<const std::byte> bytes, int level) {
    constexpr size_t kSample = 1u << 20;
    if (bytes.size() <= kSample) return CompressedSize(bytes, level);
    const double ratio = static_cast<double>(CompressedSize(bytes.first(kSample), level)) / kSample;
    return static_cast<uint64_t>(std::llround(ratio * static_cast<double>(bytes.size())));
}

}  // namespace

Result<DeltaEstimate> EstimateDelta(const std::string& fine, const std::string& base, const EstimateOptions& options) {
    if (!(options.sample_fraction > 0 && options.sample_fraction <= 1)) {
        return Status::InvalidArgument("the sample fraction must be in (0, 1]");
    }
    for (double e : options.budgets) {
        if (!(e > 0 && e < 1)) return Status::InvalidArgument("every budget must be in (0, 1), not " + std::to_string(e));
    }
    TP_ASSIGN_OR_RETURN(const artifact::PackInput fine_input, artifact::DescribePackInput(fine));
    TP_ASSIGN_OR_RETURN(const artifact::PackInput base_input, artifact::DescribePackInput(base));
    const std::map<std::string, BaseTensor, std::less<>> base_tensors = IndexBase(base_input);
    std::map<std::string_view, const io::TensorInfo*> fine_infos;
    for (const io::TensorInfo& info : fine_input.tensors) fine_infos.emplace(info.name, &info);

    DeltaEstimate estimate;
    // Bytes every mode stores alike (headers, whole tensors), and per mode what the sample stored.
    uint64_t common = kManifestFixedBytes;
    const size_t modes = 1 + options.budgets.size();
    std::vector<uint64_t> sampled_stored(modes, 0);
    const uint64_t every = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(1.0 / options.sample_fraction)));
    std::vector<std::byte> diff, planes;
    for (const artifact::InputFile& file : fine_input.files) {
        for (const artifact::InputPiece& piece : file.pieces) {
            const std::span<const std::byte> bytes = file.file->bytes().subspan(piece.offset, piece.size);
            estimate.fine_bytes += bytes.size();
            if (piece.tensor.empty()) {
                common += CompressedSize(bytes, options.zstd_level);
                continue;
            }
            common += kManifestBytesPerTensor;
            const io::TensorInfo& info = *fine_infos.at(piece.tensor);
            const auto found = base_tensors.find(info.name);
            if (found == base_tensors.end()) estimate.added.push_back(info.name);
            const bool comparable = found != base_tensors.end() && found->second.info.dtype == info.dtype &&
                                    found->second.info.shape == info.shape;
            if (comparable && std::equal(bytes.begin(), bytes.end(), found->second.bytes.begin())) {
                ++estimate.identical;
            } else if (!comparable) {
                ++estimate.whole;
                common += SampledCompressedSize(bytes, options.zstd_level);
            } else {
                estimate.changed_bytes += bytes.size();
                if (estimate.changed++ % every != 0) continue;
                ++estimate.sampled;
                estimate.sampled_bytes += bytes.size();
                const size_t word = WordSize(info.dtype);
                diff.resize(bytes.size());
                planes.resize(bytes.size());
                Diff(found->second.bytes, bytes, word, ChooseDifference(found->second.bytes, bytes, word), diff);
                SplitPlanes(diff, word, planes);
                const uint64_t exact = CompressedSize(planes, options.zstd_level);
                sampled_stored[0] += exact;
                for (size_t m = 0; m < options.budgets.size(); ++m) {
                    uint64_t stored = exact;
                    if (CanApproximate(info)) {
                        TP_ASSIGN_OR_RETURN(const std::optional<BudgetedTensor> budgeted,
                                            ApproximateChange(info, found->second.bytes, bytes, options.budgets[m], exact,
                                                              options.zstd_level));
                        if (budgeted) stored = CompressedSize(budgeted->approximation.bytes, options.zstd_level);
                    }
                    sampled_stored[m + 1] += stored;
                }
            }
            file.file->Release(piece.offset, piece.size);
        }
    }
    for (const auto& [name, tensor] : base_tensors) {
        if (!fine_infos.contains(name)) estimate.removed.push_back(name);
    }
    // Scale the sample's stored bytes per raw byte to every changed tensor.
    const double scale = estimate.sampled_bytes > 0
                             ? static_cast<double>(estimate.changed_bytes) / static_cast<double>(estimate.sampled_bytes)
                             : 0.0;
    for (size_t m = 0; m < modes; ++m) {
        ModeEstimate mode;
        mode.mode = m == 0 ? "lossless" : "budgeted";
        mode.relative_error = m == 0 ? 0.0 : options.budgets[m - 1];
        mode.bytes = common + static_cast<uint64_t>(std::llround(static_cast<double>(sampled_stored[m]) * scale));
        estimate.modes.push_back(mode);
    }
    return estimate;
}

}  // namespace tenpak::delta
