// The Quantizer every calibration-free method shares: a GroupCodec (the method's fit and encode
// rule, one small file each), its group size, and RunBlockwise (blockwise.h) to drive it.
#include "tenpak/quant/quantizer.h"

#include <string>
#include <utility>

#include "quant/blockwise.h"
#include "quant/kquants.h"

namespace tenpak::quant {

using quantformat::QuantizedTensor;

namespace {

constexpr int64_t kWholeRow = -1;  // rtn's "per output channel", int8's one group per row
constexpr int64_t kRtnDefaultGroup = 128;
constexpr int64_t kBnbDefaultBlock = 64;  // bitsandbytes' quantize_4bit default
constexpr int64_t kBnbMinBlock = 32;
constexpr int64_t kBnbMaxBlock = 4096;

bool IsBnb4(Method method) {
    return method == Method::kNf4 || method == Method::kFp4;
}

// A Quantizer over a BlockwiseRecipe (blockwise.h): the one table of which codec, group size and
// double quantization each method uses.
class BlockwiseQuantizer final : public Quantizer {
public:
    BlockwiseQuantizer(Method method, BlockwiseRecipe recipe) : method_(method), recipe_(std::move(recipe)) {}

    Method method() const override { return method_; }

    Result<QuantizedTensor> Quantize(std::span<const float> w, int64_t rows, int64_t cols,
                                     ThreadPool& pool) const override {
        const int64_t group_size = recipe_.group_size == BlockwiseRecipe::kWholeRow ? cols : recipe_.group_size;
        TP_ASSIGN_OR_RETURN(QuantizedTensor q, RunBlockwise(*recipe_.codec, w, rows, cols, group_size, pool));
        if (recipe_.double_quant) DoubleQuantize(q);
        return q;
    }

private:
    Method method_;
    BlockwiseRecipe recipe_;
};

// The k-quants: a super-block encoder of their own (kquants.h), not a group codec.
class KQuantQuantizer final : public Quantizer {
public:
    explicit KQuantQuantizer(Method method) : method_(method) {}

    Method method() const override { return method_; }

    Result<QuantizedTensor> Quantize(std::span<const float> w, int64_t rows, int64_t cols,
                                     ThreadPool& pool) const override {
        return QuantizeKQuant(method_ == Method::kGgufQ4_K ? KQuant::kQ4_K : KQuant::kQ6_K, w, rows, cols, pool);
    }

private:
    Method method_;
};

}  // namespace

bool IsKQuant(Method method) {
    return method == Method::kGgufQ4_K || method == Method::kGgufQ6_K;
}

QuantOptions DefaultOptions(Method method) {
    QuantOptions options;
    options.method = method;
    options.group_size = IsBnb4(method) ? kBnbDefaultBlock : kRtnDefaultGroup;
    options.symmetric = method != Method::kAwq;
    return options;
}

Status ValidateOptions(const QuantOptions& options) {
    const std::string name(MethodName(options.method));
    switch (options.method) {
        case Method::kRtn:
        case Method::kGptq: {
            const int bits = options.bits;
            if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
                return Status::InvalidArgument(name + " quantizes to 2, 3, 4 or 8 bits, not " + std::to_string(bits));
            }
            const int64_t g = options.group_size;
            if (g != 32 && g != 64 && g != 128 && g != kWholeRow) {
                return Status::InvalidArgument(name +
                                               " group size must be 32, 64, 128 or -1 (one group per output "
                                               "channel), not " +
                                               std::to_string(g));
            }
            if (!(options.damp > 0.0 && options.damp < 1.0)) {
                return Status::InvalidArgument("--damp must be in (0, 1) (a fraction of the mean Hessian diagonal; "
                                               "default 0.01), not " +
                                               std::to_string(options.damp));
            }
            break;
        }
        case Method::kAwq: {
            if (options.bits != 4) {
                return Status::InvalidArgument("awq quantizes to 4 bits only (AutoAWQ's GEMM layout), not " +
                                               std::to_string(options.bits) + "; use --method gptq for 2, 3 and 8 bits");
            }
            const int64_t g = options.group_size;
            if (g != 32 && g != 64 && g != 128) {
                return Status::InvalidArgument("awq group size must be 32, 64 or 128, not " + std::to_string(g));
            }
            if (options.symmetric) {
                return Status::InvalidArgument("awq is asymmetric (zero points), as AutoAWQ writes it; drop --sym");
            }
            break;
        }
        case Method::kNf4:
        case Method::kFp4: {
            const int64_t b = options.group_size;
            if (b < kBnbMinBlock || b > kBnbMaxBlock || (b & (b - 1)) != 0) {
                return Status::InvalidArgument(name +
                                               " block size must be a power of two from 32 to 4096 (32, 64, 128, "
                                               "256, 512, 1024, 2048, 4096; bitsandbytes' default is 64), not " +
                                               std::to_string(b));
            }
            break;
        }
        case Method::kInt8:
        case Method::kGgufQ8_0:
        case Method::kGgufQ4_0:
        case Method::kGgufQ4_1:
        case Method::kGgufQ4_K:
        case Method::kGgufQ6_K:
            break;
        default:
            return Status::InvalidArgument("unknown quantization method " +
                                           std::to_string(static_cast<int>(options.method)) +
                                           " (rtn, nf4, fp4, int8, q8_0, q4_0, q4_1, q4_k, q6_k, gptq, awq)");
    }
    if ((options.act_order || options.static_groups) && options.method != Method::kGptq) {
        return Status::InvalidArgument("act-order and static groups are GPTQ options, not " + name + "'s");
    }
    if (options.double_quant && !IsBnb4(options.method)) {
        return Status::InvalidArgument("double quantization applies to nf4 and fp4 only, not " + name);
    }
    return Status::Ok();
}

Result<std::unique_ptr<Quantizer>> MakeQuantizer(const QuantOptions& options) {
    TP_RETURN_IF_ERROR(ValidateOptions(options));
    if (IsCalibrated(options.method)) {
        return Status::InvalidArgument(std::string(MethodName(options.method)) +
                                       " needs calibration inputs: quantize a model (QuantizeModel) or a layer with "
                                       "its inputs (QuantizeLayer)");
    }
    if (IsKQuant(options.method)) return std::unique_ptr<Quantizer>(std::make_unique<KQuantQuantizer>(options.method));
    TP_ASSIGN_OR_RETURN(BlockwiseRecipe recipe, MakeBlockwiseRecipe(options));
    return std::unique_ptr<Quantizer>(std::make_unique<BlockwiseQuantizer>(options.method, std::move(recipe)));
}

}  // namespace tenpak::quant
