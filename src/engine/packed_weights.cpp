#include "packed_weights.h"

#include <algorithm>
#include <numeric>

#include "tenpak/quantformat/layouts.h"

namespace tenpak::engine::internal {
namespace {

using quantformat::Layout;
using quantformat::QuantizedTensor;
using quantformat::Scheme;

// The tensor whose presence says a layer is stored in `layout` (its float `.weight` may still be
// there under the same name for bitsandbytes, so the marker is a tensor only the layout has).
std::string_view MarkerSuffix(Layout layout) {
    switch (layout) {
        case Layout::kGptq:
        case Layout::kGptqV2:
        case Layout::kAwqGemm:
            return "qweight";
        case Layout::kBnb4:
            return "weight.absmax";
        case Layout::kBnb8:
            return "SCB";
        default:
            return "weight";
    }
}

// Codes of one row packed `bits` to a byte's lower bits first (tenpak/kernels/packed.h).
void PackRow(const uint8_t* codes, int64_t cols, int bits, uint8_t* out) {
    const int per_byte = 8 / bits;
    for (int64_t c = 0; c < cols; c += per_byte) {
        uint8_t byte = 0;
        for (int j = 0; j < per_byte; ++j) byte |= static_cast<uint8_t>(codes[c + j] << (bits * j));
        out[c / per_byte] = byte;
    }
}

// Act-order: the column permutation that makes every group contiguous (columns sorted by group,
// stable), or empty when some group does not hold exactly group_size columns.
std::vector<int32_t> GroupContiguousOrder(const QuantizedTensor& q) {
    std::vector<int32_t> order(static_cast<size_t>(q.cols));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return q.g_idx[static_cast<size_t>(a)] < q.g_idx[static_cast<size_t>(b)];
    });
    for (size_t c = 0; c < order.size(); ++c) {
        if (q.g_idx[static_cast<size_t>(order[c])] != static_cast<int32_t>(c / static_cast<size_t>(q.group_size))) {
            return {};
        }
    }
    return order;
}

bool IsTrivialOrder(const std::vector<int32_t>& order) {
    for (size_t c = 0; c < order.size(); ++c) {
        if (order[c] != static_cast<int32_t>(c)) return false;
    }
    return true;
}

}  // namespace

std::optional<Layout> QuantizedLayoutOf(const model::Model& model, const std::string& prefix) {
    if (model.config.quantization) {
        const Layout layout = model.config.quantization->layout;
        const std::string marker = prefix + "." + std::string(MarkerSuffix(layout));
        if (model.tensors->Find(marker) != nullptr) return layout;
    }
    if (const io::TensorInfo* weight = model.tensors->Find(prefix + ".weight")) return quantformat::GgufLayoutOf(weight->dtype);
    return std::nullopt;
}

std::optional<kernels::PackedMatrix> ToPackedMatrix(const QuantizedTensor& q, PackedStorage& storage,
                                                    std::string& reason) {
    const bool table = q.scheme == Scheme::kNf4 || q.scheme == Scheme::kFp4;
    const int64_t group = q.group_size;
    if (group != q.cols && group % 32 != 0) {
        reason = "group size " + std::to_string(group) + " is not a multiple of 32";
        return std::nullopt;
    }
    if (table && q.cols % group != 0) {
        reason = "bitsandbytes blocks of " + std::to_string(group) + " straddle rows of " + std::to_string(q.cols);
        return std::nullopt;
    }
    std::vector<int32_t> order;
    if (!q.g_idx.empty()) {
        order = GroupContiguousOrder(q);
        if (order.empty()) {
            reason = "act-order groups of unequal sizes";
            return std::nullopt;
        }
        if (IsTrivialOrder(order)) order.clear();
    }
    const int bits = q.bits == 3 ? 4 : q.bits;
    const size_t row_bytes = static_cast<size_t>(q.cols) * bits / 8;
    storage.codes.resize(static_cast<size_t>(q.rows) * row_bytes);
    std::vector<uint8_t> gathered(order.empty() ? 0 : static_cast<size_t>(q.cols));
    for (int64_t r = 0; r < q.rows; ++r) {
        const uint8_t* row = q.codes.data() + static_cast<size_t>(r * q.cols);
        if (!order.empty()) {
            for (size_t c = 0; c < gathered.size(); ++c) gathered[c] = row[order[c]];
            row = gathered.data();
        }
        PackRow(row, q.cols, bits, storage.codes.data() + static_cast<size_t>(r) * row_bytes);
    }
    // Scales and offsets per (row, group): value = scale * code + offset, or table[code] * scale.
    const size_t groups = static_cast<size_t>(q.rows) * static_cast<size_t>(q.cols / group);
    storage.scales.resize(groups);
    if (!table) storage.offsets.resize(groups);
    for (size_t i = 0; i < groups; ++i) {
        const float s = q.scales[i];
        switch (q.scheme) {
            case Scheme::kAffine:
                storage.scales[i] = s;
                storage.offsets[i] = -s * q.zeros[i];
                break;
            case Scheme::kAffineMin:
                storage.scales[i] = s;
                storage.offsets[i] = q.zeros[i];
                break;
            case Scheme::kInt8Absmax:
                storage.scales[i] = s / 127.0f;
                storage.offsets[i] = -128.0f * (s / 127.0f);
                break;
            case Scheme::kNf4:
            case Scheme::kFp4:
                storage.scales[i] = s;
                break;
        }
    }
    if (q.scheme == Scheme::kNf4) storage.table = quantformat::Nf4Table();
    if (q.scheme == Scheme::kFp4) storage.table = quantformat::Fp4Table();
    storage.column_order = std::move(order);

    kernels::PackedMatrix m;
    m.rows = q.rows;
    m.cols = q.cols;
    m.bits = bits;
    m.group = group;
    m.codes = storage.codes.data();
    m.scales = storage.scales.data();
    m.offsets = table ? nullptr : storage.offsets.data();
    m.table = table ? storage.table.data() : nullptr;
    m.column_order = storage.column_order.empty() ? nullptr : storage.column_order.data();
    return m;
}

Result<LoadedQuantized> LoadQuantizedLinear(const model::Model& model, const std::string& prefix, Layout layout,
                                            int64_t rows, int64_t cols) {
    quantformat::LayoutParams params;
    if (model.config.quantization && !quantformat::GgufDTypeOf(layout)) params = model.config.quantization->params;
    std::vector<io::TensorData> held;  // keeps the stored bytes alive while Unpack reads them
    std::vector<const io::TensorInfo*> read;
    const quantformat::TensorLookup lookup = [&](std::string_view suffix) -> Result<quantformat::StoredTensor> {
        const std::string name = prefix + "." + std::string(suffix);
        const io::TensorInfo* info = model.tensors->Find(name);
        if (info == nullptr) return Status::NotFound(model.origin + ": missing tensor '" + name + "'");
        TP_ASSIGN_OR_RETURN(io::TensorData data, model.tensors->Read(*info));
        held.push_back(data);
        read.push_back(info);
        return quantformat::StoredTensor{info->dtype, info->shape, data.bytes()};
    };
    Result<QuantizedTensor> unpacked = quantformat::Unpack(layout, rows, cols, params, lookup);
    if (!unpacked.ok()) return unpacked.status().WithContext(model.origin + ": layer '" + prefix + "'");
    const QuantizedTensor& q = *unpacked;

    LoadedQuantized out;
    out.layout = std::string(quantformat::LayoutName(layout));
    out.storage = std::make_unique<PackedStorage>();
    out.packed = ToPackedMatrix(q, *out.storage, out.fallback_reason);
    if (!out.packed) {
        out.storage->dense.resize(q.codes.size());
        quantformat::Dequantize(q, out.storage->dense);
        out.dense = kernels::WeightView{DType::kF32, out.storage->dense.data(), rows, cols};
    }
    // The stored layout is not read again: let the kernel drop its pages (RSS stays near the repacked size).
    held.clear();
    for (const io::TensorInfo* info : read) model.tensors->Release(*info);
    return out;
}

}  // namespace tenpak::engine::internal
