#include "tenpak/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tenpak::io {
namespace {

Status OpenError(const std::string& path, int err) {
    if (err == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": cannot open: " + ErrnoMessage(err));
}

}  // namespace

Result<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OpenError(path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return Status::IOError(path + ": cannot stat: " + ErrnoMessage(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return Status::InvalidArgument(path + ": is a directory, expected a file");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    const std::byte* data = nullptr;
    if (size > 0) {
        void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapped == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            return Status::IOError(path + ": cannot mmap " + std::to_string(size) + " bytes: " + ErrnoMessage(err));
        }
        data = static_cast<const std::byte*>(mapped);
    }
    ::close(fd);  // the mapping keeps the file alive
    return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size));
}

void MappedFile::Release(uint64_t offset, uint64_t size) const {
    if (data_ == nullptr || offset >= size_) return;
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t end = std::min<uint64_t>(offset + size, size_);
    const uint64_t first = (offset + page - 1) / page * page;  // only pages wholly inside the range
    const uint64_t last = end == size_ ? (end + page - 1) / page * page : end / page * page;
    if (last <= first) return;
    ::madvise(const_cast<std::byte*>(data_) + first, last - first, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OpenError(path, errno);
    std::string out(size, '\0');
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return Status::IOError(path + ": read failed: " + ErrnoMessage(err));
        }
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(done);
    return out;
}

Result<std::string> ReadFileToString(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OpenError(path, errno);
    std::string out;
    char buf[1 << 16];
    while (true) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return Status::IOError(path + ": read failed: " + ErrnoMessage(err));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace tenpak::io
