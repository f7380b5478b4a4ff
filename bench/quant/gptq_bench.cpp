// Speed of GPTQ (src/quant/gptq.h) on one layer, against cblas_sgemm timed in the same run.
// Registered statically into quant_bench (whose main is in quantize_bench.cpp).
//
// Gptq/<rows>x<cols>/g128/act_order:<0|1>/threads:<t>   GptqQuantize, 4-bit symmetric g128
//   Default 4096x4096 (Llama-7B's square projections) with a Hessian from cols / 2 = 2048 tokens;
//   TENPAK_GPTQ_BENCH_DIM=1024 (any multiple of 128) for a quick run. Threads: every core.
//   Weights Gaussian (std 0.02); inputs Gaussian with a log-normal scale per channel (the
//   Hessian's diagonal then spans about two orders of magnitude, as a real layer's does).
//   The work is counted as what runs:
//     flops = 2/3 K^3 + N K^2
//   with N = rows, K = cols: 2/3 K^3 for chol(H) (K^3 / 3) and the triangular inverse that gives
//   chol(H^-1) (K^3 / 3), both in double (the reference's route, chol + cholesky_inverse +
//   chol(H^-1), would be 4/3 K^3; see gptq.cpp); N K^2 for the column updates (every pair of
//   columns c < j gets one multiply-add per row: N K (K - 1) / 2 multiply-adds, whether applied
//   inside a block or by the trailing sgemm). Quantizing, parameter fits and copies are O(N K) and
//   left out. The double part runs at about half of sgemm's rate, so the ratio cannot reach 1.
//   Baseline, timed in every iteration just before the call: one cblas_sgemm of M = rows,
//   N = K = cols (2 M N K flops) on the same OpenBLAS threads.
//   Counters: seconds, GFLOPs (1e9 flops/s by the formula), sgemm_GFLOPs, ratio = GFLOPs /
//   sgemm_GFLOPs, hessian_s (HessianAccumulator::Add of all tokens in 256-token batches, once).
//
// stderr gets one line per benchmark with the figures; nothing is asserted. The machine may be
// shared: note its load next to the figures.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "quant/gptq.h"
#include "tenpak/core/thread_pool.h"

namespace tenpak {
namespace {

constexpr int64_t kDefaultDim = 4096;
constexpr int64_t kHessianBatch = 256;  // tokens per Add, like a calibration pipeline's chunks

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

int64_t BenchDim() {
    const char* env = std::getenv("TENPAK_GPTQ_BENCH_DIM");
    const int64_t dim = env != nullptr ? std::atoll(env) : kDefaultDim;
    return dim >= 128 && dim % 128 == 0 ? dim : kDefaultDim;
}

struct Layer {
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t tokens = 0;
    std::vector<float> w;
    std::vector<float> h;
    double hessian_seconds = 0.0;
};

// Built once and shared by both benchmarks.
const Layer& GetLayer() {
    static const Layer layer = [] {
        Layer l;
        l.rows = l.cols = BenchDim();
        l.tokens = l.cols / 2;
        std::mt19937 rng(1);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        l.w.resize(static_cast<size_t>(l.rows * l.cols));
        for (float& v : l.w) v = 0.02f * normal(rng);
        std::vector<float> channel_scale(static_cast<size_t>(l.cols));
        for (float& s : channel_scale) s = std::exp(normal(rng));
        std::vector<float> x(static_cast<size_t>(l.tokens * l.cols));
        for (int64_t t = 0; t < l.tokens; ++t) {
            for (int64_t c = 0; c < l.cols; ++c) x[t * l.cols + c] = channel_scale[c] * normal(rng);
        }
        quant::HessianAccumulator acc(l.cols);
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t t = 0; t < l.tokens; t += kHessianBatch) {
            const Status s = acc.Add(x.data() + t * l.cols, std::min(kHessianBatch, l.tokens - t));
            if (!s.ok()) std::fprintf(stderr, "gptq_bench: %s\n", s.ToString().c_str());
        }
        l.hessian_seconds = Seconds(std::chrono::steady_clock::now() - t0);
        l.h = acc.Take();
        return l;
    }();
    return layer;
}

double GptqFlops(int64_t rows, int64_t cols) {
    const double n = static_cast<double>(rows);
    const double k = static_cast<double>(cols);
    return 2.0 / 3.0 * k * k * k + n * k * k;
}

// Seconds of one cblas_sgemm C[m x n] = A[m x k] B[k x n] on `threads` OpenBLAS threads.
double TimeSgemm(int64_t m, int64_t n, int64_t k, int threads) {
    std::vector<float> a(static_cast<size_t>(m * k), 0.5f);
    std::vector<float> b(static_cast<size_t>(k * n), 0.25f);
    std::vector<float> c(static_cast<size_t>(m * n), 0.0f);
    openblas_set_num_threads(threads);
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.0f, a.data(), static_cast<blasint>(k), b.data(), static_cast<blasint>(n),
                0.0f, c.data(), static_cast<blasint>(n));
    const double seconds = Seconds(std::chrono::steady_clock::now() - t0);
    benchmark::DoNotOptimize(c.data());
    return seconds;
}

void BenchGptq(benchmark::State& state, bool act_order) {
    const Layer& layer = GetLayer();
    ThreadPool pool(0);
    quant::GptqOptions options;  // 4-bit symmetric g128
    options.act_order = act_order;
    double gptq_seconds = 0.0;
    double sgemm_seconds = 0.0;
    for (auto _ : state) {
        sgemm_seconds += TimeSgemm(layer.rows, layer.cols, layer.cols, static_cast<int>(pool.size()));
        const auto t0 = std::chrono::steady_clock::now();
        Result<quant::GptqResult> result = quant::GptqQuantize(layer.w, layer.rows, layer.cols, layer.h, options, pool);
        const double seconds = Seconds(std::chrono::steady_clock::now() - t0);
        if (!result.ok()) {
            state.SkipWithError(result.status().ToString().c_str());
            return;
        }
        benchmark::DoNotOptimize(result->tensor.codes.data());
        gptq_seconds += seconds;
        state.SetIterationTime(seconds);
    }
    const double iterations = static_cast<double>(state.iterations());
    const double gflops = GptqFlops(layer.rows, layer.cols) * iterations / gptq_seconds / 1e9;
    const double sgemm_gflops = 2.0 * static_cast<double>(layer.rows * layer.cols) * static_cast<double>(layer.cols) *
                                iterations / sgemm_seconds / 1e9;
    state.counters["seconds"] = gptq_seconds / iterations;
    state.counters["GFLOPs"] = gflops;
    state.counters["sgemm_GFLOPs"] = sgemm_gflops;
    state.counters["ratio"] = gflops / sgemm_gflops;
    state.counters["hessian_s"] = layer.hessian_seconds;
    std::fprintf(stderr,
                 "gptq: %lldx%lld 4-bit g128 act_order %d, %zu threads: %.2f s, %.1f GFLOP/s by 2/3 K^3 + N K^2 = "
                 "%.3f x cblas_sgemm (%.1f GFLOP/s); Hessian of %lld tokens %.2f s\n",
                 static_cast<long long>(layer.rows), static_cast<long long>(layer.cols), act_order ? 1 : 0, pool.size(),
                 gptq_seconds / iterations, gflops, gflops / sgemm_gflops, sgemm_gflops,
                 static_cast<long long>(layer.tokens), layer.hessian_seconds);
}

// Static registration: quant_bench's main runs every registered benchmark. One iteration each: a
// 4096 x 4096 call takes seconds, and the iteration-count estimation would repeat it.
const bool kRegistered = [] {
    const std::string shape = std::to_string(BenchDim()) + "x" + std::to_string(BenchDim());
    const std::string threads = std::to_string(ThreadPool::HardwareThreads());
    for (bool act_order : {false, true}) {
        const std::string name = "Gptq/" + shape + "/g128/act_order:" + (act_order ? "1" : "0") + "/threads:" + threads;
        benchmark::RegisterBenchmark(name.c_str(), [act_order](benchmark::State& s) { BenchGptq(s, act_order); })
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kSecond);
    }
    return true;
}();

}  // namespace
}  // namespace tenpak
