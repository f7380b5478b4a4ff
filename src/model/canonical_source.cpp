#include "canonical_source.h"

namespace tenpak::model::internal {

CanonicalSource::CanonicalSource(std::shared_ptr<const io::TensorSource> native, std::vector<CanonicalEntry> entries)
    : native_(std::move(native)), entries_(std::move(entries)) {
    for (size_t i = 0; i < entries_.size(); ++i) {
        infos_.push_back(entries_[i].info);
        index_.emplace(entries_[i].info.name, i);
    }
}

void CanonicalSource::Release(const io::TensorInfo& info) const {
    const auto it = index_.find(info.name);
    if (it == index_.end()) return;
    if (const io::TensorInfo* native = native_->Find(entries_[it->second].native_name)) native_->Release(*native);
}

Result<io::TensorData> CanonicalSource::Read(const io::TensorInfo& info) const {
    const auto it = index_.find(info.name);
    if (it == index_.end()) return Status::NotFound(origin() + ": no tensor named '" + info.name + "'");
    const CanonicalEntry& entry = entries_[it->second];
    TP_ASSIGN_OR_RETURN(io::TensorData native, native_->Read(std::string_view(entry.native_name)));
    if (entry.change == LayoutChange::kNone) return native;

    std::vector<std::byte> out(native.size());
    const int64_t rows = entry.info.shape.empty() ? 1 : entry.info.shape.front();
    if (entry.change == LayoutChange::kRotaryToHf) {
        PermuteRotaryRows(native.bytes(), out, entry.heads, native.size() / static_cast<uint64_t>(rows),
                          RotaryDirection::kInterleavedToHf);
    } else {
        // Canonical [in, out] from native [out, in].
        const int64_t cols = entry.info.shape.back();
        Transpose2d(native.bytes(), out, cols, rows, Traits(entry.info.dtype).block_bytes);
    }
    return io::TensorData::Own(std::move(out));
}

}  // namespace tenpak::model::internal
