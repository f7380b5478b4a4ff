// RunBlockwise: the group walk shared by every calibration-free method (see blockwise.h).
//
// Each pool thread takes a contiguous range of groups and, per group: finds its min and max in one
// pass (which also reveals NaN and Inf), asks the codec for the parameters, checks that they are
// storable, and encodes the group's codes in place, a second pass over data now in L1. Errors are
// recorded per thread as the flat index of the first offending element; the smallest index wins,
// so the message names the first problem in row-major order whatever the thread count.
#include "quant/blockwise.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "quant/group_math.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/ggml_blocks.h"

namespace tenpak::quant {

using quantformat::QuantizedTensor;

namespace {

enum class FailureKind : uint8_t { kNone, kNonFinite, kParameters };

struct Failure {
    int64_t element = std::numeric_limits<int64_t>::max();  // flat index (for kParameters: the group's first)
    FailureKind kind = FailureKind::kNone;
    float value = 0.0f;  // kNonFinite: the value; kParameters: the group's absmax
    GroupParams params;  // kParameters
    int64_t group_elements = 0;
};

// Sizes the codes (one byte per weight: 45 MB for an 11008 x 4096 matrix). A buffer that large is a
// fresh mapping on every call, and faulting it in 4 KiB pages cost about a third of the time of
// Quantize on such a matrix (perf: page faults and the kernel's page clearing). Asking for
// transparent huge pages before the buffer is first touched makes that 512 times fewer faults.
// Only a hint: where THP is off, or the range holds no aligned 2 MiB, nothing changes.
void SizeCodes(std::vector<uint8_t>& codes, size_t count) {
    constexpr size_t kHugePage = size_t{2} << 20;
    codes.reserve(count);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (count >= 2 * kHugePage) {
        const auto begin = reinterpret_cast<uintptr_t>(codes.data());
        const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
        const uintptr_t last = (begin + count) & ~(kHugePage - 1);
        if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
    }
#endif
    codes.resize(count);
}

std::string Where(int64_t element, int64_t cols) {
    return "row " + std::to_string(element / cols) + ", column " + std::to_string(element % cols);
}

std::string FloatText(float v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

Status Describe(const Failure& failure, const CodecInfo& info, int64_t cols) {
    if (failure.kind == FailureKind::kNonFinite) {
        const char* what = std::isnan(failure.value) ? "NaN" : (failure.value > 0 ? "+Inf" : "-Inf");
        return Status::InvalidArgument(std::string(what) + " at " + Where(failure.element, cols) +
                                       ": weights must be finite to be quantized");
    }
    return Status::InvalidArgument(std::string("the ") + info.group_word + " of " +
                                   std::to_string(failure.group_elements) + " weights starting at " +
                                   Where(failure.element, cols) + " has scale " + FloatText(failure.params.scale) +
                                   (info.has_zeros ? " and zero " + FloatText(failure.params.zero) : std::string()) +
                                   ", which cannot be stored (largest |weight| " + FloatText(failure.value) +
                                   "; an F16 scale holds at most 65504)");
}

}  // namespace

namespace {

// Elements cast at a time by RunBlockwiseCast: whole groups adding up to about this many (at least
// one group), so that the cast's per-call cost is spread and its output stays in L1.
constexpr int64_t kCastChunkElems = 4096;

// Where a thread's groups come from: W itself (F32), or a cast of a few groups of W into a buffer.
struct GroupSource {
    const float* f32 = nullptr;  // F32 weights, read in place
    DType dtype = DType::kF32;   // otherwise: the stored weights and their dtype
    const std::byte* stored = nullptr;
    size_t elem_bytes = 0;
};

Status CheckShape(const CodecInfo& info, size_t count, int64_t rows, int64_t cols, int64_t group_size) {
    if (rows <= 0 || cols <= 0) {
        return Status::InvalidArgument("cannot quantize an empty matrix (" + std::to_string(rows) + " x " +
                                       std::to_string(cols) + ")");
    }
    if (rows > std::numeric_limits<int64_t>::max() / cols || static_cast<uint64_t>(rows * cols) != count) {
        return Status::InvalidArgument(std::to_string(count) + " weights given for a " + std::to_string(rows) +
                                       " x " + std::to_string(cols) + " matrix");
    }
    if (group_size <= 0) {
        return Status::InvalidArgument(std::string(info.group_word) + " size " + std::to_string(group_size) +
                                       " is not positive");
    }
    if (!info.groups_span_rows && cols % group_size != 0) {
        return Status::InvalidArgument("input size (columns) " + std::to_string(cols) + " is not a multiple of the " +
                                       info.group_word + " size " + std::to_string(group_size));
    }
    return Status::Ok();
}

Result<QuantizedTensor> Quantize(const GroupCodec& codec, const CodecInfo& info, const GroupSource& source,
                                 int64_t rows, int64_t cols, int64_t group_size, ThreadPool& pool,
                                 std::vector<uint8_t>* recycled_codes = nullptr) {
    QuantizedTensor q;
    // Every code is written below, so a recycled buffer's old contents never show; only a growth
    // is cleared (resize), and a buffer already mapped takes no page faults.
    if (recycled_codes != nullptr) q.codes = std::move(*recycled_codes);
    q.rows = rows;
    q.cols = cols;
    q.bits = info.bits;
    q.scheme = info.scheme;
    q.symmetric = info.symmetric;
    q.group_size = group_size;
    const int64_t elements = rows * cols;
    const int64_t groups = (elements + group_size - 1) / group_size;
    if (q.codes.capacity() >= static_cast<size_t>(elements)) {
        q.codes.resize(static_cast<size_t>(elements));
    } else {
        q.codes = {};
        SizeCodes(q.codes, static_cast<size_t>(elements));
    }
    q.scales.resize(static_cast<size_t>(groups));
    if (info.has_zeros) q.zeros.resize(static_cast<size_t>(groups));

    const int64_t chunk_groups = std::max<int64_t>(1, kCastChunkElems / group_size);
    std::vector<Failure> failures(pool.size());
    std::vector<Status> cast_failures(pool.size());
    pool.ParallelFor(static_cast<size_t>(groups), [&](size_t begin, size_t end, size_t thread) {
        std::vector<float> buffer;
        for (size_t chunk = begin; chunk < end; chunk += static_cast<size_t>(chunk_groups)) {
            const size_t chunk_end = std::min(end, chunk + static_cast<size_t>(chunk_groups));
            const int64_t chunk_start = static_cast<int64_t>(chunk) * group_size;
            const int64_t chunk_elems =
                std::min(static_cast<int64_t>(chunk_end) * group_size, elements) - chunk_start;
            const float* data = nullptr;  // element chunk_start of W, as F32
            if (source.f32 != nullptr) {
                data = source.f32 + chunk_start;
            } else {
                buffer.resize(static_cast<size_t>(chunk_elems));
                const size_t count = static_cast<size_t>(chunk_elems);
                const Status cast =
                    CastTensor(source.dtype,
                               {source.stored + static_cast<size_t>(chunk_start) * source.elem_bytes,
                                count * source.elem_bytes},
                               DType::kF32, {reinterpret_cast<std::byte*>(buffer.data()), count * sizeof(float)},
                               count);
                if (!cast.ok()) {
                    cast_failures[thread] = cast;
                    return;
                }
                data = buffer.data();
            }
            for (size_t g = chunk; g < chunk_end; ++g) {
                const int64_t start = static_cast<int64_t>(g) * group_size;
                const size_t length = static_cast<size_t>(std::min(group_size, elements - start));
                const std::span<const float> group(data + (start - chunk_start), length);
                const GroupStats stats = FindGroupStats(group.data(), length);
                if (!stats.finite()) {
                    // Groups are walked in order, so the first non-finite value of this group is the
                    // first of this thread's range: stop here.
                    const auto bad =
                        std::find_if(group.begin(), group.end(), [](float v) { return !std::isfinite(v); });
                    failures[thread] = {start + (bad - group.begin()), FailureKind::kNonFinite, *bad, {}, 0};
                    return;
                }
                const GroupParams params = codec.Fit(group, stats);
                if (!std::isfinite(params.scale) || (info.has_zeros && !std::isfinite(params.zero))) {
                    failures[thread] = {start, FailureKind::kParameters, stats.absmax(), params,
                                        static_cast<int64_t>(length)};
                    return;
                }
                codec.Encode(group, params, q.codes.data() + start);
                q.scales[g] = params.scale;
                if (info.has_zeros) q.zeros[g] = params.zero;
            }
        }
    });

    for (const Status& cast : cast_failures) TP_RETURN_IF_ERROR(cast);
    const Failure& first = *std::min_element(failures.begin(), failures.end(),
                                             [](const Failure& a, const Failure& b) { return a.element < b.element; });
    if (first.kind != FailureKind::kNone) return Describe(first, info, cols);
    return q;
}

}  // namespace

Result<QuantizedTensor> RunBlockwise(const GroupCodec& codec, std::span<const float> w, int64_t rows, int64_t cols,
                                     int64_t group_size, ThreadPool& pool) {
    const CodecInfo info = codec.info();
    TP_RETURN_IF_ERROR(CheckShape(info, w.size(), rows, cols, group_size));
    GroupSource source;
    source.f32 = w.data();
    return Quantize(codec, info, source, rows, cols, group_size, pool);
}

Result<BlockwiseRecipe> MakeBlockwiseRecipe(const QuantOptions& options) {
    TP_RETURN_IF_ERROR(ValidateOptions(options));
    BlockwiseRecipe recipe;
    recipe.group_size = options.group_size;
    switch (options.method) {
        case Method::kRtn:
            recipe.codec = MakeRtnCodec(options.bits, options.symmetric);
            break;
        case Method::kNf4:
            recipe.codec = MakeNf4Codec();
            recipe.double_quant = options.double_quant;
            break;
        case Method::kFp4:
            recipe.codec = MakeFp4Codec();
            recipe.double_quant = options.double_quant;
            break;
        case Method::kInt8:
            recipe.codec = MakeInt8Codec();
            recipe.group_size = BlockwiseRecipe::kWholeRow;
            break;
        case Method::kGgufQ8_0:
            recipe.codec = MakeGgufQ8_0Codec();
            recipe.group_size = static_cast<int64_t>(kGgmlBlockElems);
            break;
        case Method::kGgufQ4_0:
            recipe.codec = MakeGgufQ4_0Codec();
            recipe.group_size = static_cast<int64_t>(kGgmlBlockElems);
            break;
        case Method::kGgufQ4_1:
            recipe.codec = MakeGgufQ4_1Codec();
            recipe.group_size = static_cast<int64_t>(kGgmlBlockElems);
            break;
        case Method::kGptq:
        case Method::kAwq:
            return Status::InvalidArgument(std::string(MethodName(options.method)) +
                                           " is calibrated: it has no calibration-free recipe");
        case Method::kGgufQ4_K:
        case Method::kGgufQ6_K:
            return Status::InvalidArgument(std::string(MethodName(options.method)) +
                                           " encodes super-blocks, not groups: it has no blockwise recipe");
    }
    return recipe;
}

Result<QuantizedTensor> BlockwiseRecipe::QuantizeStored(DType dtype, std::span<const std::byte> w, int64_t rows,
                                                        int64_t cols, ThreadPool& pool,
                                                        std::vector<uint8_t>* recycled_codes) const {
    TP_ASSIGN_OR_RETURN(QuantizedTensor q, RunBlockwiseCast(*codec, dtype, w, rows, cols,
                                                            group_size == kWholeRow ? cols : group_size, pool,
                                                            recycled_codes));
    if (double_quant) DoubleQuantize(q);
    return q;
}

Result<size_t> StoredWeightCount(DType dtype, std::span<const std::byte> w) {
    if (dtype != DType::kF16 && dtype != DType::kBF16 && dtype != DType::kF32) {
        return Status::InvalidArgument("weights stored as " + std::string(DTypeName(dtype)) +
                                       " are cast to F32 before they are quantized; F16, BF16 or F32 expected");
    }
    const size_t elem_bytes = Traits(dtype).block_bytes;
    if (w.size() % elem_bytes != 0) {
        return Status::InvalidArgument(std::to_string(w.size()) + " bytes are not a whole number of " +
                                       std::string(DTypeName(dtype)) + " weights");
    }
    return w.size() / elem_bytes;
}

Result<QuantizedTensor> RunBlockwiseCast(const GroupCodec& codec, DType dtype, std::span<const std::byte> w,
                                         int64_t rows, int64_t cols, int64_t group_size, ThreadPool& pool,
                                         std::vector<uint8_t>* recycled_codes) {
    const CodecInfo info = codec.info();
    TP_ASSIGN_OR_RETURN(const size_t count, StoredWeightCount(dtype, w));
    TP_RETURN_IF_ERROR(CheckShape(info, count, rows, cols, group_size));
    GroupSource source;
    if (dtype == DType::kF32 && reinterpret_cast<uintptr_t>(w.data()) % alignof(float) == 0) {
        source.f32 = reinterpret_cast<const float*>(w.data());  // read in place
    } else {
        source.dtype = dtype;
        source.stored = w.data();
        source.elem_bytes = Traits(dtype).block_bytes;
    }
    return Quantize(codec, info, source, rows, cols, group_size, pool, recycled_codes);
}

}  // namespace tenpak::quant
