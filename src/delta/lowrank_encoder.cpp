#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "approx_encoders_internal.h"
#include "tenpak/core/half.h"

namespace tenpak::delta {
namespace {

// Sketch sizes tried in turn: the ranks of LoRA adapters (8 - 64) first, then up to kMaxRank, the
// highest rank searched (beyond it a change is not low-rank in any useful sense, and the search would
// cost a large SVD per tensor).
constexpr int64_t kSketches[] = {32, 136};
constexpr int64_t kMaxRank = 128;
constexpr int kPowerIterations = 1;
// Of the error budget, the part the truncation may use: F16 factors add a little rounding error.
constexpr double kTruncationShare = 0.98;

// In place: the m x k row-major matrix `a` (m >= k) becomes an orthonormal basis of its columns.
bool Orthonormalise(std::vector<float>& a, int64_t m, int64_t k) {
    std::vector<float> tau(static_cast<size_t>(k));
    if (LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, static_cast<lapack_int>(m), static_cast<lapack_int>(k), a.data(),
                       static_cast<lapack_int>(k), tau.data()) != 0) {
        return false;
    }
    return LAPACKE_sorgqr(LAPACK_ROW_MAJOR, static_cast<lapack_int>(m), static_cast<lapack_int>(k),
                          static_cast<lapack_int>(k), a.data(), static_cast<lapack_int>(k), tau.data()) == 0;
}

// out (m x n) = a (m x k) * b (k x n), with a or b transposed as stored when asked.
void Multiply(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
              float* out) {
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a, transpose_a ? static_cast<int>(m) : static_cast<int>(k), b,
                transpose_b ? static_cast<int>(k) : static_cast<int>(n), 0.0f, out, static_cast<int>(n));
}

// The top singular triplets of d (m x n) from a sketch of `k` random directions.
struct Sketch {
    std::vector<float> u;   // m x k, orthonormal columns
    std::vector<float> s;   // k, descending
    std::vector<float> vt;  // k x n, orthonormal rows
};

std::optional<Sketch> RandomisedSvd(std::span<const float> d, int64_t m, int64_t n, int64_t k) {
    std::mt19937 random(1);
    std::normal_distribution<float> normal;
    std::vector<float> omega(static_cast<size_t>(n * k));
    for (float& v : omega) v = normal(random);
    std::vector<float> y(static_cast<size_t>(m * k)), z(static_cast<size_t>(n * k));
    Multiply(false, false, m, k, n, d.data(), omega.data(), y.data());
    if (!Orthonormalise(y, m, k)) return std::nullopt;
    for (int i = 0; i < kPowerIterations; ++i) {  // sharpens the basis when the spectrum decays slowly
        Multiply(true, false, n, k, m, d.data(), y.data(), z.data());
        if (!Orthonormalise(z, n, k)) return std::nullopt;
        Multiply(false, false, m, k, n, d.data(), z.data(), y.data());
        if (!Orthonormalise(y, m, k)) return std::nullopt;
    }
    std::vector<float> b(static_cast<size_t>(k * n));  // Q^T D
    Multiply(true, false, k, n, m, y.data(), d.data(), b.data());
    Sketch sketch;
    sketch.s.resize(static_cast<size_t>(k));
    sketch.vt.resize(static_cast<size_t>(k * n));
    std::vector<float> ub(static_cast<size_t>(k * k));
    if (LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', static_cast<lapack_int>(k), static_cast<lapack_int>(n), b.data(),
                       static_cast<lapack_int>(n), sketch.s.data(), ub.data(), static_cast<lapack_int>(k),
                       sketch.vt.data(), static_cast<lapack_int>(n)) != 0) {
        return std::nullopt;
    }
    sketch.u.resize(static_cast<size_t>(m * k));
    Multiply(false, false, m, k, k, y.data(), ub.data(), sketch.u.data());
    return sketch;
}

class LowRankEncoder final : public ApproxEncoder {
public:
    std::string_view name() const override { return "lowrank"; }

    std::optional<Approximation> Encode(std::span<const float> d, int64_t rows, int64_t cols,
                                        double max_error) const override {
        const int64_t smaller = std::min(rows, cols);
        const int64_t max_rank = std::min<int64_t>(
            kMaxRank, static_cast<int64_t>(WorthwhileBytes(rows, cols) / (2 * static_cast<uint64_t>(rows + cols))));
        if (max_rank < 1) return std::nullopt;
        const double norm2 = SquaredNorm(d);
        const double allowed = max_error * max_error * kTruncationShare;
        // Sketches of growing size until the discarded singular values fit the budget: the error of
        // keeping r of them is ||D||^2 - (s_1^2 + ... + s_r^2) exactly (D's part outside the sketch
        // included).
        for (int64_t sketch_size : kSketches) {
            const int64_t k = std::min(sketch_size, smaller);
            std::optional<Sketch> sketch = RandomisedSvd(d, rows, cols, k);
            if (!sketch) return std::nullopt;
            double kept = 0;
            for (int64_t r = 1; r <= std::min(k, max_rank); ++r) {
                kept += static_cast<double>(sketch->s[static_cast<size_t>(r - 1)]) * sketch->s[static_cast<size_t>(r - 1)];
                if (norm2 - kept <= allowed) return Store(*sketch, d, rows, cols, k, r, max_error);
            }
            if (k == smaller || k >= max_rank) break;
        }
        return std::nullopt;
    }

    Status Decode(const nlohmann::json& params, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                  std::span<float> out) const override {
        const auto bad = [&](const std::string& what) {
            return Status::Corruption("lowrank delta of " + std::to_string(rows) + " x " + std::to_string(cols) + ": " +
                                      what);
        };
        if (!params.contains("rank") || !params["rank"].is_number_integer()) return bad("no 'rank'");
        const int64_t r = params["rank"].get<int64_t>();
        if (r < 1 || r > std::min(rows, cols)) return bad("'rank' " + std::to_string(r) + " does not fit");
        std::vector<float> s(static_cast<size_t>(r));
        std::vector<uint16_t> u16(static_cast<size_t>(rows * r)), vt16(static_cast<size_t>(r * cols));
        ByteReader in(bytes);
        if (!in.Get<float>(s) || !in.Get<uint16_t>(u16) || !in.Get<uint16_t>(vt16) || !in.AtEnd()) {
            return bad(std::to_string(bytes.size()) + " bytes do not fit rank " + std::to_string(r));
        }
        std::vector<float> u(u16.size()), vt(vt16.size());
        ConvertF16ToF32(u16.data(), u.data(), u.size());
        ConvertF16ToF32(vt16.data(), vt.data(), vt.size());
        for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < r; ++j) u[static_cast<size_t>(i * r + j)] *= s[static_cast<size_t>(j)];
        }
        Multiply(false, false, rows, cols, r, u.data(), vt.data(), out.data());
        return Status::Ok();
    }

private:
    // The first r triplets: [s: r F32][U: rows x r F16][V^T: r x cols F16]. The singular vectors have
    // unit norm, so their entries suit F16 whatever the size of the change; the scale is in s.
    std::optional<Approximation> Store(const Sketch& sketch, std::span<const float> d, int64_t rows, int64_t cols,
                                       int64_t k, int64_t r, double max_error) const {
        std::vector<float> u(static_cast<size_t>(rows * r));
        for (int64_t i = 0; i < rows; ++i) {
            std::copy_n(sketch.u.begin() + i * k, r, u.begin() + i * r);
        }
        std::vector<uint16_t> u16(u.size()), vt16(static_cast<size_t>(r * cols));
        ConvertF32ToF16(u.data(), u16.data(), u.size());
        ConvertF32ToF16(sketch.vt.data(), vt16.data(), vt16.size());
        ByteWriter out;
        out.Put<float>(std::span(sketch.s).first(static_cast<size_t>(r)));
        out.Put<uint16_t>(u16);
        out.Put<uint16_t>(vt16);
        Approximation a{"lowrank", {{"rank", r}}, out.Take()};
        std::vector<float> decoded(d.size());
        if (!Decode(a.params, a.bytes, rows, cols, decoded).ok()) return std::nullopt;
        if (SquaredDistance(d, decoded) > max_error * max_error) return std::nullopt;
        return a;
    }
};

}  // namespace

std::unique_ptr<ApproxEncoder> MakeLowRankEncoder() {
    return std::make_unique<LowRankEncoder>();
}

}  // namespace tenpak::delta
