// ApplyDelta: the base checked against the hashes the delta recorded, then the fine-tune's files
// rebuilt one tensor at a time.
#include <map>

#include "budgeted.h"
#include "delta_format.h"
#include "tenpak/artifact/artifact.h"
#include "tenpak/artifact/unpack.h"
#include "tenpak/delta/byte_planes.h"
#include "tenpak/delta/delta.h"

namespace tenpak::delta {
namespace {

struct Plan {
    std::map<std::string, TensorDelta, std::less<>> tensors;
};

Result<Plan> ReadPlan(const artifact::Artifact& packed) {
    const std::string where = packed.origin();
    if (packed.manifest().source != kDeltaSource || !packed.manifest().extra.contains(kDeltaKey)) {
        return Status::InvalidArgument(where + ": not a delta (its manifest has no 'delta' key); `tenpak unpack` "
                                               "rebuilds an ordinary artifact");
    }
    const nlohmann::json& delta = packed.manifest().extra[std::string(kDeltaKey)];
    if (!delta.is_object() || !delta.contains("tensors") || !delta["tensors"].is_object()) {
        return Status::Corruption(where + ": the 'delta' key has no 'tensors' object");
    }
    Plan plan;
    for (const artifact::TensorEntry& entry : packed.manifest().tensors) {
        if (!delta["tensors"].contains(entry.info.name)) {
            return Status::Corruption(where + ": tensor '" + entry.info.name + "' has no delta entry");
        }
        TP_ASSIGN_OR_RETURN(TensorDelta tensor,
                            TensorDeltaFromJson(entry.info.name, delta["tensors"][entry.info.name], where));
        // (An approximation's size is the encoder's to check.)
        const uint64_t expected = tensor.mode == Mode::kReference ? 0 : tensor.info.nbytes;
        if (tensor.mode != Mode::kApprox && entry.info.nbytes != expected) {
            return Status::Corruption(where + ": tensor '" + entry.info.name + "' stores " +
                                      std::to_string(entry.info.nbytes) + " bytes, its delta entry needs " +
                                      std::to_string(expected));
        }
        plan.tensors.emplace(entry.info.name, std::move(tensor));
    }
    return plan;
}

// The base tensors by name, with their bytes mapped.
struct Base {
    artifact::PackInput input;
    std::map<std::string, std::span<const std::byte>, std::less<>> bytes;
};

Result<Base> OpenBase(const std::string& path) {
    Base base;
    TP_ASSIGN_OR_RETURN(base.input, artifact::DescribePackInput(path));
    for (const artifact::InputFile& file : base.input.files) {
        for (const artifact::InputPiece& piece : file.pieces) {
            if (!piece.tensor.empty()) base.bytes[piece.tensor] = file.file->bytes().subspan(piece.offset, piece.size);
        }
    }
    return base;
}

}  // namespace

Result<ApplyReport> ApplyDelta(const std::string& delta_path, const std::string& base_path, const std::string& out_dir,
                               const ApplyOptions& options) {
    TP_ASSIGN_OR_RETURN(const std::shared_ptr<const artifact::Artifact> packed, artifact::Artifact::OpenFile(delta_path));
    TP_ASSIGN_OR_RETURN(const Plan plan, ReadPlan(*packed));
    TP_ASSIGN_OR_RETURN(const Base base, OpenBase(base_path));
    const HashAlgorithm algorithm = packed->manifest().hash;
    ApplyReport report;
    // Every base tensor the delta depends on, before anything is written.
    for (const auto& [name, tensor] : plan.tensors) {
        if (tensor.mode == Mode::kWhole) continue;
        const auto found = base.bytes.find(name);
        if (found == base.bytes.end()) {
            return Status::InvalidArgument(base_path + ": the base has no tensor '" + name +
                                           "', which the delta " + delta_path + " was made against (wrong base?)");
        }
        if (found->second.size() != tensor.info.nbytes || HashBytes(algorithm, found->second) != tensor.base_hash) {
            return Status::InvalidArgument(base_path + ": tensor '" + name +
                                           "' differs from the base the delta was made against (wrong base model?)");
        }
        ++report.base_tensors_checked;
    }

    // The files as `unpack` writes them, each tensor rebuilt from the base and its stored form.
    artifact::UnpackOptions unpack;
    unpack.overwrite = options.overwrite;
    unpack.progress = options.progress;
    unpack.progress_label = "applying " + delta_path;
    for (const artifact::FileEntry& file : packed->manifest().files) {
        for (const artifact::Segment& segment : file.segments) {
            if (!segment.tensor.empty()) unpack.output_bytes += plan.tensors.at(segment.tensor).info.nbytes;
            for (uint32_t index : segment.chunks) unpack.output_bytes += packed->manifest().chunks[index].raw_size;
        }
    }
    std::vector<std::byte> rebuilt;
    unpack.rebuild_tensor = [&](const artifact::TensorEntry& entry) -> Result<io::TensorData> {
        const TensorDelta& tensor = plan.tensors.at(entry.info.name);
        io::TensorData bytes;
        if (tensor.mode == Mode::kReference) {
            bytes = io::TensorData::View(base.bytes.at(entry.info.name), nullptr);
        } else if (tensor.mode == Mode::kApprox) {
            // Not the fine-tune's bytes (within the budget recorded), so there is no hash to check:
            // the stored bytes were checked against their chunk hashes as they were read.
            TP_ASSIGN_OR_RETURN(const io::TensorData stored, packed->ReadTensor(entry));
            TP_ASSIGN_OR_RETURN(std::vector<std::byte> approx,
                                ReconstructTensor(tensor.info, base.bytes.at(entry.info.name), tensor.encoder,
                                                  tensor.params, stored.bytes()));
            return io::TensorData::Own(std::move(approx));
        } else {
            TP_ASSIGN_OR_RETURN(bytes, packed->ReadTensor(entry));
            if (tensor.mode == Mode::kDifference) {
                rebuilt.resize(tensor.info.nbytes);
                JoinPlanes(bytes.bytes(), tensor.word, rebuilt);
                Undiff(base.bytes.at(entry.info.name), rebuilt, tensor.word, tensor.difference, rebuilt);
                bytes = io::TensorData::View(rebuilt, nullptr);
            }
        }
        if (HashBytes(algorithm, bytes.bytes()) != tensor.hash) {
            return Status::Integrity(delta_path + ": tensor '" + entry.info.name +
                                     "' does not rebuild to the fine-tune's bytes (damaged delta)");
        }
        return bytes;
    };
    TP_ASSIGN_OR_RETURN(const artifact::UnpackReport written, artifact::Unpack(*packed, out_dir, unpack));
    report.files = written.files;
    report.bytes = written.bytes;
    return report;
}

}  // namespace tenpak::delta
