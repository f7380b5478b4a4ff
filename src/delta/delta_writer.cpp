// WriteDelta: the fine-tune's files, cut like `tenpak pack` cuts them, with each tensor stored as a
// reference, a byte-plane difference, an approximation within the budget, or whole.
#include <zstd.h>

#include <algorithm>
#include <map>

#include "budgeted.h"
#include "tensor_pairing.h"
#include "delta_format.h"
#include "tenpak/delta/byte_planes.h"
#include "tenpak/delta/delta.h"

namespace tenpak::delta {
Result<DeltaReport> WriteDelta(const std::string& fine, const std::string& base, const std::string& out,
                               const DeltaOptions& options) {
    if (!(options.max_relative_error >= 0 && options.max_relative_error < 1)) {
        return Status::InvalidArgument("the relative error budget must be in [0, 1), not " +
                                       std::to_string(options.max_relative_error));
    }
    TP_ASSIGN_OR_RETURN(const artifact::PackInput fine_input, artifact::DescribePackInput(fine));
    TP_ASSIGN_OR_RETURN(const artifact::PackInput base_input, artifact::DescribePackInput(base));
    const std::map<std::string, BaseTensor, std::less<>> base_tensors = IndexBase(base_input);
    std::map<std::string_view, const io::TensorInfo*> fine_infos;
    for (const io::TensorInfo& info : fine_input.tensors) fine_infos.emplace(info.name, &info);

    uint64_t total = 0;
    for (const artifact::InputFile& file : fine_input.files) total += file.file->size();
    TP_ASSIGN_OR_RETURN(std::unique_ptr<artifact::ArtifactWriter> writer,
                        artifact::ArtifactWriter::Create(out, options.pack, std::string(kDeltaSource),
                                                         options.pack.progress ? total : 0));
    DeltaReport report;
    report.fine_bytes = total;
    nlohmann::json tensors = nlohmann::json::object();
    std::vector<std::byte> diff, planes, approximated;
    for (const artifact::InputFile& file : fine_input.files) {
        TP_RETURN_IF_ERROR(writer->BeginFile(file.name));
        for (const artifact::InputPiece& piece : file.pieces) {
            const std::span<const std::byte> bytes = file.file->bytes().subspan(piece.offset, piece.size);
            if (piece.tensor.empty()) {
                TP_RETURN_IF_ERROR(writer->AddBytes(bytes));
                continue;
            }
            const io::TensorInfo& info = *fine_infos.at(piece.tensor);
            TensorDelta entry;
            entry.info = info;
            entry.hash = HashBytes(options.pack.hash, bytes);
            std::span<const std::byte> stored = bytes;
            const auto found = base_tensors.find(info.name);
            const bool comparable =
                found != base_tensors.end() && found->second.info.dtype == info.dtype && found->second.info.shape == info.shape;
            if (found == base_tensors.end()) report.added.push_back(info.name);
            const bool identical = comparable && std::equal(bytes.begin(), bytes.end(), found->second.bytes.begin());
            if (comparable && !identical) {
                // The exact difference, as byte planes: stored unless an approximation within the budget is smaller.
                entry.word = WordSize(info.dtype);
                entry.difference = ChooseDifference(found->second.bytes, bytes, entry.word);
                diff.resize(bytes.size());
                planes.resize(bytes.size());
                Diff(found->second.bytes, bytes, entry.word, entry.difference, diff);
                SplitPlanes(diff, entry.word, planes);
            }
            std::optional<BudgetedTensor> budgeted;
            if (comparable && !identical && options.max_relative_error > 0 && CanApproximate(info)) {
                TP_ASSIGN_OR_RETURN(budgeted, ApproximateChange(info, found->second.bytes, bytes, options.max_relative_error,
                                                                CompressedSize(planes, options.pack.zstd_level),
                                                                options.pack.zstd_level));
            }
            if (comparable) entry.base_hash = identical ? entry.hash : HashBytes(options.pack.hash, found->second.bytes);
            if (identical) {
                entry.mode = Mode::kReference;
                stored = {};
                ++report.identical;
            } else if (budgeted) {
                entry.mode = Mode::kApprox;
                entry.encoder = budgeted->approximation.encoder;
                entry.params = budgeted->approximation.params;
                entry.relative_error = budgeted->relative_error;
                approximated = std::move(budgeted->approximation.bytes);
                stored = approximated;
                ++report.approximated;
            } else if (comparable) {
                entry.mode = Mode::kDifference;
                stored = planes;
                ++report.differenced;
            } else {
                entry.mode = Mode::kWhole;
                ++report.whole;
            }
            report.tensors.push_back({info.name, std::string(ModeName(entry.mode)), entry.encoder, entry.params,
                                      stored.size(), entry.relative_error});
            io::TensorInfo encoded{info.name, DType::kU8, {static_cast<int64_t>(stored.size())}, stored.size()};
            TP_RETURN_IF_ERROR(writer->AddTensor(encoded, stored));
            tensors[info.name] = TensorDeltaToJson(entry, options.pack.hash);
            file.file->Release(piece.offset, piece.size);
        }
        TP_RETURN_IF_ERROR(writer->EndFile());
    }
    for (const auto& [name, tensor] : base_tensors) {
        if (!fine_infos.contains(name)) report.removed.push_back(name);
    }
    writer->SetManifestExtra(std::string(kDeltaKey), {{"version", 1},
                                                      {"mode", options.max_relative_error > 0 ? "budgeted" : "lossless"},
                                                      {"max_relative_error", options.max_relative_error},
                                                      {"base", {{"origin", base}, {"source", base_input.source}}},
                                                      {"tensors", std::move(tensors)},
                                                      {"added", report.added},
                                                      {"removed", report.removed}});
    TP_ASSIGN_OR_RETURN(const artifact::PackReport packed, writer->Finish());
    report.id = packed.id;
    report.delta_bytes = packed.stored_bytes;
    return report;
}

}  // namespace tenpak::delta
