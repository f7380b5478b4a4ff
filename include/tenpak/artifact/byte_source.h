// Random access to the bytes of an artifact: a local file (mmap) now, an HTTP URL with range
// requests in the remote module. The artifact reader needs nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/io/mapped_file.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::artifact {

// Thread safety: ReadAt may be called concurrently.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    // Exactly `size` bytes at `offset`. REQUIRES offset + size <= size().
    virtual Result<io::TensorData> ReadAt(uint64_t offset, uint64_t size) const = 0;
    // A path or URL, for messages.
    virtual std::string origin() const = 0;
    // The caller is done with these bytes for now (a mapped file drops its pages). Default: nothing.
    virtual void Release(uint64_t offset, uint64_t size) const {
        (void)offset;
        (void)size;
    }

protected:
    // kCorruption naming origin() when [offset, offset + size) does not lie within size(): for ReadAt.
    Status CheckRange(uint64_t offset, uint64_t size) const;
};

class MappedByteSource final : public ByteSource {
public:
    static Result<std::shared_ptr<const MappedByteSource>> Open(const std::string& path);
    uint64_t size() const override { return file_->size(); }
    Result<io::TensorData> ReadAt(uint64_t offset, uint64_t size) const override;
    std::string origin() const override { return file_->path(); }
    void Release(uint64_t offset, uint64_t size) const override { file_->Release(offset, size); }

private:
    explicit MappedByteSource(std::shared_ptr<const io::MappedFile> file) : file_(std::move(file)) {}
    std::shared_ptr<const io::MappedFile> file_;
};

// Bytes already in memory (an artifact received whole, a test's edited copy, a fuzzer's input).
class MemoryByteSource final : public ByteSource {
public:
    MemoryByteSource(std::vector<std::byte> bytes, std::string origin);
    uint64_t size() const override { return bytes_->size(); }
    Result<io::TensorData> ReadAt(uint64_t offset, uint64_t size) const override;
    std::string origin() const override { return origin_; }

private:
    std::shared_ptr<const std::vector<std::byte>> bytes_;
    std::string origin_;
};

}  // namespace tenpak::artifact
