// ApplyDelta: the base checked against the hashes the delta recorded (DeltaReader::Open), then the
// fine-tune's files written as `unpack` writes an artifact's, each tensor rebuilt on the way.
#include <unistd.h>

#include <filesystem>

#include "delta_reader.h"
#include "tenpak/artifact/unpack.h"
#include "tenpak/delta/delta.h"

namespace tenpak::delta {
namespace {

// The folder the files are rebuilt into before packing: beside the artifact, removed whatever happens.
class ScratchFolder {
public:
    explicit ScratchFolder(const std::string& beside) : path_(beside + ".files-" + std::to_string(getpid())) {}
    ~ScratchFolder() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

Result<ApplyReport> ApplyAsArtifact(const std::string& delta_path, const std::string& base_path,
                                    const std::string& out_path, const ApplyOptions& options) {
    std::error_code error;
    if (std::filesystem::exists(out_path, error) && !options.overwrite) {
        return Status::InvalidArgument(out_path + " exists; remove it or pass --force");
    }
    const ScratchFolder scratch(out_path);
    ApplyOptions as_folder = options;
    as_folder.format = ApplyFormat::kHf;
    as_folder.overwrite = true;
    TP_ASSIGN_OR_RETURN(ApplyReport report, ApplyDelta(delta_path, base_path, scratch.path(), as_folder));
    TP_ASSIGN_OR_RETURN(const artifact::PackInput input, artifact::DescribePackInput(scratch.path()));
    artifact::PackOptions pack = options.pack;
    pack.progress = options.progress;
    TP_ASSIGN_OR_RETURN(const artifact::PackReport packed, artifact::Pack(input, out_path, pack));
    report.artifact_id = packed.id;
    report.artifact_bytes = packed.stored_bytes;
    return report;
}

}  // namespace

Result<ApplyReport> ApplyDelta(const std::string& delta_path, const std::string& base_path, const std::string& out_dir,
                               const ApplyOptions& options) {
    if (options.format == ApplyFormat::kTnpk) return ApplyAsArtifact(delta_path, base_path, out_dir, options);
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const artifact::Artifact> packed, artifact::Artifact::OpenFile(delta_path));
    TP_ASSIGN_OR_RETURN(const std::shared_ptr<const DeltaReader> reader, DeltaReader::Open(std::move(packed), base_path));
    const artifact::Manifest& manifest = reader->artifact().manifest();
    artifact::UnpackOptions unpack;
    unpack.overwrite = options.overwrite;
    unpack.progress = options.progress;
    unpack.progress_label = "applying " + delta_path;
    for (const artifact::FileEntry& file : manifest.files) {
        for (const artifact::Segment& segment : file.segments) {
            if (!segment.tensor.empty()) unpack.output_bytes += reader->tensors().at(segment.tensor).info.nbytes;
            for (uint32_t index : segment.chunks) unpack.output_bytes += manifest.chunks[index].raw_size;
        }
    }
    unpack.rebuild_tensor = [&](const artifact::TensorEntry& entry) { return reader->Rebuild(entry); };
    TP_ASSIGN_OR_RETURN(const artifact::UnpackReport written, artifact::Unpack(reader->artifact(), out_dir, unpack));
    ApplyReport report;
    report.files = written.files;
    report.bytes = written.bytes;
    report.base_tensors_checked = reader->base_tensors_checked();
    return report;
}

}  // namespace tenpak::delta
