// The canonical view of a native TensorSource: HF names and HF layouts. Each entry names the
// native tensor it comes from and the layout change to apply; Read() applies it to one tensor at a
// time (no change: the native bytes are handed through without a copy).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tenpak/io/tensor_source.h"
#include "tenpak/model/tensor_layout.h"

namespace tenpak::model::internal {

enum class LayoutChange : uint8_t {
    kNone = 0,
    kRotaryToHf = 1,  // rows interleaved -> HF halves; `heads` rotary heads
    kTransposed = 2,  // native [out, in] -> HF Conv1D [in, out]
};

struct CanonicalEntry {
    io::TensorInfo info;  // canonical name and shape
    std::string native_name;
    LayoutChange change = LayoutChange::kNone;
    int64_t heads = 0;
};

class CanonicalSource final : public io::TensorSource {
public:
    CanonicalSource(std::shared_ptr<const io::TensorSource> native, std::vector<CanonicalEntry> entries);

    const std::vector<io::TensorInfo>& tensors() const override { return infos_; }
    using io::TensorSource::Read;
    Result<io::TensorData> Read(const io::TensorInfo& info) const override;
    std::string origin() const override { return native_->origin(); }
    void Release(const io::TensorInfo& info) const override;

private:
    std::shared_ptr<const io::TensorSource> native_;
    std::vector<CanonicalEntry> entries_;
    std::vector<io::TensorInfo> infos_;
    std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace tenpak::model::internal
