// AutoAWQ's GEMM layout (shared/formats.md C.1), for one linear layer of N outputs and K inputs with
// group size G:
//
//   qweight  I32 (K, N / 8)      W^T's 4-bit codes, packed along each row (the output dim)
//   qzeros   I32 (K / G, N / 8)  zero points, packed the same way, stored as they are
//   scales   F16 (K / G, N)
//
// Both packed tensors interleave each run of 8 output columns: nibble slot s (bits 4s..4s+3) holds
// column AWQ_ORDER[s] = [0, 2, 4, 6, 1, 3, 5, 7][s] of the run (AutoAWQ's packing_utils.py). The
// nibbles themselves follow the same bit string as GPTQ (bit_packing_internal.h). No g_idx.
#include <array>
#include <string>

#include "bit_packing_internal.h"
#include "layouts_internal.h"

namespace tenpak::quantformat::internal {

namespace {

constexpr int kAwqBits = 4;
constexpr int64_t kRun = 8;  // output columns in one int32 word
constexpr std::array<int, kRun> kAwqOrder = {0, 2, 4, 6, 1, 3, 5, 7};

const char kQweight[] = "qweight";
const char kQzeros[] = "qzeros";
const char kScales[] = "scales";

Status AwqCanHold(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, Scheme scheme) {
    if (scheme != Scheme::kAffine) {
        return CannotHold(layout,
                          "AWQ stores affine codes (scale and zero point), not " + std::string(SchemeName(scheme)));
    }
    if (bits != kAwqBits) {
        return CannotHold(layout, "AWQ stores 4-bit codes only, not " + std::to_string(bits) + "-bit; use --bits 4");
    }
    if (rows % kRun != 0) {
        return CannotHold(layout, "AWQ needs the output size " + std::to_string(rows) + " to be a multiple of 8");
    }
    const int64_t group = ResolveGroupSize(group_size, cols);
    if (group <= 0 || cols % group != 0) {
        return CannotHold(layout, "AWQ group size " + std::to_string(group_size) +
                                      " must be -1 (per channel) or divide the input size " + std::to_string(cols));
    }
    return Status::Ok();
}

Result<std::vector<PackedTensor>> AwqPack(Layout layout, const QuantizedTensor& q, std::string_view) {
    if (!q.g_idx.empty()) {
        return CannotHold(layout, "AWQ has no g_idx, so act-order groups cannot be stored; use GPTQ");
    }
    const int64_t n = q.rows;
    const int64_t k = q.cols;
    const int64_t groups = q.groups();
    TP_ASSIGN_OR_RETURN(std::vector<uint8_t> zero_fields, GroupMajorZeroFields(layout, q, /*bias=*/0, ""));
    const std::vector<uint8_t> transposed = Transpose<uint8_t>(q.codes, n, k);  // W^T: K rows of N codes
    const std::vector<uint32_t> qweight = PackRows(transposed, k, n, kAwqBits, kAwqOrder);
    const std::vector<uint32_t> qzeros = PackRows(zero_fields, groups, n, kAwqBits, kAwqOrder);

    std::vector<PackedTensor> out;
    out.push_back(WordsTensor(kQweight, {k, n / kRun}, qweight));
    out.push_back(WordsTensor(kQzeros, {groups, n / kRun}, qzeros));
    out.push_back(GroupMajorF16(kScales, q));
    return out;
}

Result<QuantizedTensor> AwqUnpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams& params,
                                  const TensorLookup& lookup) {
    TP_RETURN_IF_ERROR(AwqCanHold(layout, rows, cols, params.bits, params.group_size, Scheme::kAffine));
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = kAwqBits;
    q.scheme = Scheme::kAffine;
    q.symmetric = params.symmetric;
    q.group_size = ResolveGroupSize(params.group_size, cols);
    const int64_t groups = q.groups();

    TP_ASSIGN_OR_RETURN(StoredTensor qweight,
                        FetchTensor(lookup, layout, kQweight, DType::kI32, {cols, rows / kRun}, "(K, N / 8)"));
    TP_ASSIGN_OR_RETURN(StoredTensor qzeros, FetchTensor(lookup, layout, kQzeros, DType::kI32, {groups, rows / kRun},
                                                         "(K / group_size, N / 8)"));
    TP_ASSIGN_OR_RETURN(StoredTensor scales,
                        FetchTensor(lookup, layout, kScales, DType::kF16, {groups, rows}, "(K / group_size, N)"));

    const std::vector<uint8_t> transposed = UnpackRows(LoadWords(qweight.bytes), cols, rows, kAwqBits, kAwqOrder);
    q.codes = Transpose<uint8_t>(transposed, cols, rows);
    SetZerosFromFields(UnpackRows(LoadWords(qzeros.bytes), groups, rows, kAwqBits, kAwqOrder), /*bias=*/0, q);
    ReadGroupMajorF16(scales.bytes, q);
    return q;
}

std::vector<std::string> AwqSuffixes(Layout) {
    return {kQweight, kQzeros, kScales};
}

}  // namespace

const LayoutOps& AwqLayoutOps() {
    static const LayoutOps ops = {AwqCanHold, AwqPack, AwqUnpack, AwqSuffixes};
    return ops;
}

}  // namespace tenpak::quantformat::internal
