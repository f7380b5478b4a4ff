// ApplyDelta: the base checked against the hashes the delta recorded, then the fine-tune's files
// rebuilt one tensor at a time.
#include <filesystem>
#include <fstream>
#include <map>

#include "delta_format.h"
#include "tenpak/artifact/artifact.h"
#include "tenpak/core/progress.h"
#include "tenpak/delta/byte_planes.h"
#include "tenpak/delta/delta.h"
#include "tenpak/io/atomic_output.h"

namespace tenpak::delta {
namespace fs = std::filesystem;
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
        const uint64_t expected = tensor.mode == Mode::kReference ? 0 : tensor.info.nbytes;
        if (entry.info.nbytes != expected) {
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

    TP_ASSIGN_OR_RETURN(io::AtomicDirectory dir, io::AtomicDirectory::Create(out_dir, options.overwrite));
    std::optional<Progress> bar;
    if (options.progress) bar.emplace("applying " + delta_path, packed->manifest().RawBytes(), Progress::Unit::kBytes);
    std::vector<std::byte> rebuilt;
    for (const artifact::FileEntry& file : packed->manifest().files) {
        const fs::path path = fs::path(dir.temp_path()) / file.name;
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        const auto write = [&](std::span<const std::byte> bytes) -> Status {
            out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
            if (!out) return Status::IOError(out_dir + "/" + file.name + ": write failed (disk full?)");
            if (bar) bar->Advance(bytes.size());
            report.bytes += bytes.size();
            return Status::Ok();
        };
        for (const artifact::Segment& segment : file.segments) {
            if (segment.tensor.empty()) {
                for (uint32_t index : segment.chunks) {
                    TP_ASSIGN_OR_RETURN(const io::TensorData chunk, packed->ReadChunk(index));
                    TP_RETURN_IF_ERROR(write(chunk.bytes()));
                }
                continue;
            }
            const TensorDelta& tensor = plan.tensors.at(segment.tensor);
            std::span<const std::byte> bytes;
            io::TensorData stored;
            if (tensor.mode == Mode::kReference) {
                bytes = base.bytes.at(segment.tensor);
            } else {
                TP_ASSIGN_OR_RETURN(stored, packed->ReadTensor(*packed->FindTensor(segment.tensor)));
                bytes = stored.bytes();
                if (tensor.mode == Mode::kDifference) {
                    rebuilt.resize(tensor.info.nbytes);
                    JoinPlanes(stored.bytes(), tensor.word, rebuilt);
                    Undiff(base.bytes.at(segment.tensor), rebuilt, tensor.word, tensor.difference, rebuilt);
                    bytes = rebuilt;
                }
            }
            if (HashBytes(algorithm, bytes) != tensor.hash) {
                return Status::Integrity(delta_path + ": tensor '" + segment.tensor +
                                         "' does not rebuild to the fine-tune's bytes (damaged delta)");
            }
            TP_RETURN_IF_ERROR(write(bytes));
        }
        out.close();
        if (!out) return Status::IOError(out_dir + "/" + file.name + ": write failed");
        ++report.files;
    }
    TP_RETURN_IF_ERROR(dir.Commit());
    return report;
}

}  // namespace tenpak::delta
