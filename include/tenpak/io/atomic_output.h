// Outputs that appear all at once or not at all.
//
// Everything is written under a temporary name next to the destination (same file system, so the
// final rename is atomic) and renamed into place by Commit(). Destroying an uncommitted output
// removes what was written, so a failed or interrupted job never leaves a half-written model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "tenpak/core/result.h"

namespace tenpak::io {

class AtomicFile {
public:
    // Creates "<dir>/.<name>.tmp-<pid>-<n>" for `path`.
    static Result<AtomicFile> Create(const std::string& path);
    AtomicFile(AtomicFile&& other) noexcept;
    AtomicFile& operator=(AtomicFile&& other) noexcept;
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile();

    // Appends at the current end.
    Status Append(std::span<const std::byte> data);
    Status Append(std::string_view text);
    // Writes at an absolute offset (the file grows as needed; holes read as zeros).
    Status WriteAt(uint64_t offset, std::span<const std::byte> data);
    uint64_t size() const { return size_; }
    // Makes the committed file at least `size` bytes long (unwritten bytes read as zeros).
    void ExtendTo(uint64_t size) { size_ = size > size_ ? size : size_; }
    // Closes and renames over `path`: other processes see the whole file or none of it. (No fsync:
    // like cp, it leaves durability across a power loss to the OS.) After this the object is inert.
    Status Commit();

    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }

private:
    AtomicFile() = default;
    void Discard();

    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    uint64_t size_ = 0;
};

// A directory built under a temporary name and moved into place by Commit(). An existing empty
// destination is replaced; a non-empty one only with `replace_existing` (a mistyped output path
// must not wipe a folder of other files), and then the old one is removed only after the new one
// is in place.
class AtomicDirectory {
public:
    static Result<AtomicDirectory> Create(const std::string& path, bool replace_existing = false);
    AtomicDirectory(AtomicDirectory&& other) noexcept;
    AtomicDirectory& operator=(AtomicDirectory&& other) noexcept;
    AtomicDirectory(const AtomicDirectory&) = delete;
    AtomicDirectory& operator=(const AtomicDirectory&) = delete;
    ~AtomicDirectory();

    // The temporary directory to write into.
    const std::string& temp_path() const { return temp_path_; }
    const std::string& path() const { return path_; }
    // Writes a small whole file inside the temporary directory.
    Status WriteFile(const std::string& name, std::string_view content) const;
    Status Commit();

private:
    AtomicDirectory() = default;
    void Discard();

    std::string path_;
    std::string temp_path_;
};

// A unique suffix for temporary names: "<pid>-<counter>".
std::string TempSuffix();

}  // namespace tenpak::io
