// GPTQ checkpoints as AutoGPTQ and GPTQModel write them (shared/formats.md B.1-B.5), for one linear
// layer of N outputs and K inputs with group size G:
//
//   qweight  I32 (K * bits / 32, N)     W^T's codes, packed down each column (along the input dim)
//   qzeros   I32 (K / G, N * bits / 32) zero points, packed along each row (the output dim)
//   scales   F16 (K / G, N)
//   g_idx    I32 (K)                    group of every input channel: k / G, or act-order's groups
//
// Packing is the shared little-endian bit string of bit_packing_internal.h, so the 3-bit layout
// (32 codes in 3 words, fields 10 and 21 split across words) needs no code of its own. v1 ("gptq")
// stores every zero point minus one and loaders add the one back; v2 ("gptq_v2") stores it as is.
#include <string>

#include "bit_packing_internal.h"
#include "layouts_internal.h"

namespace tenpak::quantformat::internal {

namespace {

constexpr int64_t kInputMultiple = 32;  // 32 input rows fill a whole number of words for every width

const char kQweight[] = "qweight";
const char kQzeros[] = "qzeros";
const char kScales[] = "scales";
const char kGIdx[] = "g_idx";

// v1 stores zero - 1 (AutoGPTQ's pack does `zeros -= 1`); v2 the zero itself.
int ZeroBias(Layout layout) {
    return layout == Layout::kGptq ? 1 : 0;
}

// Output channels that fill a whole number of qzeros words: 32 / bits, or 32 for 3 bits.
int64_t OutputMultiple(int bits) {
    return kInputMultiple % bits == 0 ? kInputMultiple / bits : kInputMultiple;
}

Status GptqCanHold(Layout layout, int64_t rows, int64_t cols, int bits, int64_t group_size, Scheme scheme) {
    if (scheme != Scheme::kAffine) {
        return CannotHold(layout,
                          "GPTQ stores affine codes (scale and zero point), not " + std::string(SchemeName(scheme)));
    }
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
        return CannotHold(layout, "GPTQ stores 2, 3, 4 or 8-bit codes, not " + std::to_string(bits) + "-bit");
    }
    if (cols % kInputMultiple != 0) {
        return CannotHold(layout, "GPTQ needs the input size " + std::to_string(cols) + " to be a multiple of " +
                                      std::to_string(kInputMultiple));
    }
    if (rows % OutputMultiple(bits) != 0) {
        return CannotHold(layout, "GPTQ " + std::to_string(bits) + "-bit needs the output size " +
                                      std::to_string(rows) + " to be a multiple of " +
                                      std::to_string(OutputMultiple(bits)) + " (whole qzeros words)");
    }
    const int64_t group = ResolveGroupSize(group_size, cols);
    if (group <= 0 || cols % group != 0) {
        return CannotHold(layout, "GPTQ group size " + std::to_string(group_size) +
                                      " must be -1 (per channel) or divide the input size " + std::to_string(cols));
    }
    return Status::Ok();
}

Result<std::vector<PackedTensor>> GptqPack(Layout layout, const QuantizedTensor& q, std::string_view) {
    const int64_t n = q.rows;
    const int64_t k = q.cols;
    const int64_t groups = q.groups();
    const int bias = ZeroBias(layout);
    TP_ASSIGN_OR_RETURN(
        std::vector<uint8_t> zero_fields,
        GroupMajorZeroFields(layout, q, bias,
                             bias == 1 ? "GPTQ v1 stores zero - 1, so a zero point of 0 cannot be written; the "
                                         "GPTQ quantizer clamps zero points to >= 1 for this layout (or write gptq_v2)"
                                       : ""));

    // Row n of TenPak's codes is column n of W^T: its K codes become K * bits / 32 words of that
    // column, so pack the rows and transpose the words.
    const int64_t column_words = k * q.bits / 32;
    PackedTensor qweight_tensor;
    if (32 % q.bits == 0) {
        // 2, 4, 8 bits: packed and transposed in one pass, straight into the tensor's bytes.
        qweight_tensor = NewTensor(kQweight, DType::kI32, {column_words, n});
        PackRowsTransposedLE(q.codes, n, k, q.bits, qweight_tensor.bytes);
    } else {
        const std::vector<uint32_t> by_output = PackRows(q.codes, n, k, q.bits);
        qweight_tensor = WordsTensor(kQweight, {column_words, n}, Transpose<uint32_t>(by_output, n, column_words));
    }
    const std::vector<uint32_t> qzeros = PackRows(zero_fields, groups, n, q.bits);

    std::vector<uint32_t> g_idx(static_cast<size_t>(k));
    for (int64_t col_idx = 0; col_idx < k; ++col_idx) {
        g_idx[static_cast<size_t>(col_idx)] = q.g_idx.empty()
                                                  ? static_cast<uint32_t>(col_idx / q.group_size)
                                                  : static_cast<uint32_t>(q.g_idx[static_cast<size_t>(col_idx)]);
    }

    std::vector<PackedTensor> out;
    out.push_back(std::move(qweight_tensor));
    out.push_back(WordsTensor(kQzeros, {groups, n * q.bits / 32}, qzeros));
    out.push_back(GroupMajorF16(kScales, q));
    out.push_back(WordsTensor(kGIdx, {k}, g_idx));
    return out;
}

// Reads g_idx into q when it is present and not the trivial k / G.
Status ReadGIdx(Layout layout, const TensorLookup& lookup, QuantizedTensor& q) {
    Result<StoredTensor> found = lookup(kGIdx);
    // Writers that never use act-order (exllama-style exports) leave g_idx out; that means k / G.
    if (!found.ok() && found.status().code() == StatusCode::kNotFound) return Status::Ok();
    TP_ASSIGN_OR_RETURN(StoredTensor stored,
                        CheckTensor(std::move(found), layout, kGIdx, DType::kI32, {q.cols}, "(K)"));
    const int64_t groups = q.groups();
    bool trivial = true;
    std::vector<int32_t> g_idx(static_cast<size_t>(q.cols));
    for (int64_t col_idx = 0; col_idx < q.cols; ++col_idx) {
        const int32_t group = static_cast<int32_t>(LoadU32(stored.bytes, static_cast<size_t>(col_idx)));
        if (group < 0 || group >= groups) {
            return BadTensor(layout, kGIdx,
                             "entry " + std::to_string(col_idx) + " is " + std::to_string(group) +
                                 ", expected a group in 0.." + std::to_string(groups - 1));
        }
        trivial = trivial && group == col_idx / q.group_size;
        g_idx[static_cast<size_t>(col_idx)] = group;
    }
    if (!trivial) q.g_idx = std::move(g_idx);
    return Status::Ok();
}

Result<QuantizedTensor> GptqUnpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams& params,
                                   const TensorLookup& lookup) {
    TP_RETURN_IF_ERROR(GptqCanHold(layout, rows, cols, params.bits, params.group_size, Scheme::kAffine));
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = params.bits;
    q.scheme = Scheme::kAffine;
    q.symmetric = params.symmetric;
    q.group_size = ResolveGroupSize(params.group_size, cols);
    const int64_t groups = q.groups();
    const int64_t column_words = cols * q.bits / 32;
    const int64_t zero_words = rows * q.bits / 32;

    // Fetch and check everything before allocating anything of the tensor's size.
    TP_ASSIGN_OR_RETURN(StoredTensor qweight,
                        FetchTensor(lookup, layout, kQweight, DType::kI32, {column_words, rows}, "(K * bits / 32, N)"));
    TP_ASSIGN_OR_RETURN(StoredTensor qzeros, FetchTensor(lookup, layout, kQzeros, DType::kI32, {groups, zero_words},
                                                         "(K / group_size, N * bits / 32)"));
    TP_ASSIGN_OR_RETURN(StoredTensor scales,
                        FetchTensor(lookup, layout, kScales, DType::kF16, {groups, rows}, "(K / group_size, N)"));
    TP_RETURN_IF_ERROR(ReadGIdx(layout, lookup, q));

    const std::vector<uint32_t> by_output = Transpose<uint32_t>(LoadWords(qweight.bytes), column_words, rows);
    q.codes = UnpackRows(by_output, rows, cols, q.bits);
    SetZerosFromFields(UnpackRows(LoadWords(qzeros.bytes), groups, rows, q.bits), ZeroBias(layout), q);
    ReadGroupMajorF16(scales.bytes, q);
    return q;
}

std::vector<std::string> GptqSuffixes(Layout) {
    return {kQweight, kQzeros, kScales, kGIdx};
}

}  // namespace

const LayoutOps& GptqLayoutOps() {
    static const LayoutOps ops = {GptqCanHold, GptqPack, GptqUnpack, GptqSuffixes};
    return ops;
}

}  // namespace tenpak::quantformat::internal
