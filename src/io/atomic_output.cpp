#include "tenpak/io/atomic_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace tenpak::io {
namespace fs = std::filesystem;

std::string TempSuffix() {
    static std::atomic<uint64_t> counter{0};
    return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

namespace {

std::string TempNameFor(const std::string& path) {
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    // Built by appending: GCC 12 warns falsely (-Wrestrict) on `"." + std::string`.
    std::string name(".");
    name.append(p.filename().string()).append(".tmp-").append(TempSuffix());
    return (dir / name).string();
}

Status ParentMustExist(const std::string& path) {
    const fs::path p(path);
    if (p.filename().empty()) return Status::InvalidArgument("output path '" + path + "' names no file");
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return Status::NotFound("output folder '" + dir.string() + "' does not exist (create it first)");
    }
    return Status::Ok();
}

}  // namespace

Result<AtomicFile> AtomicFile::Create(const std::string& path) {
    TP_RETURN_IF_ERROR(ParentMustExist(path));
    AtomicFile file;
    file.path_ = path;
    file.temp_path_ = TempNameFor(path);
    file.fd_ = ::open(file.temp_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (file.fd_ < 0) {
        return Status::IOError(file.temp_path_ + ": cannot create: " + ErrnoMessage(errno));
    }
    return file;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)), fd_(other.fd_), size_(other.size_) {
    other.fd_ = -1;
    other.temp_path_.clear();
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
    if (this != &other) {
        Discard();
        path_ = std::move(other.path_);
        temp_path_ = std::move(other.temp_path_);
        fd_ = other.fd_;
        size_ = other.size_;
        other.fd_ = -1;
        other.temp_path_.clear();
    }
    return *this;
}

AtomicFile::~AtomicFile() {
    Discard();
}

void AtomicFile::Discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    temp_path_.clear();
}

Status AtomicFile::WriteAt(uint64_t offset, std::span<const std::byte> data) {
    if (fd_ < 0) return Status::Internal("write to a closed AtomicFile");
    const std::byte* ptr = data.data();
    size_t left = data.size();
    uint64_t pos = offset;
    while (left > 0) {
        const ssize_t n = ::pwrite(fd_, ptr, left, static_cast<off_t>(pos));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            if (err == ENOSPC) return Status::ResourceExhausted(temp_path_ + ": disk full while writing " + path_);
            return Status::IOError(temp_path_ + ": write failed: " + ErrnoMessage(err));
        }
        ptr += n;
        left -= static_cast<size_t>(n);
        pos += static_cast<uint64_t>(n);
    }
    if (pos > size_) size_ = pos;
    return Status::Ok();
}

Status AtomicFile::Append(std::span<const std::byte> data) {
    return WriteAt(size_, data);
}

Status AtomicFile::Append(std::string_view text) {
    return Append(std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

Status AtomicFile::Commit() {
    if (fd_ < 0) return Status::Internal("commit of a closed AtomicFile");
    // Size the file explicitly so that trailing holes written by WriteAt count.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        return Status::IOError(temp_path_ + ": truncate failed: " + ErrnoMessage(errno));
    }
    if (::close(fd_) != 0) {
        fd_ = -1;
        return Status::IOError(temp_path_ + ": close failed: " + ErrnoMessage(errno));
    }
    fd_ = -1;
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        return Status::IOError("cannot rename " + temp_path_ + " to " + path_ + ": " + ErrnoMessage(errno));
    }
    temp_path_.clear();
    return Status::Ok();
}

Result<AtomicDirectory> AtomicDirectory::Create(const std::string& path, bool replace_existing) {
    std::string clean = path;
    while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
    TP_RETURN_IF_ERROR(ParentMustExist(clean));
    std::error_code ec;
    if (fs::exists(clean, ec) && !fs::is_directory(clean, ec)) {
        return Status::InvalidArgument("output '" + clean + "' exists and is not a directory");
    }
    if (!replace_existing && fs::is_directory(clean, ec) && !fs::is_empty(clean, ec)) {
        return Status::InvalidArgument("output folder '" + clean +
                                       "' exists and is not empty; pass --force to replace it (its files are removed)");
    }
    AtomicDirectory dir;
    dir.path_ = clean;
    dir.temp_path_ = TempNameFor(clean);
    if (::mkdir(dir.temp_path_.c_str(), 0755) != 0) {
        const int err = errno;
        dir.temp_path_.clear();
        return Status::IOError("cannot create folder next to " + clean + ": " + ErrnoMessage(err));
    }
    return dir;
}

AtomicDirectory::AtomicDirectory(AtomicDirectory&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)) {
    other.temp_path_.clear();
}

AtomicDirectory& AtomicDirectory::operator=(AtomicDirectory&& other) noexcept {
    if (this != &other) {
        Discard();
        path_ = std::move(other.path_);
        temp_path_ = std::move(other.temp_path_);
        other.temp_path_.clear();
    }
    return *this;
}

AtomicDirectory::~AtomicDirectory() {
    Discard();
}

void AtomicDirectory::Discard() {
    if (temp_path_.empty()) return;
    std::error_code ec;
    fs::remove_all(temp_path_, ec);
    temp_path_.clear();
}

Status AtomicDirectory::WriteFile(const std::string& name, std::string_view content) const {
    TP_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create((fs::path(temp_path_) / name).string()));
    TP_RETURN_IF_ERROR(file.Append(content));
    return file.Commit();
}

Status AtomicDirectory::Commit() {
    if (temp_path_.empty()) return Status::Internal("commit of a discarded AtomicDirectory");
    std::error_code ec;
    std::string old_path;
    if (fs::exists(path_, ec)) {
        old_path = TempNameFor(path_) + ".old";
        if (::rename(path_.c_str(), old_path.c_str()) != 0) {
            return Status::IOError("cannot move the existing " + path_ + " aside: " + ErrnoMessage(errno));
        }
    }
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        const int err = errno;
        if (!old_path.empty()) ::rename(old_path.c_str(), path_.c_str());  // put the old one back
        return Status::IOError("cannot rename " + temp_path_ + " to " + path_ + ": " + ErrnoMessage(err));
    }
    temp_path_.clear();
    if (!old_path.empty()) fs::remove_all(old_path, ec);
    return Status::Ok();
}

}  // namespace tenpak::io
