// GPTQ: Frantar, Ashkboos, Hoefler, Alistarh, "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers" (2022), Algorithm 1, as the reference implements it
// ([IST-DASLab/gptq] gptq.py fasterquant, with AutoGPTQ's group/g_idx bookkeeping):
// shared/formats.md F.1 is the step list this file follows, B.5 the act-order layout.
//
// For a layer y = W x with inputs of Hessian H = 2/n sum x x^T, quantizing column c of W to q
// and adding (w - q) / [H^-1]_cc * [H^-1]_{c, c+1:} to the later columns (the paper's eq. 3, the
// OBS update restricted to unquantized columns) minimises the output error column by column. With
// U the upper Cholesky factor of H^-1 (U^T U = H^-1), row c of U restricted to columns >= c is that
// same update scaled by U_cc, so one factorization serves every column (section 3, "Cholesky
// reformulation"): err = (w - q) / U_cc, W[:, j] -= err * U[c, j] for j > c.
//
// The lazy batch ("Lazy Batch-Updates"): columns are taken in blocks of B = 128; inside a block the
// update is applied column by column to a copy of the block only, and the columns after the block
// get all of the block's updates at once, W[:, i2:] -= Err1 @ U[i1:i2, i2:], one sgemm. A group's
// parameters are fitted when its first column comes up, from W as that batching leaves it: with the
// previous blocks' updates but not the current block's (F.1 step 7; it matters when G < B).
//
// Layout: W is worked on transposed, Wt[c][r] ([cols][rows]), columns in processing order, so that
// a column is one contiguous vector and the trailing update is a plain row-major sgemm. Rows are
// independent inside a block (each row has its own parameters and errors), so the block is split
// over the thread pool by rows; every row's arithmetic is the same whatever the split, and the
// sgemm (OpenBLAS splits its output, never the inner dimension) gives the same values with any
// thread count, so the result does not depend on it.
//
// Group parameters and codes come from rtn's codec (MakeRtnCodec: GPTQ's min/max quantizer with the
// scale rounded to F16 first), so that w_hat = scale * (code - zero) here is exactly what
// quantformat::Dequantize gives back.
#include "quant/gptq.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>

#include "quant/blockwise.h"
#include "quant/group_math.h"
#include "tenpak/quant/quantizer.h"

namespace tenpak::quant {

using quantformat::QuantizedTensor;

namespace {

constexpr int kSupportedBits[] = {2, 3, 4, 8};
constexpr int64_t kSupportedGroupSizes[] = {32, 64, 128, -1};
// Dampening is raised 10x per failed factorization, this many times (0.01 -> 0.1 -> 1 -> 10 of the
// mean diagonal): past 10x the mean diagonal the quantization no longer follows H, so a Hessian
// that still fails is reported instead.
constexpr int kMaxDampRaises = 3;
constexpr double kDampRaiseFactor = 10.0;
// Raising a dampening of 0 gives 0 again: start from the reference's default instead.
constexpr double kDampAfterZero = 0.01;
// Rows per unit of work inside a block: the block copy of that many rows (B x 256 floats, 128 KB)
// stays in L2 while its B column updates run; 16 rows keep chunk edges on 64-byte lines.
constexpr size_t kRowTile = 256;
constexpr size_t kRowGrain = 16;

std::string ListChoices() {
    return "bits 2, 3, 4 or 8; group_size 32, 64, 128 or -1 (one group per row)";
}

Status CheckOptions(const GptqOptions& options, int64_t cols) {
    const bool bits_ok =
        std::find(std::begin(kSupportedBits), std::end(kSupportedBits), options.bits) != std::end(kSupportedBits);
    const bool group_ok = std::find(std::begin(kSupportedGroupSizes), std::end(kSupportedGroupSizes),
                                    options.group_size) != std::end(kSupportedGroupSizes);
    if (!bits_ok || !group_ok) {
        return Status::InvalidArgument("GPTQ: unsupported bits " + std::to_string(options.bits) + " / group_size " +
                                       std::to_string(options.group_size) + " (supported: " + ListChoices() + ")");
    }
    if (options.group_size > 0 && cols % options.group_size != 0) {
        return Status::InvalidArgument("GPTQ: " + std::to_string(cols) +
                                       " input columns are not a multiple of group_size " +
                                       std::to_string(options.group_size));
    }
    if (!(options.damp >= 0.0) || !std::isfinite(options.damp)) {
        return Status::InvalidArgument("GPTQ: damp must be a finite fraction >= 0 (the reference uses 0.01), got " +
                                       std::to_string(options.damp));
    }
    if (options.block_size < 1) {
        return Status::InvalidArgument("GPTQ: block_size must be >= 1 (the reference uses 128), got " +
                                       std::to_string(options.block_size));
    }
    return Status::Ok();
}

// The first NaN or Inf of a [rows, cols] matrix as "row R column C (value)", or "" if none.
std::string FirstNonFinite(const float* m, int64_t rows, int64_t cols, const char* row_word, const char* col_word) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = m + r * cols;
        if (FindGroupStats(row, static_cast<size_t>(cols)).finite()) continue;
        const int64_t c = std::find_if(row, row + cols, [](float v) { return !std::isfinite(v); }) - row;
        std::ostringstream out;
        out << row_word << ' ' << r << ' ' << col_word << ' ' << c << " (" << row[c] << ")";
        return out.str();
    }
    return {};
}

Status CheckArguments(std::span<const float> w, int64_t rows, int64_t cols, const std::vector<float>& hessian,
                      const GptqOptions& options) {
    if (rows <= 0 || cols <= 0) {
        return Status::InvalidArgument("GPTQ: empty weight matrix " + std::to_string(rows) + " x " +
                                       std::to_string(cols));
    }
    if (w.size() != static_cast<size_t>(rows * cols) || hessian.size() != static_cast<size_t>(cols * cols)) {
        return Status::InvalidArgument("GPTQ: W has " + std::to_string(w.size()) + " values for " +
                                       std::to_string(rows) + " x " + std::to_string(cols) + " and H has " +
                                       std::to_string(hessian.size()) + " for " + std::to_string(cols) + " x " +
                                       std::to_string(cols));
    }
    TP_RETURN_IF_ERROR(CheckOptions(options, cols));
    if (std::string at = FirstNonFinite(w.data(), rows, cols, "row", "column"); !at.empty()) {
        return Status::InvalidArgument("GPTQ: weight " + at + " is not finite");
    }
    if (std::string at = FirstNonFinite(hessian.data(), cols, cols, "row", "column"); !at.empty()) {
        return Status::InvalidArgument("GPTQ: Hessian " + at + " is not finite");
    }
    return Status::Ok();
}

// F.1 step 2: an input that was always 0 has a zero diagonal; its weights cannot matter, so they
// become 0 and its diagonal 1 (which keeps H invertible without touching the other inputs).
std::vector<bool> MarkDeadColumns(std::vector<float>& h, int64_t cols) {
    std::vector<bool> dead(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) {
        float& diag = h[c * cols + c];
        dead[c] = diag == 0.0f;
        if (dead[c]) diag = 1.0f;
    }
    return dead;
}

// F.1 step 4: processing order, largest Hessian diagonal first; ties keep the input order (a stable
// sort, so the order is a function of H alone).
std::vector<int64_t> ProcessingOrder(const std::vector<float>& h, int64_t cols, bool act_order) {
    std::vector<int64_t> perm(static_cast<size_t>(cols));
    std::iota(perm.begin(), perm.end(), 0);
    if (act_order) {
        std::stable_sort(perm.begin(), perm.end(),
                         [&](int64_t a, int64_t b) { return h[a * cols + a] > h[b * cols + b]; });
    }
    return perm;
}

// The reversed order of `perm`: H in this order, J H J with J the reversal, is what is factorized.
std::vector<int64_t> Reversed(const std::vector<int64_t>& perm) {
    return {perm.rbegin(), perm.rend()};
}

// F.1 steps 5 and 6: U, the upper Cholesky factor of H^-1 (U^T U = H^-1), for H + damping in
// processing order. The reference computes chol(H), cholesky_inverse, then chol(H^-1, upper):
// 4/3 K^3 flops. The same U comes cheaper: if H = U_h U_h^T with U_h upper triangular, then
// H^-1 = U_h^-T U_h^-1, and U_h^-1 is upper triangular with a positive diagonal, so it is U (the
// Cholesky factor is unique). With J the reversal of the index order, J H J = (J U_h J)(J U_h J)^T
// is an ordinary Cholesky factorization L L^T, so U = J L^-1 J: one dpotrf and one dtrtri, 2/3 K^3
// flops, and H^-1 is never formed. Measured against the three-step route in double: the same U to
// 4e-15 relative (K = 512 and 4096), and 2/3 K^3 in double takes about what the reference's
// 4/3 K^3 takes in F32.
//
// Double rather than F32: dampening by 1 % of the mean diagonal bounds cond(H) by about 100 K
// (4e5 for K = 4096), so F32 may lose up to 5 of its 7 digits in the small entries of U, which
// steer the updates; a real layer's H, whose diagonal spans several orders of magnitude (outlier
// channels), comes close to that bound. On the generated test layers F32 happened to stay within
// 2e-6, but double removes the question for 8 K^2 bytes while it runs.
//
// `a` holds H + damping in reversed processing order (symmetric). On success `h` receives U in
// processing order, row-major, strict lower triangle 0. Returns LAPACK's info, 0 on success.
lapack_int UpperCholeskyOfInverse(std::vector<double>& a, std::vector<float>& h, int64_t k) {
    const auto n = static_cast<lapack_int>(k);
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, a.data(), n);
    if (info == 0) info = LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'L', 'N', n, a.data(), n);
    if (info != 0) return info;
    // L^-1 (p, q), p >= q, is at a[p + q k] (column-major); U(i, j) = L^-1 (k-1-i, k-1-j). Tiled:
    // the reads run along a's rows, the writes along h's columns.
    constexpr int64_t kTile = 32;
    for (int64_t i0 = 0; i0 < k; i0 += kTile) {
        for (int64_t j0 = 0; j0 < k; j0 += kTile) {
            for (int64_t j = j0; j < std::min(j0 + kTile, k); ++j) {
                const double* src = a.data() + (k - 1 - j) * k + (k - 1);
                for (int64_t i = i0; i < std::min(i0 + kTile, k); ++i) {
                    h[i * k + j] = i <= j ? static_cast<float>(src[-i]) : 0.0f;
                }
            }
        }
    }
    return 0;
}

// F.1 steps 4 to 6: permutes H into processing order, adds damp * mean(diag H) to the diagonal and
// replaces `h` by U (see UpperCholeskyOfInverse). A failed factorization means H + damping is not
// positive definite (e.g. H from fewer tokens than inputs, which is only semi-definite, with
// damp 0): the dampening is raised and the attempt repeated.
Status FactorInverseHessian(std::vector<float>& h, int64_t k, const std::vector<int64_t>& perm, double damp,
                            GptqResult& result) {
    double diag_sum = 0.0;
    for (int64_t c = 0; c < k; ++c) diag_sum += h[c * k + c];
    const double mean_diag = diag_sum / static_cast<double>(k);

    const std::vector<int64_t> order = Reversed(perm);
    std::vector<double> a(static_cast<size_t>(k * k));
    for (int attempt = 0;; ++attempt) {
        for (int64_t i = 0; i < k; ++i) {
            const float* src = h.data() + order[i] * k;
            double* dst = a.data() + i * k;
            for (int64_t j = 0; j < k; ++j) dst[j] = src[order[j]];
            dst[i] += damp * mean_diag;
        }
        const lapack_int info = UpperCholeskyOfInverse(a, h, k);
        if (info == 0) break;
        if (attempt == kMaxDampRaises) {
            std::ostringstream msg;
            msg << "GPTQ: the Hessian is not positive definite even with dampening " << damp << " x its mean diagonal ("
                << mean_diag << "; LAPACK info " << info << "): are the calibration inputs degenerate?";
            return Status::InvalidArgument(msg.str());
        }
        damp = damp > 0.0 ? damp * kDampRaiseFactor : kDampAfterZero;
        std::ostringstream warning;
        warning << "Hessian not positive definite; dampening raised to " << damp;
        result.warnings.push_back(warning.str());
    }
    result.damp_used = damp;
    return Status::Ok();
}

// Wt[c][r] = W[r][perm[c]], 0 for dead inputs. Tiled so that both sides stay in cache.
std::vector<float> TransposeToProcessingOrder(std::span<const float> w, int64_t rows, int64_t cols,
                                              const std::vector<int64_t>& perm, const std::vector<bool>& dead) {
    constexpr int64_t kTile = 32;
    std::vector<float> wt(static_cast<size_t>(rows * cols));
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
            for (int64_t c = c0; c < std::min(c0 + kTile, cols); ++c) {
                const int64_t src_col = perm[c];
                for (int64_t r = r0; r < std::min(r0 + kTile, rows); ++r) {
                    wt[c * rows + r] = dead[src_col] ? 0.0f : w[r * cols + src_col];
                }
            }
        }
    }
    return wt;
}

// y -= a * x. Compiled per ISA like group_math.h's loops; no FMA, so every clone rounds alike.
TP_QUANT_MULTIVERSION
void SubtractScaled(float* y, const float* x, float a, size_t n) {
    for (size_t i = 0; i < n; ++i) y[i] -= a * x[i];
}

// Everything a block's row tiles share; the pointers are into GptqQuantize's buffers.
struct Work {
    const GroupCodec* codec;
    int64_t rows;
    int64_t cols;
    int64_t group_size;  // G of the processing-order groups fitted on the way (dynamic), else 0
    int64_t groups;      // per row
    const float* u;      // K x K, upper triangle of chol(H^-1), processing order
    const float* wt;     // Wt with the updates of the previous blocks only
    const std::vector<int64_t>* perm;
    const std::vector<int32_t>* group_of;  // processing column -> group index within the row
    std::vector<GroupParams>* params;      // [rows][groups]
    uint8_t* codes;                        // [rows][cols], original column order
    double* row_loss;
};

// Fits the processing-order group starting at column c for rows [r0, r1) from Wt (F.1 step 7: the
// matrix without the current block's updates).
void FitGroupAt(const Work& work, int64_t c, int64_t r0, int64_t r1, std::vector<float>& scratch) {
    const int64_t g = c / work.group_size;
    scratch.resize(static_cast<size_t>(work.group_size));
    for (int64_t r = r0; r < r1; ++r) {
        for (int64_t j = 0; j < work.group_size; ++j) scratch[j] = work.wt[(c + j) * work.rows + r];
        const GroupStats stats = FindGroupStats(scratch.data(), scratch.size());
        (*work.params)[r * work.groups + g] = work.codec->Fit(scratch, stats);
    }
}

// Quantizes columns [i1, i2) of rows [r0, r1): w1 is the block's working copy and err1 receives the
// scaled errors (both [i2 - i1][rows]).
void QuantizeBlockRows(const Work& work, int64_t i1, int64_t i2, int64_t r0, int64_t r1, float* w1, float* err1,
                       std::vector<float>& scratch) {
    const int64_t k = work.cols;
    const auto n = static_cast<size_t>(r1 - r0);
    for (int64_t c = i1; c < i2; ++c) {
        if (work.group_size > 0 && c % work.group_size == 0) FitGroupAt(work, c, r0, r1, scratch);
        const float d = work.u[c * k + c];
        float* col = w1 + (c - i1) * work.rows;
        float* err = err1 + (c - i1) * work.rows;
        const int64_t group = (*work.group_of)[c];
        const int64_t orig_col = (*work.perm)[c];
        for (int64_t r = r0; r < r1; ++r) {
            const GroupParams& p = (*work.params)[r * work.groups + group];
            uint8_t code = 0;
            work.codec->Encode(std::span<const float>(&col[r], 1), p, &code);
            work.codes[r * k + orig_col] = code;
            const float q = p.scale * (static_cast<float>(code) - p.zero);
            const float diff = col[r] - q;
            err[r] = diff / d;
            work.row_loss[r] += static_cast<double>(diff) * diff / (static_cast<double>(d) * d);
        }
        for (int64_t j = c + 1; j < i2; ++j) {
            SubtractScaled(w1 + (j - i1) * work.rows + r0, err + r0, work.u[c * k + j], n);
        }
    }
}

// F.1 step 7: the columns in blocks of `block`, each block's rows over the pool, then the block's
// updates to every later column with one sgemm. `wt` is the W that work.wt points to.
void QuantizeAllColumns(const Work& work, int64_t block, std::vector<float>& wt, ThreadPool& pool) {
    const int64_t rows = work.rows;
    const int64_t cols = work.cols;
    std::vector<float> w1(static_cast<size_t>(block * rows));
    std::vector<float> err1(static_cast<size_t>(block * rows));
    for (int64_t i1 = 0; i1 < cols; i1 += block) {
        const int64_t i2 = std::min(i1 + block, cols);
        std::memcpy(w1.data(), wt.data() + i1 * rows, static_cast<size_t>((i2 - i1) * rows) * sizeof(float));
        pool.ParallelFor(
            static_cast<size_t>(rows),
            [&](size_t begin, size_t end, size_t) {
                std::vector<float> scratch;
                for (size_t r0 = begin; r0 < end; r0 += kRowTile) {
                    const size_t r1 = std::min(r0 + kRowTile, end);
                    QuantizeBlockRows(work, i1, i2, static_cast<int64_t>(r0), static_cast<int64_t>(r1), w1.data(),
                                      err1.data(), scratch);
                }
            },
            kRowGrain);
        if (i2 < cols) {
            // Wt[i2:] -= U[i1:i2, i2:]^T Err1: the block's updates to every later column at once.
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<blasint>(cols - i2),
                        static_cast<blasint>(rows), static_cast<blasint>(i2 - i1), -1.0f, work.u + i1 * cols + i2,
                        static_cast<blasint>(cols), err1.data(), static_cast<blasint>(rows), 1.0f,
                        wt.data() + i2 * rows, static_cast<blasint>(rows));
        }
    }
}

// Fits every group of the original column order up front (static groups, and the single group of
// group_size -1, which the reference fits once before the loop): from W with dead inputs zeroed.
void FitOriginalGroups(const GroupCodec& codec, std::span<const float> w, int64_t rows, int64_t cols, int64_t g_size,
                       const std::vector<bool>& dead, std::vector<GroupParams>& params, ThreadPool& pool) {
    const int64_t groups = cols / g_size;
    pool.ParallelFor(static_cast<size_t>(rows), [&](size_t begin, size_t end, size_t) {
        std::vector<float> group(static_cast<size_t>(g_size));
        for (auto r = static_cast<int64_t>(begin); r < static_cast<int64_t>(end); ++r) {
            for (int64_t g = 0; g < groups; ++g) {
                for (int64_t j = 0; j < g_size; ++j) {
                    const int64_t c = g * g_size + j;
                    group[j] = dead[c] ? 0.0f : w[r * cols + c];
                }
                params[r * groups + g] = codec.Fit(group, FindGroupStats(group.data(), group.size()));
            }
        }
    });
}

// Copies the parameters into the tensor; a scale that does not fit in F16 is an error.
Status StoreParams(const std::vector<GroupParams>& params, QuantizedTensor& q) {
    const int64_t groups = q.groups();
    q.scales.resize(params.size());
    q.zeros.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
        if (!std::isfinite(params[i].scale)) {
            return Status::InvalidArgument("GPTQ: row " + std::to_string(static_cast<int64_t>(i) / groups) + " group " +
                                           std::to_string(static_cast<int64_t>(i) % groups) +
                                           ": the scale does not fit in F16 (weights too large)");
        }
        q.scales[i] = params[i].scale;
        q.zeros[i] = params[i].zero;
    }
    return Status::Ok();
}

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t cols) : cols_(cols) {}

Status HessianAccumulator::Add(const float* x, int64_t tokens) {
    if (tokens <= 0) return Status::Ok();
    if (std::string at = FirstNonFinite(x, tokens, cols_, "token", "column"); !at.empty()) {
        return Status::InvalidArgument("GPTQ calibration input: " + at + " is not finite");
    }
    if (h_.empty()) h_.assign(static_cast<size_t>(cols_ * cols_), 0.0f);
    // H = n/(n+B) H + 2/(n+B) X^T X: the reference's running mean, with its scaling of X by
    // sqrt(2/n) folded into syrk's alpha. Only the upper triangle is kept; Take mirrors it.
    const double total = static_cast<double>(tokens_ + tokens);
    const auto alpha = static_cast<float>(2.0 / total);
    const auto beta = static_cast<float>(static_cast<double>(tokens_) / total);
    const auto n = static_cast<blasint>(cols_);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, static_cast<blasint>(tokens), alpha, x, n, beta, h_.data(),
                n);
    tokens_ += tokens;
    return Status::Ok();
}

std::vector<float> HessianAccumulator::Take() {
    std::vector<float> h = std::move(h_);
    h_.clear();
    tokens_ = 0;
    if (h.empty()) return std::vector<float>(static_cast<size_t>(cols_ * cols_), 0.0f);
    for (int64_t i = 0; i < cols_; ++i) {
        for (int64_t j = i + 1; j < cols_; ++j) h[j * cols_ + i] = h[i * cols_ + j];
    }
    return h;
}

Result<GptqResult> GptqQuantize(std::span<const float> w, int64_t rows, int64_t cols, std::vector<float> hessian,
                                const GptqOptions& options, ThreadPool& pool) {
    TP_RETURN_IF_ERROR(CheckArguments(w, rows, cols, hessian, options));
    openblas_set_num_threads(static_cast<int>(pool.size()));

    GptqResult result;
    const std::vector<bool> dead = MarkDeadColumns(hessian, cols);
    const std::vector<int64_t> perm = ProcessingOrder(hessian, cols, options.act_order);
    TP_RETURN_IF_ERROR(FactorInverseHessian(hessian, cols, perm, options.damp, result));
    const std::vector<float>& u = hessian;  // now chol(H^-1), upper, processing order

    const std::unique_ptr<GroupCodec> codec = MakeRtnCodec(options.bits, options.symmetric);
    QuantizedTensor& q = result.tensor;
    q.rows = rows;
    q.cols = cols;
    q.bits = options.bits;
    q.scheme = quantformat::Scheme::kAffine;
    q.symmetric = options.symmetric;
    q.group_size = options.group_size > 0 ? options.group_size : cols;
    q.codes.resize(static_cast<size_t>(rows * cols));
    const int64_t groups = cols / q.group_size;
    // Groups fitted on the way, in processing order (F.1 step 7), unless they are fixed up front.
    const bool fit_on_the_way = options.group_size > 0 && !options.static_groups;
    std::vector<GroupParams> params(static_cast<size_t>(rows * groups));
    std::vector<int32_t> group_of(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) {
        group_of[c] = static_cast<int32_t>((fit_on_the_way ? c : perm[c]) / q.group_size);
    }
    if (!fit_on_the_way) FitOriginalGroups(*codec, w, rows, cols, q.group_size, dead, params, pool);

    std::vector<float> wt = TransposeToProcessingOrder(w, rows, cols, perm, dead);
    std::vector<double> row_loss(static_cast<size_t>(rows), 0.0);
    const Work work{.codec = codec.get(),
                    .rows = rows,
                    .cols = cols,
                    .group_size = fit_on_the_way ? q.group_size : 0,
                    .groups = groups,
                    .u = u.data(),
                    .wt = wt.data(),
                    .perm = &perm,
                    .group_of = &group_of,
                    .params = &params,
                    .codes = q.codes.data(),
                    .row_loss = row_loss.data()};
    QuantizeAllColumns(work, std::min(options.block_size, cols), wt, pool);

    TP_RETURN_IF_ERROR(StoreParams(params, q));
    if (options.act_order && fit_on_the_way) {
        // B.5: the group of each original column is its position in processing order / G.
        q.g_idx.resize(static_cast<size_t>(cols));
        for (int64_t c = 0; c < cols; ++c) q.g_idx[perm[c]] = group_of[c];
    }
    result.loss = std::accumulate(row_loss.begin(), row_loss.end(), 0.0) / 2.0;
    if (Status valid = quantformat::Validate(q); !valid.ok()) {
        return Status::Internal("GPTQ produced an invalid tensor: " + valid.ToString());
    }
    return result;
}

GptqOptions GptqOptionsFrom(const QuantOptions& o) {
    GptqOptions options;
    options.bits = o.bits;
    options.group_size = o.group_size;
    options.symmetric = o.symmetric;
    options.act_order = o.act_order;
    options.static_groups = o.static_groups;
    options.damp = o.damp;
    return options;
}

}  // namespace tenpak::quant
