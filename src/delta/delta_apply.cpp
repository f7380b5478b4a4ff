// ApplyDelta: the base checked against the hashes the delta recorded (DeltaReader::Open), then the
// fine-tune's files written as `unpack` writes an artifact's, each tensor rebuilt on the way.
#include "delta_reader.h"
#include "tenpak/artifact/unpack.h"
#include "tenpak/delta/delta.h"

namespace tenpak::delta {

Result<ApplyReport> ApplyDelta(const std::string& delta_path, const std::string& base_path, const std::string& out_dir,
                               const ApplyOptions& options) {
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
