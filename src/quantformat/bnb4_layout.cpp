// bitsandbytes' 4-bit layout, Linear4bit's state dict (shared/formats.md D.1), for one linear layer
// of N outputs and K inputs, blocks of B consecutive elements of the row-major weight:
//
//   weight                     U8  (ceil(N * K / 2), 1)  element 2i in the HIGH nibble of byte i,
//                                                        element 2i + 1 in the low one
//   weight.absmax              F32 (nblocks)             per-block absmax; U8 codes with double quant
//   weight.quant_map           F32 (16)                  Nf4Table() or Fp4Table()
//   weight.nested_absmax       F32 (ceil(nblocks / 256)) double quant only
//   weight.nested_quant_map    F32 (256)                 double quant only: DynamicMap8()
//   weight.quant_state.bitsandbytes__nf4 (or __fp4)  U8 (length)  JSON, bnb_quant_state_internal.h
//
// nblocks = ceil(N * K / B). The tensors are written in QuantState.as_dict's order. bitsandbytes'
// CUDA kernels use built-in tables rather than quant_map, so a stored map that differs from the
// table would be read differently by different loaders: Unpack refuses one.
#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <string>

#include "bnb_quant_state_internal.h"
#include "layouts_internal.h"

namespace tenpak::quantformat::internal {

namespace {

constexpr int kNibbleBits = 4;
constexpr int64_t kNestedBlock = 256;         // bitsandbytes' quantize_4bit: blocksize=256 for absmax
constexpr int64_t kMaxStateBytes = 64 << 10;  // a real state is ~200 bytes; bounds what we parse
// The stored code tables are float32 copies of the same decimals; a writer computing them in
// another precision may differ in the last bits, which no loader notices.
constexpr float kQuantMapTolerance = 1e-6f;
constexpr float kNestedMapRelTolerance = 1e-5f;
constexpr float kDoubleQuantRelTolerance = 1e-6f;

const char kWeight[] = "weight";
const char kAbsmax[] = "weight.absmax";
const char kQuantMap[] = "weight.quant_map";
const char kNestedAbsmax[] = "weight.nested_absmax";
const char kNestedQuantMap[] = "weight.nested_quant_map";
const char kStateNf4[] = "weight.quant_state.bitsandbytes__nf4";
const char kStateFp4[] = "weight.quant_state.bitsandbytes__fp4";

bool IsBlocksize(int64_t size) {
    return size >= 32 && size <= 4096 && (size & (size - 1)) == 0;
}

bool IsWeightDTypeName(std::string_view name) {
    return name == "float16" || name == "bfloat16" || name == "float32";
}

const std::array<float, 16>& TableOf(Scheme scheme) {
    return scheme == Scheme::kNf4 ? Nf4Table() : Fp4Table();
}

int64_t CeilDiv(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

// The absmax a loader rebuilds from double quant: two roundings, as bitsandbytes computes it
// (dequantize_blockwise, then `absmax += offset`). Separate statements keep a compiler from fusing
// them into one FMA.
float NestedAbsmax(const DoubleQuant& dq, size_t block) {
    const float product =
        DynamicMap8()[dq.codes[block]] * dq.nested_absmax[block / static_cast<size_t>(dq.nested_block)];
    const float absmax = product + dq.offset;
    return absmax;
}

Status Bnb4CanHold(Layout layout, int64_t, int64_t, int bits, int64_t group_size, Scheme scheme) {
    if (scheme != Scheme::kNf4 && scheme != Scheme::kFp4) {
        return CannotHold(layout, "bitsandbytes 4-bit stores nf4 or fp4 codes, not " + std::string(SchemeName(scheme)));
    }
    if (bits != kNibbleBits) {
        return CannotHold(layout, "bitsandbytes 4-bit stores 4-bit codes only, not " + std::to_string(bits) + "-bit");
    }
    if (!IsBlocksize(group_size)) {
        return CannotHold(layout, "bitsandbytes has no group size; its block size (" + std::to_string(group_size) +
                                      " asked) counts consecutive elements of the flattened weight and must be "
                                      "32, 64, 128, 256, 512, 1024, 2048 or 4096 (64 is the default)");
    }
    return Status::Ok();
}

PackedTensor F32Tensor(std::string suffix, std::span<const float> values) {
    PackedTensor tensor = NewTensor(std::move(suffix), DType::kF32, {static_cast<int64_t>(values.size())});
    for (size_t i = 0; i < values.size(); ++i) StoreF32(tensor.bytes, i, values[i]);
    return tensor;
}

PackedTensor U8Tensor(std::string suffix, std::span<const uint8_t> values) {
    PackedTensor tensor = NewTensor(std::move(suffix), DType::kU8, {static_cast<int64_t>(values.size())});
    std::transform(values.begin(), values.end(), tensor.bytes.begin(), [](uint8_t v) { return std::byte{v}; });
    return tensor;
}

Status CheckDoubleQuant(Layout layout, const QuantizedTensor& q) {
    const DoubleQuant& dq = *q.double_quant;
    if (!std::isfinite(dq.offset))
        return CannotHold(layout, "double-quant offset " + FloatString(dq.offset) + " is not finite");
    for (size_t block = 0; block < q.scales.size(); ++block) {
        const float rebuilt = NestedAbsmax(dq, block);
        const float tolerance =
            kDoubleQuantRelTolerance * std::max({std::fabs(rebuilt), std::fabs(dq.offset), FLT_MIN});
        if (!(std::fabs(q.scales[block] - rebuilt) <= tolerance)) {
            return CannotHold(layout,
                              "absmax " + FloatString(q.scales[block]) + " of block " + std::to_string(block) +
                                  " is not its double quantization " + FloatString(rebuilt) +
                                  " (DynamicMap8()[code] * nested_absmax + offset), which is all the file keeps");
        }
    }
    return Status::Ok();
}

Result<std::vector<PackedTensor>> Bnb4Pack(Layout layout, const QuantizedTensor& q,
                                           std::string_view weight_dtype_name) {
    if (!IsWeightDTypeName(weight_dtype_name)) {
        return CannotHold(layout, "original weight dtype \"" + std::string(weight_dtype_name) +
                                      "\" is not float16, bfloat16 or float32");
    }
    if (q.double_quant) TP_RETURN_IF_ERROR(CheckDoubleQuant(layout, q));

    const size_t elements = q.codes.size();
    PackedTensor weight = NewTensor(kWeight, DType::kU8, {static_cast<int64_t>((elements + 1) / 2), 1});
    // Whole pairs through uint8_t pointers, so that the loop vectorises; an odd count pads with a
    // zero nibble.
    const uint8_t* codes = q.codes.data();
    uint8_t* packed = reinterpret_cast<uint8_t*>(weight.bytes.data());
    const size_t pairs = elements / 2;
    for (size_t i = 0; i < pairs; ++i) {
        packed[i] = static_cast<uint8_t>((codes[2 * i] << kNibbleBits) | codes[2 * i + 1]);
    }
    if (elements % 2 != 0) packed[pairs] = static_cast<uint8_t>(codes[elements - 1] << kNibbleBits);

    Bnb4QuantState state;
    state.quant_type = q.scheme == Scheme::kNf4 ? "nf4" : "fp4";
    state.blocksize = q.group_size;
    state.dtype = std::string(weight_dtype_name);
    state.rows = q.rows;
    state.cols = q.cols;
    std::vector<PackedTensor> out;
    out.push_back(std::move(weight));
    if (q.double_quant) {
        const DoubleQuant& dq = *q.double_quant;
        state.nested = true;
        state.nested_blocksize = dq.nested_block;
        state.nested_offset = dq.offset;
        out.push_back(U8Tensor(kAbsmax, dq.codes));
        out.push_back(F32Tensor(kQuantMap, TableOf(q.scheme)));
        out.push_back(F32Tensor(kNestedAbsmax, dq.nested_absmax));
        out.push_back(F32Tensor(kNestedQuantMap, DynamicMap8()));
    } else {
        out.push_back(F32Tensor(kAbsmax, q.scales));
        out.push_back(F32Tensor(kQuantMap, TableOf(q.scheme)));
    }
    const std::string json = FormatBnb4QuantState(state);
    const std::span<const uint8_t> json_bytes(reinterpret_cast<const uint8_t*>(json.data()), json.size());
    out.push_back(U8Tensor(q.scheme == Scheme::kNf4 ? kStateNf4 : kStateFp4, json_bytes));
    return out;
}

// Finds the one quant-state tensor (bitsandbytes refuses a layer with both or neither) and parses it.
Result<Bnb4QuantState> ReadQuantState(Layout layout, const TensorLookup& lookup) {
    Result<StoredTensor> nf4 = lookup(kStateNf4);
    Result<StoredTensor> fp4 = lookup(kStateFp4);
    // A lookup that fails for another reason than absence (an I/O error) is reported as it is.
    const auto missing = [](const Result<StoredTensor>& r) {
        return !r.ok() && r.status().code() == StatusCode::kNotFound;
    };
    const std::string layout_name(LayoutName(layout));
    if (!nf4.ok() && !missing(nf4)) return nf4.status().WithContext(layout_name + " tensor '" + kStateNf4 + "'");
    if (!fp4.ok() && !missing(fp4)) return fp4.status().WithContext(layout_name + " tensor '" + kStateFp4 + "'");
    if (nf4.ok() && fp4.ok()) {
        return BadTensor(layout, kStateNf4, "a layer has either an nf4 or an fp4 state, and this one has both");
    }
    if (!nf4.ok() && !fp4.ok()) {
        return Status::NotFound(std::string(LayoutName(layout)) + ": neither tensor '" + kStateNf4 + "' nor '" +
                                kStateFp4 + "' is present; a bitsandbytes 4-bit layer needs one");
    }
    const bool is_nf4 = nf4.ok();
    const char* suffix = is_nf4 ? kStateNf4 : kStateFp4;
    Result<StoredTensor>& found = is_nf4 ? nf4 : fp4;
    const std::vector<int64_t>& shape = found->shape;
    if (shape.size() != 1 || shape[0] <= 0 || shape[0] > kMaxStateBytes) {
        return BadTensor(layout, suffix,
                         "shape " + ShapeString(shape) + ", expected [length] with length 1.." +
                             std::to_string(kMaxStateBytes) + " (the UTF-8 bytes of a JSON object)");
    }
    const std::vector<int64_t> expected = shape;
    TP_ASSIGN_OR_RETURN(StoredTensor stored, CheckTensor(std::move(found), layout, suffix, DType::kU8, expected, ""));
    const std::string_view json(reinterpret_cast<const char*>(stored.bytes.data()), stored.bytes.size());
    Result<Bnb4QuantState> state = ParseBnb4QuantState(json);
    if (!state.ok()) return BadTensor(layout, suffix, state.status().message());
    const std::string expected_type = is_nf4 ? "nf4" : "fp4";
    if (state->quant_type != expected_type) {
        return BadTensor(layout, suffix, "quant_type \"" + state->quant_type + "\" disagrees with the tensor name");
    }
    return state;
}

// Checks that a stored code table is `table`, value by value.
Status CheckTable(Layout layout, const char* suffix, std::span<const std::byte> bytes, std::span<const float> table,
                  bool relative, float tolerance) {
    for (size_t i = 0; i < table.size(); ++i) {
        const float stored = LoadF32(bytes, i);
        const float allowed = relative ? tolerance * std::fabs(table[i]) : tolerance;
        if (!(std::fabs(stored - table[i]) <= allowed)) {
            return BadTensor(layout, suffix,
                             "entry " + std::to_string(i) + " is " + FloatString(stored) + ", expected " +
                                 FloatString(table[i]) + " (loaders use the built-in table)");
        }
    }
    return Status::Ok();
}

Result<QuantizedTensor> Bnb4Unpack(Layout layout, int64_t rows, int64_t cols, const LayoutParams&,
                                   const TensorLookup& lookup) {
    TP_ASSIGN_OR_RETURN(const Bnb4QuantState state, ReadQuantState(layout, lookup));
    const char* state_suffix = state.quant_type == "nf4" ? kStateNf4 : kStateFp4;
    if (state.rows != rows || state.cols != cols) {
        return BadTensor(layout, state_suffix,
                         "shape [" + std::to_string(state.rows) + ", " + std::to_string(state.cols) +
                             "], expected the layer's [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    }
    const Scheme scheme = state.quant_type == "nf4" ? Scheme::kNf4 : Scheme::kFp4;
    const int64_t elements = rows * cols;
    const int64_t blocks = CeilDiv(elements, state.blocksize);

    Result<StoredTensor> found_weight = lookup(kWeight);
    if (found_weight.ok() && found_weight->dtype != DType::kU8) {
        // bnb_4bit_quant_storage other than uint8 (FSDP setups) reinterprets the same bytes.
        return BadTensor(layout, kWeight,
                         "dtype " + DTypeLabel(found_weight->dtype) +
                             ", expected U8 (only bnb_4bit_quant_storage uint8 is supported)");
    }
    TP_ASSIGN_OR_RETURN(StoredTensor weight, CheckTensor(std::move(found_weight), layout, kWeight, DType::kU8,
                                                         {(elements + 1) / 2, 1}, "(ceil(N * K / 2), 1)"));
    TP_ASSIGN_OR_RETURN(StoredTensor quant_map, FetchTensor(lookup, layout, kQuantMap, DType::kF32, {16}, "(16)"));
    TP_RETURN_IF_ERROR(CheckTable(layout, kQuantMap, quant_map.bytes, TableOf(scheme), false, kQuantMapTolerance));

    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = kNibbleBits;
    q.scheme = scheme;
    q.symmetric = true;
    q.group_size = state.blocksize;
    if (state.nested) {
        const int64_t nested_blocks = CeilDiv(blocks, state.nested_blocksize);
        TP_ASSIGN_OR_RETURN(StoredTensor absmax, FetchTensor(lookup, layout, kAbsmax, DType::kU8, {blocks},
                                                             "(ceil(N * K / blocksize)), codes with double quant"));
        TP_ASSIGN_OR_RETURN(StoredTensor nested_absmax,
                            FetchTensor(lookup, layout, kNestedAbsmax, DType::kF32, {nested_blocks},
                                        "(ceil(blocks / nested_blocksize))"));
        TP_ASSIGN_OR_RETURN(StoredTensor nested_map,
                            FetchTensor(lookup, layout, kNestedQuantMap, DType::kF32, {256}, "(256)"));
        TP_RETURN_IF_ERROR(
            CheckTable(layout, kNestedQuantMap, nested_map.bytes, DynamicMap8(), true, kNestedMapRelTolerance));
        DoubleQuant dq;
        dq.nested_block = state.nested_blocksize;
        dq.offset = state.nested_offset;
        dq.codes.resize(static_cast<size_t>(blocks));
        for (size_t block = 0; block < dq.codes.size(); ++block)
            dq.codes[block] = std::to_integer<uint8_t>(absmax.bytes[block]);
        dq.nested_absmax.resize(static_cast<size_t>(nested_blocks));
        for (size_t i = 0; i < dq.nested_absmax.size(); ++i) dq.nested_absmax[i] = LoadF32(nested_absmax.bytes, i);
        q.scales.resize(static_cast<size_t>(blocks));
        for (size_t block = 0; block < q.scales.size(); ++block) q.scales[block] = NestedAbsmax(dq, block);
        q.double_quant = std::move(dq);
    } else {
        TP_ASSIGN_OR_RETURN(StoredTensor absmax,
                            FetchTensor(lookup, layout, kAbsmax, DType::kF32, {blocks}, "(ceil(N * K / blocksize))"));
        q.scales.resize(static_cast<size_t>(blocks));
        for (size_t block = 0; block < q.scales.size(); ++block) q.scales[block] = LoadF32(absmax.bytes, block);
    }

    q.codes.resize(static_cast<size_t>(elements));
    for (size_t i = 0; i < q.codes.size(); ++i) {
        const unsigned byte = std::to_integer<unsigned>(weight.bytes[i / 2]);
        q.codes[i] = static_cast<uint8_t>(i % 2 == 0 ? byte >> kNibbleBits : byte & 0x0Fu);
    }
    return q;
}

std::vector<std::string> Bnb4Suffixes(Layout) {
    return {kWeight, kAbsmax, kQuantMap, kNestedAbsmax, kNestedQuantMap, kStateNf4};
}

}  // namespace

const LayoutOps& Bnb4LayoutOps() {
    static const LayoutOps ops = {Bnb4CanHold, Bnb4Pack, Bnb4Unpack, Bnb4Suffixes};
    return ops;
}

}  // namespace tenpak::quantformat::internal
