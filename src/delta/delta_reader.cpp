#include "delta_reader.h"

#include "budgeted.h"
#include "tenpak/delta/byte_planes.h"

namespace tenpak::delta {

Result<std::shared_ptr<const DeltaReader>> DeltaReader::Open(std::shared_ptr<const artifact::Artifact> delta,
                                                             const std::string& base_path) {
    const std::string where = delta->origin();
    const artifact::Manifest& manifest = delta->manifest();
    if (manifest.source != kDeltaSource || !manifest.extra.contains(kDeltaKey)) {
        return Status::InvalidArgument(where + ": not a delta (its manifest has no 'delta' key); `tenpak unpack` "
                                               "rebuilds an ordinary artifact");
    }
    const nlohmann::json& entries = manifest.extra[std::string(kDeltaKey)];
    if (!entries.is_object() || !entries.contains("tensors") || !entries["tensors"].is_object()) {
        return Status::Corruption(where + ": the 'delta' key has no 'tensors' object");
    }
    auto reader = std::shared_ptr<DeltaReader>(new DeltaReader());
    for (const artifact::TensorEntry& entry : manifest.tensors) {
        if (!entries["tensors"].contains(entry.info.name)) {
            return Status::Corruption(where + ": tensor '" + entry.info.name + "' has no delta entry");
        }
        TP_ASSIGN_OR_RETURN(TensorDelta tensor,
                            TensorDeltaFromJson(entry.info.name, entries["tensors"][entry.info.name], where));
        // (An approximation's size is its encoder's to check.)
        const uint64_t expected = tensor.mode == Mode::kReference ? 0 : tensor.info.nbytes;
        if (tensor.mode != Mode::kApprox && entry.info.nbytes != expected) {
            return Status::Corruption(where + ": tensor '" + entry.info.name + "' stores " +
                                      std::to_string(entry.info.nbytes) + " bytes, its delta entry needs " +
                                      std::to_string(expected));
        }
        reader->plan_.emplace(entry.info.name, std::move(tensor));
    }
    TP_ASSIGN_OR_RETURN(reader->base_, artifact::DescribePackInput(base_path));
    for (const artifact::InputFile& file : reader->base_.files) {
        for (const artifact::InputPiece& piece : file.pieces) {
            if (!piece.tensor.empty()) {
                reader->base_bytes_[piece.tensor] = file.file->bytes().subspan(piece.offset, piece.size);
            }
        }
    }
    // Every base tensor the delta depends on, before anything is rebuilt.
    for (const auto& [name, tensor] : reader->plan_) {
        if (tensor.mode == Mode::kWhole) continue;
        const auto found = reader->base_bytes_.find(name);
        if (found == reader->base_bytes_.end()) {
            return Status::InvalidArgument(base_path + ": the base has no tensor '" + name + "', which the delta " +
                                           where + " was made against (wrong base?)");
        }
        if (found->second.size() != tensor.info.nbytes || HashBytes(manifest.hash, found->second) != tensor.base_hash) {
            return Status::InvalidArgument(base_path + ": tensor '" + name +
                                           "' differs from the base the delta was made against (wrong base model?)");
        }
        ++reader->checked_;
    }
    reader->delta_ = std::move(delta);
    return std::shared_ptr<const DeltaReader>(std::move(reader));
}

Result<io::TensorData> DeltaReader::Rebuild(const artifact::TensorEntry& entry) const {
    const TensorDelta& tensor = plan_.at(entry.info.name);
    io::TensorData bytes;
    if (tensor.mode == Mode::kReference) {
        bytes = io::TensorData::View(base_bytes_.at(entry.info.name), shared_from_this());  // the base stays mapped
    } else if (tensor.mode == Mode::kApprox) {
        // Not the fine-tune's bytes (within the budget recorded), so there is no hash to check: the
        // stored bytes were checked against their chunk hashes as they were read.
        TP_ASSIGN_OR_RETURN(const io::TensorData stored, delta_->ReadTensor(entry));
        TP_ASSIGN_OR_RETURN(std::vector<std::byte> approx,
                            ReconstructTensor(tensor.info, base_bytes_.at(entry.info.name), tensor.encoder,
                                              tensor.params, stored.bytes()));
        return io::TensorData::Own(std::move(approx));
    } else {
        TP_ASSIGN_OR_RETURN(bytes, delta_->ReadTensor(entry));
        if (tensor.mode == Mode::kDifference) {
            std::vector<std::byte> rebuilt(tensor.info.nbytes);
            JoinPlanes(bytes.bytes(), tensor.word, rebuilt);
            Undiff(base_bytes_.at(entry.info.name), rebuilt, tensor.word, tensor.difference, rebuilt);
            bytes = io::TensorData::Own(std::move(rebuilt));
        }
    }
    if (HashBytes(delta_->manifest().hash, bytes.bytes()) != tensor.hash) {
        return Status::Integrity(delta_->origin() + ": tensor '" + entry.info.name +
                                 "' does not rebuild to the fine-tune's bytes (damaged delta)");
    }
    return bytes;
}

}  // namespace tenpak::delta
