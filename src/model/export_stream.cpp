#include "export_stream.h"

#include "tenpak/core/cast.h"
#include "tenpak/core/progress.h"

namespace tenpak::model::internal {

Status PlanExportTensor(ExportTensor& tensor) {
    if (tensor.rewritten) return Status::Ok();  // the rewriter planned it
    if (!CanCast(tensor.canonical.dtype, tensor.out.dtype)) {
        return Status::Unsupported("tensor '" + tensor.canonical.name + "': cannot convert " +
                                   std::string(DTypeName(tensor.canonical.dtype)) + " to " +
                                   std::string(DTypeName(tensor.out.dtype)));
    }
    TP_ASSIGN_OR_RETURN(tensor.out.nbytes, TensorByteSize(tensor.out.dtype, tensor.out.shape));
    return Status::Ok();
}

namespace {

Result<io::TensorData> Produce(const Model& model, const ExportTensor& tensor, TensorRewriter* rewriter) {
    io::TensorData data;
    if (tensor.rewritten) {
        TP_ASSIGN_OR_RETURN(data, rewriter->Produce(tensor.canonical, tensor.out));
        if (data.size() != tensor.out.nbytes) {
            return Status::Internal("tensor '" + tensor.out.name + "': " + std::to_string(data.size()) +
                                    " bytes made, " + std::to_string(tensor.out.nbytes) + " planned");
        }
    } else {
        TP_ASSIGN_OR_RETURN(data, model.tensors->Read(tensor.canonical));
    }
    if (!tensor.rewritten && tensor.out.dtype != tensor.canonical.dtype) {
        std::vector<std::byte> cast(tensor.out.nbytes);
        Status status =
            CastTensor(tensor.canonical.dtype, data.bytes(), tensor.out.dtype, cast, tensor.canonical.NumElements());
        if (!status.ok()) return status.WithContext("tensor '" + tensor.canonical.name + "'");
        data = io::TensorData::Own(std::move(cast));
    }
    if (tensor.to_interleaved) {
        std::vector<std::byte> permuted(data.size());
        const uint64_t rows = static_cast<uint64_t>(tensor.out.shape.front());
        PermuteRotaryRows(data.bytes(), permuted, tensor.rotary_heads, data.size() / rows,
                          RotaryDirection::kHfToInterleaved);
        data = io::TensorData::Own(std::move(permuted));
    }
    if (tensor.transpose && !tensor.rewritten) {
        std::vector<std::byte> transposed(data.size());
        Transpose2d(data.bytes(), transposed, tensor.canonical.shape[0], tensor.canonical.shape[1],
                    Traits(tensor.out.dtype).block_bytes);
        data = io::TensorData::Own(std::move(transposed));
    }
    return data;
}

}  // namespace

Status StreamTensors(const Model& model, const std::vector<ExportTensor>& tensors, io::TensorSink& sink, bool progress,
                     const std::string& label, TensorRewriter* rewriter) {
    std::vector<io::TensorInfo> plan;
    uint64_t total = 0;
    for (const ExportTensor& t : tensors) {
        plan.push_back(t.out);
        total += t.out.nbytes;
    }
    TP_RETURN_IF_ERROR(sink.Begin(plan));
    std::optional<Progress> bar;
    if (progress) bar.emplace(label, total, Progress::Unit::kBytes);
    for (const ExportTensor& t : tensors) {
        if (bar) bar->SetDetail(t.out.name);
        TP_ASSIGN_OR_RETURN(io::TensorData data, Produce(model, t, rewriter));
        TP_RETURN_IF_ERROR(sink.Write(t.out.name, data.bytes()));
        data = io::TensorData();
        model.tensors->Release(t.canonical);  // keeps peak memory at one tensor, not the whole input
        if (bar) bar->Advance(t.out.nbytes);
    }
    return Status::Ok();
}

}  // namespace tenpak::model::internal
