#include "tenpak/artifact/byte_source.h"

namespace tenpak::artifact {

Result<std::shared_ptr<const MappedByteSource>> MappedByteSource::Open(const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const io::MappedFile> file, io::MappedFile::Open(path));
    return std::shared_ptr<const MappedByteSource>(new MappedByteSource(std::move(file)));
}

Status ByteSource::CheckRange(uint64_t offset, uint64_t size) const {
    const uint64_t total = this->size();
    if (offset <= total && size <= total - offset) return Status::Ok();
    return Status::Corruption(origin() + ": read of " + std::to_string(size) + " bytes at " + std::to_string(offset) +
                              " is past the end (" + std::to_string(total) + " bytes)");
}

Result<io::TensorData> MappedByteSource::ReadAt(uint64_t offset, uint64_t size) const {
    TP_RETURN_IF_ERROR(CheckRange(offset, size));
    return io::TensorData::View(file_->bytes().subspan(offset, size), file_);
}

MemoryByteSource::MemoryByteSource(std::vector<std::byte> bytes, std::string origin)
    : bytes_(std::make_shared<const std::vector<std::byte>>(std::move(bytes))), origin_(std::move(origin)) {}

Result<io::TensorData> MemoryByteSource::ReadAt(uint64_t offset, uint64_t size) const {
    TP_RETURN_IF_ERROR(CheckRange(offset, size));
    return io::TensorData::View(std::span<const std::byte>(*bytes_).subspan(offset, size), bytes_);
}

}  // namespace tenpak::artifact
