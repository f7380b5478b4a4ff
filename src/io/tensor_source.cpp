#include "tenpak/io/tensor_source.h"

#include <unordered_set>

namespace tenpak::io {

uint64_t TensorInfo::NumElements() const {
    Result<uint64_t> count = ElementCount(shape);
    return count.ok() ? *count : 0;
}

std::string TensorInfo::ShapeString() const {
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ", ";
        out += std::to_string(shape[i]);
    }
    out += "]";
    return out;
}

TensorData TensorData::View(std::span<const std::byte> bytes, std::shared_ptr<const void> keep_alive) {
    TensorData data;
    data.bytes_ = bytes;
    data.owner_ = std::move(keep_alive);
    return data;
}

TensorData TensorData::Own(std::vector<std::byte> bytes) {
    auto owned = std::make_shared<std::vector<std::byte>>(std::move(bytes));
    TensorData data;
    data.bytes_ = std::span<const std::byte>(owned->data(), owned->size());
    data.owner_ = std::move(owned);
    return data;
}

const TensorInfo* TensorSource::Find(std::string_view name) const {
    for (const TensorInfo& info : tensors()) {
        if (info.name == name) return &info;
    }
    return nullptr;
}

Result<TensorData> TensorSource::Read(std::string_view name) const {
    const TensorInfo* info = Find(name);
    if (info == nullptr) return Status::NotFound(origin() + ": no tensor named '" + std::string(name) + "'");
    return Read(*info);
}

uint64_t TensorSource::TotalBytes() const {
    uint64_t total = 0;
    for (const TensorInfo& info : tensors()) total += info.nbytes;
    return total;
}

Status ValidatePlan(const std::vector<TensorInfo>& plan, std::string_view where) {
    std::unordered_set<std::string_view> names;
    for (const TensorInfo& info : plan) {
        if (info.name.empty()) return Status::InvalidArgument(std::string(where) + ": a tensor has an empty name");
        if (!names.insert(info.name).second) {
            return Status::InvalidArgument(std::string(where) + ": tensor '" + info.name + "' is planned twice");
        }
        Result<uint64_t> size = TensorByteSize(info.dtype, info.shape);
        if (!size.ok()) return size.status().WithContext(std::string(where) + ": tensor '" + info.name + "'");
        if (*size != info.nbytes) {
            return Status::InvalidArgument(
                std::string(where) + ": tensor '" + info.name + "' has " + std::to_string(info.nbytes) + " bytes but " +
                std::string(DTypeName(info.dtype)) + " " + info.ShapeString() + " needs " + std::to_string(*size));
        }
    }
    return Status::Ok();
}

}  // namespace tenpak::io
