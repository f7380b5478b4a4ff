#include "tenpak/core/cast.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "tenpak/core/dequantize.h"
#include "tenpak/core/half.h"

namespace tenpak {
namespace {

constexpr uint64_t kChunkElements = 1 << 16;  // 256 kB of F32 scratch, L2-resident

bool IsPlainFloat(DType d) {
    return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16 || d == DType::kF64;
}

void FromF32(const float* src, DType to, std::byte* dst, uint64_t n) {
    switch (to) {
        case DType::kF32:
            std::memcpy(dst, src, n * 4);
            break;
        case DType::kF16:
            ConvertF32ToF16(src, reinterpret_cast<uint16_t*>(dst), n);
            break;
        case DType::kBF16:
            ConvertF32ToBF16(src, reinterpret_cast<uint16_t*>(dst), n);
            break;
        case DType::kF64:
            for (uint64_t i = 0; i < n; ++i) {
                const double v = src[i];
                std::memcpy(dst + i * 8, &v, 8);
            }
            break;
        default:
            TP_CHECK(false && "FromF32 target must be a plain float type");
    }
}

}  // namespace

bool CanCast(DType from, DType to) {
    if (from == to) return true;
    return IsPlainFloat(to) && (IsPlainFloat(from) || CanDequantize(from));
}

Status CastTensor(DType from, std::span<const std::byte> src, DType to, std::span<std::byte> dst, uint64_t count) {
    if (!CanCast(from, to)) {
        return Status::Unsupported("cannot convert " + std::string(DTypeName(from)) + " to " +
                                   std::string(DTypeName(to)));
    }
    const int64_t n = static_cast<int64_t>(count);
    Result<uint64_t> src_bytes = TensorByteSize(from, std::span<const int64_t>(&n, 1));
    Result<uint64_t> dst_bytes = TensorByteSize(to, std::span<const int64_t>(&n, 1));
    if (!src_bytes.ok() || !dst_bytes.ok() || *src_bytes != src.size() || *dst_bytes != dst.size()) {
        return Status::InvalidArgument("CastTensor: buffer sizes do not match " + std::to_string(count) + " elements");
    }
    if (from == to) {
        std::memcpy(dst.data(), src.data(), src.size());
        return Status::Ok();
    }
    if (from == DType::kF32 && reinterpret_cast<uintptr_t>(src.data()) % alignof(float) == 0) {
        FromF32(reinterpret_cast<const float*>(src.data()), to, dst.data(), count);  // no scratch copy
        return Status::Ok();
    }
    if (to == DType::kF32 && from != DType::kF32 && reinterpret_cast<uintptr_t>(dst.data()) % alignof(float) == 0) {
        // Straight into the output: through the scratch chunks this would be a fill, the conversion
        // and a copy (a third of quantize's cast time from F16).
        return DequantizeToF32(from, src, {reinterpret_cast<float*>(dst.data()), static_cast<size_t>(count)});
    }
    // Chunks hold whole blocks of `from` (block sizes are powers of two that divide the chunk).
    const DTypeTraits& in = Traits(from);
    const DTypeTraits& out = Traits(to);
    std::vector<float> scratch(static_cast<size_t>(std::min<uint64_t>(count, kChunkElements)));
    for (uint64_t done = 0; done < count; done += kChunkElements) {
        const uint64_t n_chunk = std::min<uint64_t>(kChunkElements, count - done);
        const std::span<const std::byte> in_bytes =
            src.subspan(done / in.block_elems * in.block_bytes, n_chunk / in.block_elems * in.block_bytes);
        std::span<float> f32(scratch.data(), n_chunk);
        if (from == DType::kF32) {
            std::memcpy(f32.data(), in_bytes.data(), n_chunk * 4);
        } else {
            TP_RETURN_IF_ERROR(DequantizeToF32(from, in_bytes, f32));
        }
        FromF32(f32.data(), to, dst.data() + done * out.block_bytes, n_chunk);
    }
    return Status::Ok();
}

}  // namespace tenpak
