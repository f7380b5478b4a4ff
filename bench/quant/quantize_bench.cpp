// Speed of the calibration-free quantizers (tenpak/quant/quantizer.h), against a memcpy timed in
// the same run.
//
// Quantize/<method>/<rows>x<cols>/threads:<t>   Quantizer::Quantize of an F32 weight matrix
//   Methods: rtn-4bit-g128 (symmetric), nf4 (block 64, no double quantization), int8. Shapes are
//   Llama-7B's square and MLP matrices (4096x4096, 11008x4096); threads 1 and 2.
//   Throughput is counted in bytes of the F16-equivalent input, rows * cols * 2 per call (the
//   unit of the whole-model goal: quantizing a model should run at >= 0.5 x a streaming read+write
//   of its F16 weights; that figure is measured on a whole model by tenpak quantize, this is the
//   kernel's share). The call reads the F32 matrix (twice those bytes), allocates and writes one
//   code byte per weight plus the scales, so first-touch page faults of the output are included,
//   as they are in a real run.
//   Baseline, timed in every iteration just before the call: memcpy of the same number of bytes
//   (rows * cols * 2, F16-sized buffers, every page touched beforehand) split over the same
//   threads in contiguous halves: a streaming read+write.
//   Counters: input_GBps (1e9 F16-equivalent bytes per second), memcpy_GBps, ratio = input_GBps /
//   memcpy_GBps. The reported time is Quantize's alone (manual time).
//
// After the table, stderr gets one line per benchmark with the ratio (median over repetitions);
// nothing is asserted. The machine may be shared: note its load next to the figures.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench_context.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/quant/quantizer.h"

namespace tenpak {
namespace {

constexpr size_t kPageBytes = 4096;
constexpr size_t kThreadCounts[] = {1, 2};
constexpr int64_t kShapes[][2] = {{4096, 4096}, {11008, 4096}};

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

struct MethodCase {
    const char* name;
    quant::QuantOptions options;
};

std::vector<MethodCase> Methods() {
    quant::QuantOptions rtn = quant::DefaultOptions(quant::Method::kRtn);
    rtn.bits = 4;
    rtn.group_size = 128;
    rtn.symmetric = true;
    return {{"rtn-4bit-g128", rtn},
            {"nf4", quant::DefaultOptions(quant::Method::kNf4)},
            {"int8", quant::DefaultOptions(quant::Method::kInt8)}};
}

// Gaussian weights (std 0.02): a 1 MiB pattern, repeated. The values only need to be ordinary.
const std::vector<float>& Weights(int64_t rows, int64_t cols) {
    static std::map<std::pair<int64_t, int64_t>, std::vector<float>> cache;
    std::vector<float>& w = cache[{rows, cols}];
    if (w.empty()) {
        constexpr size_t kPattern = size_t{1} << 18;
        std::mt19937 rng(1);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<float> pattern(kPattern);
        for (float& v : pattern) v = normal(rng);
        w.resize(static_cast<size_t>(rows * cols));
        for (size_t at = 0; at < w.size(); at += kPattern) {
            std::copy_n(pattern.begin(), std::min(kPattern, w.size() - at), w.begin() + static_cast<ptrdiff_t>(at));
        }
    }
    return w;
}

// memcpy of `bytes` split in contiguous page-aligned parts over the pool.
void ParallelMemcpy(ThreadPool& pool, char* dst, const char* src, size_t bytes) {
    pool.ParallelFor(
        bytes / kPageBytes,
        [&](size_t begin, size_t end, size_t) {
            const size_t stop = end == bytes / kPageBytes ? bytes : end * kPageBytes;
            std::memcpy(dst + begin * kPageBytes, src + begin * kPageBytes, stop - begin * kPageBytes);
        },
        16);
}

// (iterations, ratio) of every run of each benchmark, the estimation runs included.
std::map<std::string, std::vector<std::pair<int64_t, double>>>& Runs() {
    static std::map<std::string, std::vector<std::pair<int64_t, double>>> runs;
    return runs;
}

void BenchQuantize(benchmark::State& state, const std::string& name, const quant::QuantOptions& options, int64_t rows,
                   int64_t cols, size_t threads) {
    const std::vector<float>& w = Weights(rows, cols);
    Result<std::unique_ptr<quant::Quantizer>> quantizer = quant::MakeQuantizer(options);
    if (!quantizer.ok()) {
        state.SkipWithError(quantizer.status().ToString().c_str());
        return;
    }
    ThreadPool pool(threads);
    const size_t bytes = static_cast<size_t>(rows * cols) * 2;
    std::vector<char> src(bytes, 1);
    std::vector<char> dst(bytes, 0);
    double quantize_seconds = 0.0;
    double memcpy_seconds = 0.0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        ParallelMemcpy(pool, dst.data(), src.data(), bytes);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
        const auto t1 = std::chrono::steady_clock::now();
        Result<quantformat::QuantizedTensor> q = (*quantizer)->Quantize(w, rows, cols, pool);
        const auto t2 = std::chrono::steady_clock::now();
        if (!q.ok()) {
            state.SkipWithError(q.status().ToString().c_str());
            return;
        }
        benchmark::DoNotOptimize(q->codes.data());
        memcpy_seconds += Seconds(t1 - t0);
        quantize_seconds += Seconds(t2 - t1);
        state.SetIterationTime(Seconds(t2 - t1));
    }
    const double total = static_cast<double>(bytes) * static_cast<double>(state.iterations());
    const double input_gbps = total / quantize_seconds / 1e9;
    const double memcpy_gbps = total / memcpy_seconds / 1e9;
    state.counters["input_GBps"] = input_gbps;
    state.counters["memcpy_GBps"] = memcpy_gbps;
    state.counters["ratio"] = input_gbps / memcpy_gbps;
    state.SetBytesProcessed(static_cast<int64_t>(total));
    Runs()[name].emplace_back(static_cast<int64_t>(state.iterations()), input_gbps / memcpy_gbps);
}

void RegisterAll() {
    for (const MethodCase& m : Methods()) {
        for (const auto& shape : kShapes) {
            for (size_t threads : kThreadCounts) {
                const std::string name = std::string("Quantize/") + m.name + "/" + std::to_string(shape[0]) + "x" +
                                         std::to_string(shape[1]) + "/threads:" + std::to_string(threads);
                const quant::QuantOptions options = m.options;
                const int64_t rows = shape[0];
                const int64_t cols = shape[1];
                benchmark::RegisterBenchmark(
                    name.c_str(), [=](benchmark::State& s) { BenchQuantize(s, name, options, rows, cols, threads); })
                    ->UseManualTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
}

// The runs with the final iteration count (Google Benchmark's last run, or every repetition) decide;
// the runs that only estimate the iteration count are left out.
void PrintRatios() {
    for (const auto& [name, runs] : Runs()) {
        int64_t final_iterations = 0;
        for (const auto& [iterations, ratio] : runs) final_iterations = std::max(final_iterations, iterations);
        std::vector<double> ratios;
        for (const auto& [iterations, ratio] : runs) {
            if (iterations == final_iterations) ratios.push_back(ratio);
        }
        std::sort(ratios.begin(), ratios.end());
        std::fprintf(stderr,
                     "quantize: %s: %.2f x memcpy of the F16-equivalent bytes (median of %zu, range %.2f - %.2f); "
                     "the whole-model goal (>= 0.5 x a streaming read+write) is measured on a model\n",
                     name.c_str(), ratios[ratios.size() / 2], ratios.size(), ratios.front(), ratios.back());
    }
}

}  // namespace
}  // namespace tenpak

// quant_bench's main (bench/CMakeLists.txt links plain benchmark::benchmark): BENCHMARK_MAIN plus
// the context section 9 of STYLE.md asks every result to carry, and the ratio lines.
int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    tenpak::bench::AddContext("1 and 2 (see each benchmark's threads: suffix)");
    benchmark::AddCustomContext("tenpak_goal",
                                "whole model: quantize >= 0.5 x a streaming read+write of the F16 input (measured on "
                                "a model); here: the kernel's share, against memcpy of the same bytes");
    tenpak::RegisterAll();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    tenpak::PrintRatios();
    return 0;
}
