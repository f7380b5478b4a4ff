// AWQ (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for LLM Compression and
// Acceleration"), as AutoAWQ implements it (shared/formats.md F.2 and C.1; [AutoAWQ]
// awq/quantize/quantizer.py: pseudo_quantize_tensor, _search_best_scale, _compute_best_scale,
// _compute_best_clip). Where AutoAWQ departs from the paper (duo_scaling, the w_mean term of the
// scales), we follow AutoAWQ, whose checkpoints are the ones people load.
//
// Scale search (F.2 steps 1-3): per grid point, the scales, the fake-quantized weights of every
// linear of the group, and the caller's ModuleLoss; the first smallest loss wins.
//
// Clipping search (step 5): AutoAWQ's error for one (row, group) and candidate bound is the mean
// over sampled tokens t of (x_t,g . (q - w))^2. That is delta^T C delta with delta = q - w and
// C = mean_t x_t,g x_t,g^T, the group's G x G input covariance. We evaluate it in that form: C is
// computed once per group and shared by every row, and a candidate then costs G^2 multiply-adds
// instead of tokens * G (4x less at 512 tokens and G = 128). The two forms agree up to float
// rounding, so the chosen bound can differ from AutoAWQ's only where two candidates' errors are
// equal to that precision.
#include "quant/awq.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "quant/group_math.h"
#include "tenpak/core/check.h"
#include "tenpak/core/dtype.h"
#include "tenpak/kernels/kernels.h"
#include "tenpak/quant/quantizer.h"

namespace tenpak::quant {
namespace {

constexpr int kSupportedBits[] = {2, 3, 4, 8};          // what QuantizedTensor holds
constexpr int64_t kSupportedGroups[] = {32, 64, 128};   // AutoAWQ's q_group_size choices
constexpr const char* kGroupChoices = "32, 64 or 128";  // ... as messages list them
constexpr float kMinRange = 1e-5f;                      // pseudo_quantize_tensor: (max - min).clamp(min=1e-5)
constexpr float kWeightMeanEpsilon = 1e-6f;             // w_mean: |w| / (group max + 1e-6)
constexpr float kDuoEpsilon = 1e-4f;                    // duo_scaling: x_mean^a / (w_mean^(1 - a) + 1e-4)
constexpr float kMinScale = 1e-4f;                      // scales.clamp(min=1e-4)
constexpr size_t kFiniteCheckChunk = 4096;              // values checked per vectorised pass
constexpr size_t kDotLanes = 8;                         // partial sums of DotFixedOrder

// ---- Element loops. Each runs over every weight (or input) of a layer, once per candidate, so
// they are kept plain for the auto-vectoriser and multi-versioned like group_math.h's.

// Whether any of x[0, n) is NaN or Inf (all exponent bits set), as an integer OR that vectorises.
TP_QUANT_MULTIVERSION
bool AnyNonFinite(const float* x, size_t n) {
    uint32_t any = 0;
    for (size_t i = 0; i < n; ++i) any |= (std::bit_cast<uint32_t>(x[i]) & 0x7F800000u) == 0x7F800000u ? 1u : 0u;
    return any != 0;
}

TP_QUANT_MULTIVERSION
void AccumulateAbs(const float* x, size_t n, double* sum) {
    for (size_t i = 0; i < n; ++i) sum[i] += std::fabs(static_cast<double>(x[i]));
}

// sum[i] += |w[i]| / denominator: one row's share of w_mean.
TP_QUANT_MULTIVERSION
void AccumulateRelativeAbs(const float* w, size_t n, float denominator, double* sum) {
    for (size_t i = 0; i < n; ++i) sum[i] += static_cast<double>(std::fabs(w[i]) / denominator);
}

TP_QUANT_MULTIVERSION
void Multiply(const float* a, const float* b, size_t n, float* out) {
    for (size_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

TP_QUANT_MULTIVERSION
void Divide(const float* a, const float* b, size_t n, float* out) {
    for (size_t i = 0; i < n; ++i) out[i] = a[i] / b[i];
}

// torch.clamp(x, low, high); out may alias x.
TP_QUANT_MULTIVERSION
void Clamp(const float* x, size_t n, float low, float high, float* out) {
    for (size_t i = 0; i < n; ++i) {
        const float v = x[i] < low ? low : x[i];
        out[i] = v > high ? high : v;
    }
}

// QuantizedTensor's affine rule, scale * (code - zero), so that fake quantization is bit for bit
// what Dequantize gives for the stored tensor.
TP_QUANT_MULTIVERSION
void DequantizeAffine(const uint8_t* codes, size_t n, float scale, float zero, float* out) {
    for (size_t i = 0; i < n; ++i) out[i] = scale * (static_cast<float>(codes[i]) - zero);
}

TP_QUANT_MULTIVERSION
void SubtractInPlace(float* a, const float* b, size_t n) {
    for (size_t i = 0; i < n; ++i) a[i] -= b[i];
}

// c[i * n + j] += x[i] * x[j]. Products of two floats are exact in double, so the sums depend
// only on the order of the tokens.
TP_QUANT_MULTIVERSION
void AccumulateOuter(const float* x, size_t n, double* c) {
    for (size_t i = 0; i < n; ++i) {
        const double a = x[i];
        double* row = c + i * n;
        for (size_t j = 0; j < n; ++j) row[j] += a * static_cast<double>(x[j]);
    }
}

// product[k] = C delta[k] for `count` vectors of n values (C is symmetric: row j is column j).
// Candidates are the inner loop so that each row of C is read from memory once per group.
// The quant module is built with -ffp-contract=off (src/CMakeLists.txt): an FMA in the avx512f clone
// would round once where the others round twice, and machines would pick different clipping bounds.
TP_QUANT_MULTIVERSION
void MultiplyByCovariance(const float* __restrict delta, size_t count, size_t n, const float* __restrict cov,
                          float* __restrict product) {
    std::fill(product, product + count * n, 0.0f);
    for (size_t j = 0; j < n; ++j) {
        const float* cov_row = cov + j * n;
        for (size_t k = 0; k < count; ++k) {
            const float a = delta[k * n + j];
            float* out = product + k * n;
            for (size_t i = 0; i < n; ++i) out[i] += a * cov_row[i];
        }
    }
}

// sum_i a[i] b[i] in double, in kDotLanes partial sums: an order fixed by the source (so every
// ISA clone gives the same bits) that still vectorises. REQUIRES n % kDotLanes == 0.
TP_QUANT_MULTIVERSION
double DotFixedOrder(const float* a, const float* b, size_t n) {
    double lanes[kDotLanes] = {};
    for (size_t i = 0; i < n; i += kDotLanes) {
        for (size_t k = 0; k < kDotLanes; ++k) lanes[k] += static_cast<double>(a[i + k]) * b[i + k];
    }
    double sum = 0.0;
    for (double lane : lanes) sum += lane;
    return sum;
}

// ---- Input checks.

int64_t FirstNonFinite(std::span<const float> x) {
    for (size_t begin = 0; begin < x.size(); begin += kFiniteCheckChunk) {
        const size_t length = std::min(kFiniteCheckChunk, x.size() - begin);
        if (!AnyNonFinite(x.data() + begin, length)) continue;
        for (size_t i = begin; i < begin + length; ++i) {
            if (!std::isfinite(x[i])) return static_cast<int64_t>(i);
        }
    }
    return -1;
}

std::string NonFiniteName(float v) {
    return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
}

// OK, or "NaN at <row_word> r, column c<where>" for the first non-finite of a [*, cols] matrix
// whose first row is numbered row_offset.
Status CheckFinite(std::span<const float> x, int64_t cols, const std::string& row_word, int64_t row_offset,
                   const std::string& where) {
    const int64_t bad = FirstNonFinite(x);
    if (bad < 0) return Status::Ok();
    return Status::InvalidArgument(NonFiniteName(x[static_cast<size_t>(bad)]) + " at " + row_word + " " +
                                   std::to_string(row_offset + bad / cols) + ", column " + std::to_string(bad % cols) +
                                   where + ": AWQ needs finite values");
}

Status CheckSize(std::span<const float> x, int64_t rows, int64_t cols, const std::string& what) {
    if (rows < 0 || cols <= 0 || (rows > 0 && rows > std::numeric_limits<int64_t>::max() / cols) ||
        x.size() != static_cast<uint64_t>(rows * cols)) {
        return Status::InvalidArgument(what + " has " + std::to_string(x.size()) + " values for " +
                                       std::to_string(rows) + " x " + std::to_string(cols));
    }
    return Status::Ok();
}

std::string DividingGroups(int64_t cols) {
    std::string list;
    for (int64_t g : kSupportedGroups) {
        if (cols % g != 0) continue;
        list += (list.empty() ? "" : ", ") + std::to_string(g);
    }
    return list.empty() ? "none of them divides " + std::to_string(cols) : list + " divide " + std::to_string(cols);
}

// ---- Quantization.

// AutoAWQ's pseudo_quantize_tensor with zero_point=True ([AutoAWQ] quantizer.py; formats.md C.1):
//
//   scale = max(max w - min w, 1e-5) / maxq
//   zero  = clamp(-round(min w / scale), 0, maxq)
//   code  = clamp(round(w / scale) + zero, 0, maxq),   w_hat = scale * (code - zero)
//
// with round = round half to even (torch.round). Unlike GPTQ's quantizer (rtn.cpp) the range is the
// group's own, not widened to contain 0; but the clamped zero point keeps 0 on the grid, so a group
// whose values all have one sign is covered only up to (max - min) away from 0 and its larger
// values clamp. That is AutoAWQ's behaviour and kept; trained weight groups of 32 to 128 values
// practically always hold both signs.
//
// As everywhere in TenPak (formats.md I), the scale is rounded to F16 before the zero point and
// the codes are computed from it: AWQ checkpoints store F16 scales, so the codes are then the best
// ones for the scale a loader multiplies by (AutoAWQ quantizes F16 weights, so its scales are F16
// values too). The smallest scale, 1e-5 / 255, still rounds to a non-zero F16 subnormal.
class AwqCodec final : public GroupCodec {
public:
    explicit AwqCodec(int bits)
        : bits_(bits),
          maxq_(static_cast<float>((1 << bits) - 1)),
          affine_encoder_(MakeRtnCodec(bits, /*symmetric=*/false)) {}

    CodecInfo info() const override {
        CodecInfo codec_info;  // kAffine groups within rows
        codec_info.bits = bits_;
        codec_info.symmetric = false;
        codec_info.has_zeros = true;
        return codec_info;
    }

    GroupParams Fit(std::span<const float>, const GroupStats& stats) const override {
        const float scale = RoundToF16(std::max(stats.max - stats.min, kMinRange) / maxq_);
        // min / scale may exceed RoundHalfEven's exact range (a narrow group far from 0); the
        // result then still has the right sign and a magnitude above maxq, which the clamp settles.
        // Adding 0.0f turns the -0.0 of -round(small positive) into +0.0.
        const float zero = std::clamp(-RoundHalfEven(stats.min / scale), 0.0f, maxq_) + 0.0f;
        return {scale, zero, scale, 0.0f};
    }

    // The encode rule is rtn's asymmetric one exactly, and the rtn codec's Encode reads nothing of
    // its own fit but the scale and zero it is given (and our scale is never 0, its one special
    // case), so AWQ borrows it instead of copying the loop. As in Fit, w / scale can be past 2^22;
    // the clamp to [0, maxq] then gives the exact code.
    void Encode(std::span<const float> group, const GroupParams& params, uint8_t* codes) const override {
        affine_encoder_->Encode(group, params, codes);
    }

private:
    int bits_;
    float maxq_;
    std::unique_ptr<GroupCodec> affine_encoder_;
};

// out = Q(x) for one group of n values (out may alias x): the codec's fit and encode, then the
// stored tensor's dequantization. `codes` is n bytes of scratch.
void FakeQuantizeGroup(const GroupCodec& codec, const float* x, size_t n, uint8_t* codes, float* out) {
    const std::span<const float> group(x, n);
    const GroupParams params = codec.Fit(group, FindGroupStats(x, n));
    codec.Encode(group, params, codes);
    DequantizeAffine(codes, n, params.scale, params.zero, out);
}

// ---- Scale search.

Status ValidateScaleGroup(const ScaleGroup& group, std::span<const float> x_mean, const AwqOptions& options) {
    TP_RETURN_IF_ERROR(ValidateAwqOptions(options, group.cols));
    if (group.weights.empty() || group.weights.size() != group.rows.size()) {
        return Status::InvalidArgument("AWQ scaling group has " + std::to_string(group.weights.size()) +
                                       " weight matrices and " + std::to_string(group.rows.size()) +
                                       " row counts; it needs at least one of each, as many of both");
    }
    if (x_mean.size() != static_cast<size_t>(group.cols)) {
        return Status::InvalidArgument("AWQ x_mean has " + std::to_string(x_mean.size()) + " channels for " +
                                       std::to_string(group.cols) + " input columns");
    }
    for (size_t k = 0; k < group.weights.size(); ++k) {
        const std::string what = "linear " + std::to_string(k) + " of the AWQ scaling group";
        if (group.rows[k] <= 0) return Status::InvalidArgument(what + " has no rows");
        TP_RETURN_IF_ERROR(CheckSize(group.weights[k], group.rows[k], group.cols, what));
        TP_RETURN_IF_ERROR(CheckFinite(group.weights[k], group.cols, "row", 0, " of " + what));
    }
    for (size_t c = 0; c < x_mean.size(); ++c) {
        if (!std::isfinite(x_mean[c]) || x_mean[c] < 0.0f) {
            return Status::InvalidArgument("AWQ x_mean of input channel " + std::to_string(c) + " is " +
                                           std::to_string(x_mean[c]) + ": a mean |x| is finite and >= 0");
        }
    }
    return Status::Ok();
}

// ---- Clipping search.

// One pool thread's buffers for SearchGroupClip: `count` candidates of a group of n values.
struct ClipScratch {
    ClipScratch(size_t count, size_t n) : clamped(n), codes(n), delta(count * n), product(count * n), bounds(count) {}
    std::vector<float> clamped;
    std::vector<uint8_t> codes;
    std::vector<float> delta;    // [count][n]: Q(clamp(w)) - w
    std::vector<float> product;  // [count][n]: C delta
    std::vector<float> bounds;
};

// The candidate count: AutoAWQ's range(int(max_shrink * n_grid)), the same double arithmetic.
int ClipCandidates(const AwqOptions& options) {
    return static_cast<int>(options.max_shrink * options.clip_grid);
}

// AutoAWQ's input_feat[:, ::max(1, tokens // n_sample_token)]: every step-th token from the first.
std::vector<int64_t> SampleTokens(int64_t tokens, int64_t clip_tokens) {
    const int64_t step = std::max<int64_t>(1, tokens / clip_tokens);
    std::vector<int64_t> sampled;
    sampled.reserve(static_cast<size_t>((tokens + step - 1) / step));
    for (int64_t t = 0; t < tokens; t += step) sampled.push_back(t);
    return sampled;
}

// C_g = mean over the sampled tokens of x_g x_g^T for every group g of columns: [groups][G][G],
// summed in double (in token order, so independent of the thread count), stored as float.
std::vector<float> GroupCovariances(std::span<const float> x, int64_t cols, const std::vector<int64_t>& sampled,
                                    int64_t group_size, ThreadPool& pool) {
    const auto g_size = static_cast<size_t>(group_size);
    const int64_t groups = cols / group_size;
    std::vector<float> cov(static_cast<size_t>(groups) * g_size * g_size);
    const double inverse_count = 1.0 / static_cast<double>(sampled.size());
    pool.ParallelFor(static_cast<size_t>(groups), [&](size_t begin, size_t end, size_t) {
        std::vector<double> sum(g_size * g_size);
        for (size_t g = begin; g < end; ++g) {
            std::fill(sum.begin(), sum.end(), 0.0);
            for (int64_t t : sampled) AccumulateOuter(x.data() + t * cols + g * g_size, g_size, sum.data());
            float* out = cov.data() + g * g_size * g_size;
            for (size_t i = 0; i < sum.size(); ++i) out[i] = static_cast<float>(sum[i] * inverse_count);
        }
    });
    return cov;
}

// The clipping bound of one row's group w[0, n) (AutoAWQ's _compute_best_clip for one row and
// group): among amax * (1 - i / clip_grid), i = 0 .. count - 1, the one whose fake-quantized clamp
// has the smallest delta^T C delta, the first on ties. i = 0 is amax itself: no clipping.
float SearchGroupClip(const GroupCodec& codec, const float* w, size_t n, const float* cov, int clip_grid,
                      ClipScratch& scratch) {
    const float amax = FindGroupStats(w, n).absmax();
    const size_t count = scratch.bounds.size();
    for (size_t i = 0; i < count; ++i) {
        // torch multiplies the F32 amax by the Python float (1 - i / n_grid) rounded to F32.
        const float bound = amax * static_cast<float>(1.0 - static_cast<double>(i) / clip_grid);
        float* delta = scratch.delta.data() + i * n;
        Clamp(w, n, -bound, bound, scratch.clamped.data());
        FakeQuantizeGroup(codec, scratch.clamped.data(), n, scratch.codes.data(), delta);
        SubtractInPlace(delta, w, n);
        scratch.bounds[i] = bound;
    }
    MultiplyByCovariance(scratch.delta.data(), count, n, cov, scratch.product.data());
    size_t best = 0;
    double best_error = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < count; ++i) {
        const double error = DotFixedOrder(scratch.delta.data() + i * n, scratch.product.data() + i * n, n);
        if (error < best_error) {
            best_error = error;
            best = i;
        }
    }
    return scratch.bounds[best];
}

// ---- A single linear.

// mean over tokens and outputs of ((W - W') x)^2, W' = candidates[0]: the output error of a linear
// that is its own inspected module. Differencing the weights first keeps the small difference of
// two large outputs from cancelling in float.
ModuleLoss LinearOutputLoss(std::span<const float> w, int64_t rows, int64_t cols, std::span<const float> x,
                            int64_t tokens, std::vector<float>& diff, std::vector<float>& out, ThreadPool& pool) {
    return [w, rows, cols, x, tokens, &diff, &out, &pool](const std::vector<std::vector<float>>& candidates) {
        const std::vector<float>& candidate = candidates.front();
        diff.resize(w.size());
        out.resize(static_cast<size_t>(tokens * rows));
        for (size_t i = 0; i < w.size(); ++i) diff[i] = w[i] - candidate[i];
        kernels::MatMul({DType::kF32, diff.data(), rows, cols}, x.data(), tokens, out.data(), pool);
        double sum = 0.0;
        for (float v : out) sum += static_cast<double>(v) * v;
        return Result<double>(sum / static_cast<double>(out.size()));
    };
}

// out[r, c] = m[r, c] * s[c] (multiply) or m[r, c] / s[c], row by row on the pool.
std::vector<float> ScaleColumns(std::span<const float> m, int64_t rows, std::span<const float> s, bool multiply,
                                ThreadPool& pool) {
    const size_t cols = s.size();
    std::vector<float> out(m.size());
    pool.ParallelFor(static_cast<size_t>(rows), [&](size_t begin, size_t end, size_t) {
        for (size_t r = begin; r < end; ++r) {
            if (multiply) {
                Multiply(m.data() + r * cols, s.data(), cols, out.data() + r * cols);
            } else {
                Divide(m.data() + r * cols, s.data(), cols, out.data() + r * cols);
            }
        }
    });
    return out;
}

}  // namespace

Status ValidateAwqOptions(const AwqOptions& options, int64_t cols) {
    if (std::find(std::begin(kSupportedBits), std::end(kSupportedBits), options.bits) == std::end(kSupportedBits)) {
        return Status::InvalidArgument("AWQ bits " + std::to_string(options.bits) +
                                       " is not supported: choose 2, 3, 4 or 8 (AutoAWQ's GEMM layout takes 4)");
    }
    if (std::find(std::begin(kSupportedGroups), std::end(kSupportedGroups), options.group_size) ==
        std::end(kSupportedGroups)) {
        return Status::InvalidArgument("AWQ group size " + std::to_string(options.group_size) +
                                       " is not supported: choose " + kGroupChoices);
    }
    if (cols <= 0 || cols % options.group_size != 0) {
        return Status::InvalidArgument(
            "input size (columns) " + std::to_string(cols) + " is not a multiple of the AWQ group size " +
            std::to_string(options.group_size) + " (AWQ supports " + kGroupChoices + "; " + DividingGroups(cols) + ")");
    }
    if (options.grid < 1 || options.clip_grid < 1) {
        return Status::InvalidArgument("AWQ grid " + std::to_string(options.grid) + " and clip grid " +
                                       std::to_string(options.clip_grid) + " must be >= 1 (AutoAWQ uses 20)");
    }
    if (!(options.max_shrink >= 0.0 && options.max_shrink < 1.0)) {
        return Status::InvalidArgument("AWQ max_shrink " + std::to_string(options.max_shrink) +
                                       " must be in [0, 1) (AutoAWQ uses 0.5)");
    }
    if (options.clip_tokens < 1) {
        return Status::InvalidArgument("AWQ clip_tokens " + std::to_string(options.clip_tokens) +
                                       " must be >= 1 (AutoAWQ uses 512)");
    }
    return Status::Ok();
}

ChannelMagnitude::ChannelMagnitude(int64_t cols) : cols_(cols), sum_(static_cast<size_t>(cols)) {}

Status ChannelMagnitude::Add(const float* x, int64_t tokens) {
    if (tokens < 0) return Status::InvalidArgument("negative token count " + std::to_string(tokens));
    const std::span<const float> batch(x, static_cast<size_t>(tokens * cols_));
    // The whole batch is checked before any of it is added, so that a failure changes nothing.
    TP_RETURN_IF_ERROR(CheckFinite(batch, cols_, "token", tokens_, " of the AWQ calibration inputs"));
    for (int64_t t = 0; t < tokens; ++t) AccumulateAbs(x + t * cols_, static_cast<size_t>(cols_), sum_.data());
    tokens_ += tokens;
    return Status::Ok();
}

std::vector<float> ChannelMagnitude::Mean() const {
    std::vector<float> mean(sum_.size(), 0.0f);
    if (tokens_ == 0) return mean;
    for (size_t c = 0; c < sum_.size(); ++c) mean[c] = static_cast<float>(sum_[c] / static_cast<double>(tokens_));
    return mean;
}

std::unique_ptr<GroupCodec> MakeAwqCodec(int bits) {
    return std::make_unique<AwqCodec>(bits);
}

void FakeQuantizeScaled(std::span<float> w, int64_t rows, int64_t cols, std::span<const float> s,
                        const AwqOptions& options, ThreadPool& pool) {
    const int64_t group_size = options.group_size;
    TP_CHECK(rows >= 0 && cols > 0 && group_size > 0 && cols % group_size == 0);
    TP_CHECK(w.size() == static_cast<size_t>(rows * cols) && s.size() == static_cast<size_t>(cols));
    const std::unique_ptr<GroupCodec> codec = MakeAwqCodec(options.bits);
    const auto g_size = static_cast<size_t>(group_size);
    pool.ParallelFor(static_cast<size_t>(rows), [&](size_t begin, size_t end, size_t) {
        std::vector<float> scaled(g_size);
        std::vector<uint8_t> codes(g_size);
        for (size_t r = begin; r < end; ++r) {
            for (int64_t c = 0; c < cols; c += group_size) {
                float* group = w.data() + r * static_cast<size_t>(cols) + c;
                const float* group_s = s.data() + c;
                Multiply(group, group_s, g_size, scaled.data());
                FakeQuantizeGroup(*codec, scaled.data(), g_size, codes.data(), scaled.data());
                Divide(scaled.data(), group_s, g_size, group);
            }
        }
    });
}

std::vector<float> AwqWeightMean(const ScaleGroup& group, int64_t group_size, ThreadPool& pool) {
    const int64_t cols = group.cols;
    const auto g_size = static_cast<size_t>(group_size);
    int64_t total_rows = 0;
    for (int64_t rows : group.rows) total_rows += rows;
    std::vector<float> mean(static_cast<size_t>(cols));
    // Each thread owns whole groups of columns and walks every row in order, so each column's sum
    // is added in the same order whatever the thread count.
    pool.ParallelFor(static_cast<size_t>(cols / group_size), [&](size_t begin, size_t end, size_t) {
        std::vector<double> sum(g_size);
        for (size_t g = begin; g < end; ++g) {
            std::fill(sum.begin(), sum.end(), 0.0);
            for (size_t k = 0; k < group.weights.size(); ++k) {
                for (int64_t r = 0; r < group.rows[k]; ++r) {
                    const float* w = group.weights[k].data() + r * cols + g * g_size;
                    AccumulateRelativeAbs(w, g_size, FindGroupStats(w, g_size).absmax() + kWeightMeanEpsilon,
                                          sum.data());
                }
            }
            for (size_t i = 0; i < g_size; ++i) {
                mean[g * g_size + i] = static_cast<float>(sum[i] / static_cast<double>(total_rows));
            }
        }
    });
    return mean;
}

std::vector<float> AwqScalesForRatio(std::span<const float> x_mean, std::span<const float> w_mean, float ratio,
                                     bool duo_scaling) {
    TP_CHECK(!x_mean.empty() && (!duo_scaling || w_mean.size() == x_mean.size()));
    std::vector<float> s(x_mean.size());
    for (size_t c = 0; c < s.size(); ++c) {
        const float x_term = std::pow(x_mean[c], ratio);
        const float v = duo_scaling ? x_term / (std::pow(w_mean[c], 1.0f - ratio) + kDuoEpsilon) : x_term;
        s[c] = std::max(v, kMinScale);
    }
    const auto [lowest, highest] = std::minmax_element(s.begin(), s.end());
    const float norm = std::sqrt(*highest * *lowest);  // F32, as torch computes it
    for (float& v : s) {
        v /= norm;
        if (!std::isfinite(v)) v = 1.0f;  // AutoAWQ: "avoid scaling values that overflow"
    }
    return s;
}

Result<ScaleSearchResult> SearchScales(const ScaleGroup& group, std::span<const float> x_mean,
                                       const AwqOptions& options, const ModuleLoss& loss, ThreadPool& pool) {
    TP_RETURN_IF_ERROR(ValidateScaleGroup(group, x_mean, options));
    const std::vector<float> w_mean = AwqWeightMean(group, options.group_size, pool);
    std::vector<std::vector<float>> candidates(group.weights.size());
    ScaleSearchResult result;
    result.losses.reserve(static_cast<size_t>(options.grid));
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < options.grid; ++i) {
        const float ratio = static_cast<float>(i) / static_cast<float>(options.grid);
        std::vector<float> scales = AwqScalesForRatio(x_mean, w_mean, ratio, options.duo_scaling);
        for (size_t k = 0; k < candidates.size(); ++k) {
            candidates[k].assign(group.weights[k].begin(), group.weights[k].end());
            FakeQuantizeScaled(candidates[k], group.rows[k], group.cols, scales, options, pool);
        }
        Result<double> candidate_loss = loss(candidates);
        if (!candidate_loss.ok()) {
            return candidate_loss.status().WithContext("AWQ scale search, ratio " + std::to_string(ratio));
        }
        const double value = candidate_loss.value();
        result.losses.push_back(value);
        // Strictly smaller: the first of equal losses wins, and NaN never does.
        if (value < best) {
            best = value;
            result.ratio = ratio;
            result.scales = std::move(scales);
        }
    }
    if (result.scales.empty()) {
        return Status::InvalidArgument("AWQ scale search: none of the " + std::to_string(options.grid) +
                                       " grid points gave a finite loss (the first gave " +
                                       std::to_string(result.losses.front()) + ")");
    }
    result.loss = best;
    return result;
}

Status SearchAndApplyClip(std::span<float> w, int64_t rows, int64_t cols, std::span<const float> x, int64_t tokens,
                          const AwqOptions& options, ThreadPool& pool) {
    TP_RETURN_IF_ERROR(ValidateAwqOptions(options, cols));
    if (rows <= 0 || tokens <= 0) {
        return Status::InvalidArgument("AWQ clipping search needs weights and calibration tokens (" +
                                       std::to_string(rows) + " rows, " + std::to_string(tokens) + " tokens)");
    }
    TP_RETURN_IF_ERROR(CheckSize(w, rows, cols, "AWQ clipping search: the weight matrix"));
    TP_RETURN_IF_ERROR(CheckSize(x, tokens, cols, "AWQ clipping search: the calibration inputs"));
    TP_RETURN_IF_ERROR(CheckFinite(w, cols, "row", 0, " of the weights being clipped"));
    TP_RETURN_IF_ERROR(CheckFinite(x, cols, "token", 0, " of the AWQ calibration inputs"));
    const int count = ClipCandidates(options);
    if (count <= 1) return Status::Ok();  // the only candidate is amax: nothing is clipped

    const int64_t group_size = options.group_size;
    const auto g_size = static_cast<size_t>(group_size);
    const std::vector<float> cov =
        GroupCovariances(x, cols, SampleTokens(tokens, options.clip_tokens), group_size, pool);
    const std::unique_ptr<GroupCodec> codec = MakeAwqCodec(options.bits);
    pool.ParallelFor(static_cast<size_t>(rows), [&](size_t begin, size_t end, size_t) {
        ClipScratch scratch(static_cast<size_t>(count), g_size);
        // Groups outside, rows inside: one group's covariance (64 KiB at G = 128) stays in cache
        // while the thread's rows use it.
        for (int64_t c = 0; c < cols; c += group_size) {
            const float* group_cov = cov.data() + static_cast<size_t>(c / group_size) * g_size * g_size;
            for (size_t r = begin; r < end; ++r) {
                float* group = w.data() + r * static_cast<size_t>(cols) + c;
                const float bound = SearchGroupClip(*codec, group, g_size, group_cov, options.clip_grid, scratch);
                Clamp(group, g_size, -bound, bound, group);
            }
        }
    });
    return Status::Ok();
}

Result<AwqLinearResult> AwqQuantizeLinear(std::span<const float> w, int64_t rows, int64_t cols,
                                          std::span<const float> x, int64_t tokens, const AwqOptions& options,
                                          ThreadPool& pool) {
    TP_RETURN_IF_ERROR(ValidateAwqOptions(options, cols));
    if (rows <= 0 || tokens <= 0) {
        return Status::InvalidArgument("AWQ needs weights and calibration tokens (" + std::to_string(rows) + " rows, " +
                                       std::to_string(tokens) + " tokens)");
    }
    TP_RETURN_IF_ERROR(CheckSize(w, rows, cols, "AWQ: the weight matrix"));
    TP_RETURN_IF_ERROR(CheckSize(x, tokens, cols, "AWQ: the calibration inputs"));
    using Clock = std::chrono::steady_clock;
    const auto since = [](Clock::time_point start) {
        return std::chrono::duration<double>(Clock::now() - start).count();
    };
    Clock::time_point start = Clock::now();
    ChannelMagnitude magnitude(cols);
    TP_RETURN_IF_ERROR(magnitude.Add(x.data(), tokens));

    AwqLinearResult result;
    {
        std::vector<float> diff;
        std::vector<float> out;
        const ScaleGroup group{{w}, {rows}, cols};
        TP_ASSIGN_OR_RETURN(result.search,
                            SearchScales(group, magnitude.Mean(), options,
                                         LinearOutputLoss(w, rows, cols, x, tokens, diff, out, pool), pool));
    }
    result.search_seconds = since(start);
    start = Clock::now();
    const std::vector<float>& s = result.search.scales;
    std::vector<float> scaled_w = ScaleColumns(w, rows, s, /*multiply=*/true, pool);
    if (options.apply_clip) {
        // The clipping search sees the layer as it will run: scaled weights, inputs divided by s.
        const std::vector<float> scaled_x = ScaleColumns(x, tokens, s, /*multiply=*/false, pool);
        TP_RETURN_IF_ERROR(SearchAndApplyClip(scaled_w, rows, cols, scaled_x, tokens, options, pool));
    }
    result.clip_seconds = since(start);
    start = Clock::now();
    TP_ASSIGN_OR_RETURN(result.tensor,
                        RunBlockwise(*MakeAwqCodec(options.bits), scaled_w, rows, cols, options.group_size, pool));
    result.quantize_seconds = since(start);
    return result;
}

AwqOptions AwqOptionsFrom(const QuantOptions& o) {
    AwqOptions options;
    options.bits = o.bits;
    options.group_size = o.group_size;
    return options;
}

}  // namespace tenpak::quant
