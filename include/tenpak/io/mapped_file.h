// A read-only memory map of a whole file. Opening costs nothing but page tables: the OS reads
// pages only when they are touched, so listing the tensors of a 70B model reads its headers only.
//
// Thread safety: immutable after Open; share it freely (TensorData views hold a shared_ptr to it).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "tenpak/core/result.h"

namespace tenpak::io {

class MappedFile {
public:
    // kNotFound / kIOError name the path and the OS's reason.
    static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const std::byte> bytes() const { return {data_, size_}; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // Drops the whole pages inside [offset, offset + size) from this process's memory
    // (madvise MADV_DONTNEED); the next access faults them back in from the page cache.
    void Release(uint64_t offset, uint64_t size) const;

private:
    MappedFile(std::string path, const std::byte* data, size_t size)
        : path_(std::move(path)), data_(data), size_(size) {}

    std::string path_;
    const std::byte* data_;
    size_t size_;
};

// Reads a whole (small) file into a string: config.json, tokenizer files.
Result<std::string> ReadFileToString(const std::string& path);
// Reads up to `size` bytes at `offset` (fewer at the end of the file).
Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t size);

}  // namespace tenpak::io
