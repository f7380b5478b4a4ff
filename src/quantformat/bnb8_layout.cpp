// bitsandbytes' LLM.int8 layout, Linear8bitLt's state dict (shared/formats.md D.2), for one linear
// layer of N outputs and K inputs:
//
//   weight         I8  (N, K)  CB = round(W * 127 / SCB[n]): TenPak's code minus 128
//   SCB            F32 (N)     per-row absmax
//   weight_format  U8  ()      0 = "row", the only format loaders accept
//
// weight_format is a 0-d tensor (bitsandbytes saves torch.tensor(0, dtype=torch.uint8)), which
// safetensors writes with "shape": [] and one byte of data; PackedTensor::shape is empty for it.
// The int8 codes are shifted by 128 so that TenPak's unsigned codes (0..255, zero point 128) and
// bitsandbytes' signed ones (-128..127) map one to one.
#include <string>

#include "layouts_internal.h"

namespace tenpak::quantformat::internal {

namespace {

constexpr int kInt8Bits = 8;
constexpr int kCodeOffset = 128;   // TenPak code = CB + 128
constexpr uint8_t kRowFormat = 0;  // bitsandbytes' LINEAR_8BIT_WEIGHTS_FORMAT_MAPPING["row"]

const char kWeight[] = "weight";
const char kScb[] = "SCB";
const char kWeightFormat[] = "weight_format";

Status Bnb8CanHold(Layout layout, int64_t, int64_t cols, int bits, int64_t group_size, Scheme scheme) {
    if (scheme != Scheme::kInt8Absmax) {
        return CannotHold(layout,
                          "bitsandbytes 8-bit stores int8-absmax codes, not " + std::string(SchemeName(scheme)));
    }
    if (bits != kInt8Bits) {
        return CannotHold(layout, "bitsandbytes 8-bit stores 8-bit codes only, not " + std::to_string(bits) + "-bit");
    }
    if (group_size != -1 && group_size != cols) {
        return CannotHold(layout, "bitsandbytes 8-bit has no group size (" + std::to_string(group_size) +
                                      " asked): it keeps one scale per output row; use per-channel (-1)");
    }
    return Status::Ok();
}

Result<std::vector<PackedTensor>> Bnb8Pack(Layout, const QuantizedTensor& q, std::string_view) {
    PackedTensor weight = NewTensor(kWeight, DType::kI8, {q.rows, q.cols});
    // Through uint8_t pointers, so that the loop vectorises (std::byte's operators do not).
    const uint8_t* codes = q.codes.data();
    uint8_t* stored = reinterpret_cast<uint8_t*>(weight.bytes.data());
    const size_t count = q.codes.size();
    for (size_t i = 0; i < count; ++i) stored[i] = static_cast<uint8_t>(codes[i] - kCodeOffset);
    PackedTensor scb = NewTensor(kScb, DType::kF32, {q.rows});
    for (size_t row_idx = 0; row_idx < q.scales.size(); ++row_idx) StoreF32(scb.bytes, row_idx, q.scales[row_idx]);
    PackedTensor format = NewTensor(kWeightFormat, DType::kU8, {});
    format.bytes[0] = std::byte{kRowFormat};

    std::vector<PackedTensor> out;
    out.push_back(std::move(weight));
    out.push_back(std::move(scb));
    out.push_back(std::move(format));
    return out;
}

Result<QuantizedTensor> Bnb8Unpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams&,
                                   const TensorLookup& lookup) {
    TP_ASSIGN_OR_RETURN(StoredTensor weight, FetchTensor(lookup, layout, kWeight, DType::kI8, {rows, cols}, "(N, K)"));
    TP_ASSIGN_OR_RETURN(StoredTensor scb, FetchTensor(lookup, layout, kScb, DType::kF32, {rows}, "(N)"));
    TP_ASSIGN_OR_RETURN(StoredTensor format,
                        FetchTensor(lookup, layout, kWeightFormat, DType::kU8, {}, "(a 0-d scalar)"));
    const unsigned format_value = std::to_integer<unsigned>(format.bytes[0]);
    if (format_value != kRowFormat) {
        return Status::Unsupported(std::string(LayoutName(layout)) + " tensor '" + kWeightFormat + "': format " +
                                   std::to_string(format_value) +
                                   ", expected 0 (\"row\"); tiled GPU formats are not supported");
    }

    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = kInt8Bits;
    q.scheme = Scheme::kInt8Absmax;
    q.symmetric = true;
    q.group_size = cols;
    q.codes.resize(weight.bytes.size());
    for (size_t i = 0; i < q.codes.size(); ++i) {
        q.codes[i] = static_cast<uint8_t>(std::to_integer<uint8_t>(weight.bytes[i]) + kCodeOffset);
    }
    q.scales.resize(static_cast<size_t>(rows));
    for (size_t row_idx = 0; row_idx < q.scales.size(); ++row_idx) q.scales[row_idx] = LoadF32(scb.bytes, row_idx);
    return q;
}

std::vector<std::string> Bnb8Suffixes(Layout) {
    return {kWeight, kScb, kWeightFormat};
}

}  // namespace

const LayoutOps& Bnb8LayoutOps() {
    static const LayoutOps ops = {Bnb8CanHold, Bnb8Pack, Bnb8Unpack, Bnb8Suffixes};
    return ops;
}

}  // namespace tenpak::quantformat::internal
