#include "tenpak/delta/delta_source.h"

#include "delta_reader.h"

namespace tenpak::delta {
namespace {

class DeltaTensorSource final : public io::TensorSource {
public:
    explicit DeltaTensorSource(std::shared_ptr<const DeltaReader> reader) : reader_(std::move(reader)) {
        for (const artifact::TensorEntry& entry : reader_->artifact().manifest().tensors) {
            infos_.push_back(reader_->tensors().at(entry.info.name).info);
        }
    }

    const std::vector<io::TensorInfo>& tensors() const override { return infos_; }

    Result<io::TensorData> Read(const io::TensorInfo& info) const override {
        const artifact::TensorEntry* entry = reader_->artifact().FindTensor(info.name);
        if (entry == nullptr) return Status::NotFound(origin() + ": no tensor '" + info.name + "'");
        return reader_->Rebuild(*entry);
    }

    std::string origin() const override { return reader_->artifact().origin(); }

private:
    std::shared_ptr<const DeltaReader> reader_;
    std::vector<io::TensorInfo> infos_;
};

}  // namespace

Result<std::unique_ptr<io::TensorSource>> OpenDeltaTensorSource(std::shared_ptr<const artifact::Artifact> delta,
                                                                 const std::string& base_path) {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const DeltaReader> reader, DeltaReader::Open(std::move(delta), base_path));
    return std::unique_ptr<io::TensorSource>(new DeltaTensorSource(std::move(reader)));
}

}  // namespace tenpak::delta
