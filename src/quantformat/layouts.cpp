// The dispatcher of layouts.h: one table row per Layout (its name and its family's functions), and
// the checks every layout needs around them (Validate before packing, the shape before unpacking,
// Validate after unpacking). The formats themselves live in one file each: gptq_layout.cpp,
// awq_layout.cpp, bnb4_layout.cpp, bnb8_layout.cpp, ggml_layout.cpp and ggml_kquant_layout.cpp.
#include "tenpak/quantformat/layouts.h"

#include <array>
#include <limits>
#include <optional>
#include <string>

#include "layouts_internal.h"

namespace tenpak::quantformat {

namespace {

struct LayoutEntry {
    Layout layout;
    std::string_view name;  // stored in manifests and typed on command lines: never rename
    const internal::LayoutOps& (*ops)();
    std::optional<DType> gguf_dtype;  // GGUF layouts: the dtype of their one tensor
};

const std::array<LayoutEntry, 10> kLayouts = {{
    {Layout::kGptq, "gptq", internal::GptqLayoutOps, std::nullopt},
    {Layout::kGptqV2, "gptq_v2", internal::GptqLayoutOps, std::nullopt},
    {Layout::kAwqGemm, "awq", internal::AwqLayoutOps, std::nullopt},
    {Layout::kBnb4, "bnb4", internal::Bnb4LayoutOps, std::nullopt},
    {Layout::kBnb8, "bnb8", internal::Bnb8LayoutOps, std::nullopt},
    {Layout::kGgufQ8_0, "Q8_0", internal::GgmlLayoutOps, DType::kQ8_0},
    {Layout::kGgufQ4_0, "Q4_0", internal::GgmlLayoutOps, DType::kQ4_0},
    {Layout::kGgufQ4_1, "Q4_1", internal::GgmlLayoutOps, DType::kQ4_1},
    {Layout::kGgufQ4_K, "Q4_K", internal::GgmlKQuantLayoutOps, DType::kQ4_K},
    {Layout::kGgufQ6_K, "Q6_K", internal::GgmlKQuantLayoutOps, DType::kQ6_K},
}};

// The row of `layout`, or nullptr for a value outside the enum (a corrupt manifest byte).
const LayoutEntry* Find(Layout layout) {
    for (const LayoutEntry& entry : kLayouts) {
        if (entry.layout == layout) return &entry;
    }
    return nullptr;
}

Status UnknownLayout(Layout layout) {
    return Status::InvalidArgument("unknown quantized layout #" + std::to_string(static_cast<unsigned>(layout)));
}

// Unpack allocates rows * cols codes only after the stored sizes agree with them, but the product
// itself must not overflow on the way there.
Status CheckShape(Layout layout, int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0) {
        return internal::CannotHold(layout,
                                    "shape " + std::to_string(rows) + " x " + std::to_string(cols) + " has no weights");
    }
    constexpr int64_t kMaxElements = std::numeric_limits<int64_t>::max() / 8;  // room for bit counts
    if (rows > kMaxElements / cols) {
        return internal::CannotHold(layout,
                                    "shape " + std::to_string(rows) + " x " + std::to_string(cols) + " is too large");
    }
    return Status::Ok();
}

}  // namespace

std::string_view LayoutName(Layout layout) {
    const LayoutEntry* entry = Find(layout);
    return entry != nullptr ? entry->name : "unknown";
}

std::optional<Layout> LayoutFromName(std::string_view name) {
    for (const LayoutEntry& entry : kLayouts) {
        if (entry.name == name) return entry.layout;
    }
    return std::nullopt;
}

std::optional<Layout> GgufLayoutOf(DType dtype) {
    for (const LayoutEntry& entry : kLayouts) {
        if (entry.gguf_dtype == dtype) return entry.layout;
    }
    return std::nullopt;
}

std::optional<DType> GgufDTypeOf(Layout layout) {
    const LayoutEntry* entry = Find(layout);
    return entry != nullptr ? entry->gguf_dtype : std::nullopt;
}

Status CanHold(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, Scheme scheme) {
    const LayoutEntry* entry = Find(layout);
    if (entry == nullptr) return UnknownLayout(layout);
    TP_RETURN_IF_ERROR(CheckShape(layout, rows, cols));
    return entry->ops().can_hold(layout, rows, cols, bits, group_size, scheme);
}

Result<std::vector<PackedTensor>> Pack(Layout layout, const QuantizedTensor& q, std::string_view weight_dtype_name) {
    const LayoutEntry* entry = Find(layout);
    if (entry == nullptr) return UnknownLayout(layout);
    TP_RETURN_IF_ERROR(Validate(q).WithContext(std::string(entry->name)));
    TP_RETURN_IF_ERROR(CanHold(layout, q.rows, q.cols, q.bits, q.group_size, q.scheme));
    return entry->ops().pack(layout, q, weight_dtype_name);
}

Result<QuantizedTensor> Unpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams& params,
                               const TensorLookup& lookup) {
    const LayoutEntry* entry = Find(layout);
    if (entry == nullptr) return UnknownLayout(layout);
    TP_RETURN_IF_ERROR(CheckShape(layout, rows, cols));
    TP_ASSIGN_OR_RETURN(QuantizedTensor q, entry->ops().unpack(layout, rows, cols, params, lookup));
    // Each unpacker checks what it reads; this catches what a check there missed, so that callers can
    // rely on the result without checking it again.
    const Status valid = Validate(q);
    if (!valid.ok()) return Status::Corruption(std::string(entry->name) + ": unpacked tensor: " + valid.message());
    return q;
}

std::vector<std::string> LayoutSuffixes(Layout layout) {
    const LayoutEntry* entry = Find(layout);
    if (entry == nullptr) return {};
    return entry->ops().suffixes(layout);
}

}  // namespace tenpak::quantformat
