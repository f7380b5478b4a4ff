// Fuzz target for the quantized-layer layouts (tenpak/quantformat/layouts.h), whose Unpack reads
// tensors from outside files. Random bytes rarely look like a GPTQ layer, so the input instead
// describes one: a valid QuantizedTensor is built from it and packed, the packed tensors are then
// damaged by a list of mutations from the input, and Unpack must either fail cleanly or return a
// tensor that passes Validate(). With no mutation the layer must come back exactly (a round-trip
// oracle). Input layout:
//   byte 0  layout (mod 10)         byte 1  shape and bit-width choice
//   byte 2  flags: 1 double quant, 2 act-order, 4 wrong params, 8 second group size
//   byte 3  number of mutations (mod 8), then 4 bytes per mutation: tensor, kind, a, b
//   rest    the values (codes, scales, zeros ...), read cyclically; also the bytes of kind 6
//   build-fuzz/fuzz/quant_layout_fuzz -max_total_time=60 fuzz/corpus/quant_layout
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/half.h"
#include "tenpak/quantformat/layouts.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace {

using tenpak::quantformat::DoubleQuant;
using tenpak::quantformat::Layout;
using tenpak::quantformat::LayoutParams;
using tenpak::quantformat::PackedTensor;
using tenpak::quantformat::QuantizedTensor;
using tenpak::quantformat::Scheme;

constexpr size_t kHeaderBytes = 4;
constexpr size_t kMutationBytes = 4;
constexpr int kMaxMutations = 8;

// Reads the value bytes cyclically; zeros when there are none.
class ValueStream {
public:
    explicit ValueStream(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    uint8_t Next() { return bytes_.empty() ? 0 : bytes_[at_++ % bytes_.size()]; }
    // A finite F16 value (exponent below 31), so that every store and load keeps its bits.
    float NextF16() {
        const uint16_t bits = static_cast<uint16_t>((Next() << 8 | Next()) & 0xFBFF);
        return tenpak::F16ToF32Ref(bits);
    }

private:
    std::span<const uint8_t> bytes_;
    size_t at_ = 0;
};

struct Choice {
    int64_t rows;
    int64_t cols;
    int bits;
    int64_t group;
};

Choice Choose(Layout layout, uint8_t shape, bool second_group) {
    const int64_t affine_rows[4] = {32, 64, 32, 64};
    const int64_t affine_cols[4] = {32, 64, 128, 96};
    const int gptq_bits[4] = {2, 3, 4, 8};
    Choice c{affine_rows[shape % 4], affine_cols[(shape / 4) % 4], 4, 32};
    switch (layout) {
        case Layout::kGptq:
        case Layout::kGptqV2:
            c.bits = gptq_bits[(shape / 16) % 4];
            c.group = second_group ? c.cols : 32;
            break;
        case Layout::kAwqGemm:
            c.group = second_group ? c.cols : 32;
            break;
        case Layout::kBnb4:
            c.rows = 1 + shape % 16;
            c.cols = 1 + (shape / 16) * 5;
            c.group = second_group ? 32 : 64;
            break;
        case Layout::kBnb8:
            c.rows = 1 + shape % 16;
            c.cols = 1 + (shape / 16) * 5;
            c.bits = 8;
            c.group = c.cols;
            break;
        case Layout::kGgufQ8_0:
            c.bits = 8;
            break;
        case Layout::kGgufQ4_0:
        case Layout::kGgufQ4_1:
            break;
        case Layout::kGgufQ4_K:
        case Layout::kGgufQ6_K:
            c.rows = 1 + shape % 4;
            c.cols = 256 * (1 + (shape / 4) % 2);
            c.bits = layout == Layout::kGgufQ4_K ? 4 : 8;
            c.group = layout == Layout::kGgufQ4_K ? 32 : 16;
            break;
    }
    return c;
}

// A k-quant layer: super-block factors and scale codes from the input, scales and minimums the
// products a loader computes (what Pack requires), 6-bit codes for Q6_K.
QuantizedTensor BuildKQuant(Layout layout, const Choice& c, ValueStream& values) {
    const bool q4k = layout == Layout::kGgufQ4_K;
    QuantizedTensor q;
    q.rows = c.rows;
    q.cols = c.cols;
    q.bits = c.bits;
    q.group_size = c.group;
    q.scheme = q4k ? Scheme::kAffineMin : Scheme::kAffine;
    q.symmetric = !q4k;
    q.codes.resize(static_cast<size_t>(q.rows * q.cols));
    for (uint8_t& code : q.codes) code = static_cast<uint8_t>(values.Next() & (q4k ? 15 : 63));
    const size_t groups = static_cast<size_t>(q.rows * q.groups());
    const size_t per = static_cast<size_t>(256 / c.group);
    tenpak::quantformat::SuperBlocks sb;
    sb.groups_per_super_block = static_cast<int64_t>(per);
    sb.d.resize(groups / per);
    for (float& d : sb.d) d = values.NextF16();
    sb.scale_codes.resize(groups);
    for (int8_t& code : sb.scale_codes) code = static_cast<int8_t>(q4k ? values.Next() & 63 : values.Next());
    if (q4k) {
        sb.dmin.resize(groups / per);
        for (float& d : sb.dmin) d = values.NextF16();
        sb.min_codes.resize(groups);
        for (uint8_t& code : sb.min_codes) code = values.Next() & 63;
    }
    for (size_t g = 0; g < groups; ++g) {
        q.scales.push_back(sb.d[g / per] * sb.scale_codes[g]);
        q.zeros.push_back(q4k ? -(sb.dmin[g / per] * sb.min_codes[g]) : 32.0f);
    }
    q.super_blocks = std::move(sb);
    return q;
}

QuantizedTensor Build(Layout layout, const Choice& c, bool double_quant, bool act_order, ValueStream& values) {
    QuantizedTensor q;
    q.rows = c.rows;
    q.cols = c.cols;
    q.bits = c.bits;
    q.group_size = c.group;
    q.symmetric = true;
    if (layout == Layout::kGgufQ4_K || layout == Layout::kGgufQ6_K) return BuildKQuant(layout, c, values);
    q.scheme = layout == Layout::kGgufQ4_1 ? Scheme::kAffineMin
               : layout == Layout::kBnb8   ? Scheme::kInt8Absmax
               : layout == Layout::kBnb4   ? ((values.Next() & 1) ? Scheme::kNf4 : Scheme::kFp4)
                                           : Scheme::kAffine;
    q.codes.resize(static_cast<size_t>(q.rows * q.cols));
    for (uint8_t& code : q.codes) code = static_cast<uint8_t>(values.Next() & ((1u << q.bits) - 1));
    const bool table = q.scheme == Scheme::kNf4 || q.scheme == Scheme::kFp4;
    q.scales.resize(static_cast<size_t>(table ? q.groups() : q.rows * q.groups()));
    for (float& scale : q.scales) scale = values.NextF16();
    if (q.scheme == Scheme::kAffine) {
        q.zeros.resize(q.scales.size());
        const int lowest = layout == Layout::kGptq ? 1 : 0;  // v1 cannot store a zero point of 0
        for (float& zero : q.zeros) {
            zero = layout == Layout::kGgufQ8_0   ? 128.0f
                   : layout == Layout::kGgufQ4_0 ? 8.0f
                                                 : static_cast<float>(lowest + values.Next() % (1 << q.bits));
        }
    } else if (q.scheme == Scheme::kAffineMin) {
        q.zeros.resize(q.scales.size());
        for (float& minimum : q.zeros) minimum = values.NextF16();
    }
    if (act_order && (layout == Layout::kGptq || layout == Layout::kGptqV2)) {
        const int64_t groups = q.groups();
        bool trivial = true;
        q.g_idx.resize(static_cast<size_t>(q.cols));
        for (int64_t col = 0; col < q.cols; ++col) {
            q.g_idx[static_cast<size_t>(col)] = static_cast<int32_t>(values.Next() % groups);
            trivial = trivial && q.g_idx[static_cast<size_t>(col)] == col / q.group_size;
        }
        if (trivial) q.g_idx.clear();  // Unpack drops a trivial g_idx; keep the oracle exact
    }
    if (double_quant && table) {
        DoubleQuant dq;
        dq.codes.resize(q.scales.size());
        for (uint8_t& code : dq.codes) code = values.Next();
        dq.nested_absmax.resize((dq.codes.size() + 255) / 256);
        for (float& absmax : dq.nested_absmax) absmax = values.NextF16();
        dq.offset = values.NextF16();
        for (size_t block = 0; block < q.scales.size(); ++block) {
            const float product = tenpak::quantformat::DynamicMap8()[dq.codes[block]] * dq.nested_absmax[block / 256];
            q.scales[block] = product + dq.offset;
        }
        q.double_quant = std::move(dq);
    }
    return q;
}

void Mutate(std::vector<PackedTensor>& tensors, std::span<const uint8_t> mutation, std::span<const uint8_t> tail) {
    if (tensors.empty()) return;
    const size_t index = mutation[0] % tensors.size();
    PackedTensor& tensor = tensors[index];
    const uint8_t a = mutation[2];
    const uint8_t b = mutation[3];
    switch (mutation[1] % 8) {
        case 0:
            tensors.erase(tensors.begin() + static_cast<std::ptrdiff_t>(index));
            break;
        case 1:
            tensor.dtype = static_cast<tenpak::DType>(a);
            break;
        case 2:
            if (tensor.shape.empty() || (b & 0x80)) {
                tensor.shape.push_back(static_cast<int64_t>(a) - 2);
            } else {
                tensor.shape[b % tensor.shape.size()] = static_cast<int64_t>(a) - 2;
            }
            break;
        case 3:
            if (!tensor.bytes.empty()) tensor.bytes[(size_t{a} << 8 | b) % tensor.bytes.size()] ^= std::byte{0xFF};
            break;
        case 4:
            tensor.bytes.resize((size_t{a} << 8 | b) % (tensor.bytes.size() + 1));
            break;
        case 5:
            tensor.bytes.push_back(std::byte{a});
            break;
        case 6:
            // Arbitrary bytes, with a matching 1-D shape: how the JSON state gets fuzzed.
            tensor.bytes.assign(reinterpret_cast<const std::byte*>(tail.data()),
                                reinterpret_cast<const std::byte*>(tail.data() + tail.size()));
            tensor.shape = {static_cast<int64_t>(tail.size())};
            break;
        case 7:
            if (!tensor.bytes.empty()) tensor.bytes[b % tensor.bytes.size()] = std::byte{a};
            break;
    }
}

bool SameBits(const std::vector<float>& x, const std::vector<float>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
        if (std::bit_cast<uint32_t>(x[i]) != std::bit_cast<uint32_t>(y[i])) return false;
    }
    return true;
}

bool Same(const QuantizedTensor& x, const QuantizedTensor& y) {
    if (x.rows != y.rows || x.cols != y.cols || x.bits != y.bits || x.scheme != y.scheme ||
        x.group_size != y.group_size || x.codes != y.codes || !SameBits(x.scales, y.scales) ||
        !SameBits(x.zeros, y.zeros) || x.g_idx != y.g_idx || x.double_quant.has_value() != y.double_quant.has_value()) {
        return false;
    }
    if (x.super_blocks.has_value() != y.super_blocks.has_value()) return false;
    if (x.super_blocks) {
        const tenpak::quantformat::SuperBlocks& a = *x.super_blocks;
        const tenpak::quantformat::SuperBlocks& b = *y.super_blocks;
        if (a.groups_per_super_block != b.groups_per_super_block || !SameBits(a.d, b.d) || !SameBits(a.dmin, b.dmin) ||
            a.scale_codes != b.scale_codes || a.min_codes != b.min_codes) {
            return false;
        }
    }
    if (!x.double_quant) return true;
    return x.double_quant->codes == y.double_quant->codes &&
           SameBits(x.double_quant->nested_absmax, y.double_quant->nested_absmax) &&
           std::bit_cast<uint32_t>(x.double_quant->offset) == std::bit_cast<uint32_t>(y.double_quant->offset) &&
           x.double_quant->nested_block == y.double_quant->nested_block;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < kHeaderBytes) return 0;
    const Layout layout = static_cast<Layout>(data[0] % 10);
    const uint8_t flags = data[2];
    const int mutations = data[3] % kMaxMutations;
    const size_t values_at = kHeaderBytes + static_cast<size_t>(mutations) * kMutationBytes;
    if (size < values_at) return 0;
    const std::span<const uint8_t> tail(data + values_at, size - values_at);

    const Choice choice = Choose(layout, data[1], (flags & 8) != 0);
    ValueStream values(tail);
    const QuantizedTensor q = Build(layout, choice, (flags & 1) != 0, (flags & 2) != 0, values);
    tenpak::Result<std::vector<PackedTensor>> packed = tenpak::quantformat::Pack(layout, q, "float16");
    if (!packed.ok()) __builtin_trap();  // Build makes only tensors the layout can hold

    std::vector<PackedTensor> tensors = std::move(packed).value();
    for (int m = 0; m < mutations; ++m) {
        Mutate(tensors,
               std::span<const uint8_t>(data + kHeaderBytes + static_cast<size_t>(m) * kMutationBytes, kMutationBytes),
               tail);
    }
    LayoutParams params;
    params.bits = q.bits;
    params.group_size = q.group_size;
    if (flags & 4) {
        const int other_bits[4] = {2, 3, 4, 8};
        params.bits = other_bits[(flags >> 4) % 4];
        params.group_size = (flags & 0x40) ? -1 : int64_t{16} << ((flags >> 5) % 4);
    }
    const tenpak::quantformat::TensorLookup lookup =
        [&tensors](std::string_view suffix) -> tenpak::Result<tenpak::quantformat::StoredTensor> {
        for (const PackedTensor& tensor : tensors) {
            if (tensor.suffix == suffix) {
                return tenpak::quantformat::StoredTensor{tensor.dtype, tensor.shape, tensor.bytes};
            }
        }
        return tenpak::Status::NotFound("no tensor " + std::string(suffix));
    };
    const tenpak::Result<QuantizedTensor> unpacked =
        tenpak::quantformat::Unpack(layout, q.rows, q.cols, params, lookup);
    if (mutations == 0 && (flags & 4) == 0) {
        // Untouched tensors with the right parameters must come back exactly.
        if (!unpacked.ok() || !Same(q, *unpacked)) __builtin_trap();
    }
    if (!unpacked.ok()) return 0;
    if (!tenpak::quantformat::Validate(*unpacked).ok()) __builtin_trap();  // Unpack promises this
    std::vector<float> out(unpacked->codes.size());
    tenpak::quantformat::Dequantize(*unpacked, out);
    return 0;
}
