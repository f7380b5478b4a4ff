// TensorSource and TensorSink: every TenPak job reads named tensors from a source and writes them
// to a sink (DESIGN.md, "everything is a stream of named tensors").
//
// Shapes are outermost-first (PyTorch order) everywhere in TenPak. GGUF, which lists dimensions
// innermost-first, is reversed by its reader and writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"

namespace tenpak::io {

struct TensorInfo {
    std::string name;
    DType dtype = DType::kF32;
    std::vector<int64_t> shape;  // outermost first
    uint64_t nbytes = 0;         // = TensorByteSize(dtype, shape)

    uint64_t NumElements() const;
    std::string ShapeString() const;  // "[512, 64]"
};

// The bytes of one tensor: a view into memory the source keeps alive (an mmap'd file), or a buffer
// it owns (data that had to be transformed or fetched). Cheap to move; copying shares ownership.
class TensorData {
public:
    TensorData() = default;
    static TensorData View(std::span<const std::byte> bytes, std::shared_ptr<const void> keep_alive);
    static TensorData Own(std::vector<std::byte> bytes);

    std::span<const std::byte> bytes() const { return bytes_; }
    size_t size() const { return bytes_.size(); }
    const std::byte* data() const { return bytes_.data(); }
    // Typed view; REQUIRES the size to be a multiple of sizeof(T) and suitable alignment.
    template <typename T>
    std::span<const T> as() const {
        return {reinterpret_cast<const T*>(bytes_.data()), bytes_.size() / sizeof(T)};
    }

private:
    std::span<const std::byte> bytes_;
    std::shared_ptr<const void> owner_;
};

// A set of named tensors that can be listed without reading their data.
//
// Thread safety: tensors() and Read() may be called concurrently once the source is open.
// Data returned by Read() stays valid as long as the TensorData lives, even after the source is
// destroyed.
class TensorSource {
public:
    virtual ~TensorSource() = default;

    // Every tensor, in the source's own order. Listing reads no tensor data.
    virtual const std::vector<TensorInfo>& tensors() const = 0;
    // The stored bytes of one tensor (exactly info.nbytes), in info.dtype.
    // REQUIRES: `info` is one of tensors().
    virtual Result<TensorData> Read(const TensorInfo& info) const = 0;
    // Where the tensors come from, for messages: a path or URL.
    virtual std::string origin() const = 0;
    // A hint that the caller is done with this tensor for now: a mapped source drops its pages from
    // the process (they stay in the page cache), so that streaming a model through costs memory of
    // one tensor, not of the whole file. Data already returned stays valid. Default: nothing.
    virtual void Release(const TensorInfo& info) const { (void)info; }

    // Looks a tensor up by name; nullptr when absent.
    const TensorInfo* Find(std::string_view name) const;
    // Read by name; kNotFound naming the tensor and the origin when absent.
    Result<TensorData> Read(std::string_view name) const;
    uint64_t TotalBytes() const;
};

// Takes tensors one at a time and writes them out.
//
// Protocol: Begin(plan) once with every tensor that will be written (so formats whose header comes
// first can be laid out), then Write() each planned tensor exactly once, in any order, then
// Finish(). Output appears atomically at Finish(); a sink destroyed before Finish() (after an
// error, say) removes everything it wrote.
//
// Thread safety: none; use from one thread.
class TensorSink {
public:
    virtual ~TensorSink() = default;
    virtual Status Begin(const std::vector<TensorInfo>& plan) = 0;
    // REQUIRES: name was in the plan and has not been written; data.size() == planned nbytes.
    virtual Status Write(std::string_view name, std::span<const std::byte> data) = 0;
    virtual Status Finish() = 0;
};

// Validates a plan for duplicate names and nbytes that do not match dtype x shape.
Status ValidatePlan(const std::vector<TensorInfo>& plan, std::string_view where);

}  // namespace tenpak::io
