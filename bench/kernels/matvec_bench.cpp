// Speed of the kernels module's matrix products, each against a baseline timed in the same run.
//
// Decode/<dtype>/<rows>x<cols>/threads:<t>   MatVec (one token) on a weight matrix in DRAM
// DecodeT/<dtype>/<rows>x<cols>/threads:<t>  MatVecTransposed, the same way (GPT-2's layout)
//   A decode product reads every weight once and does 2 flops per weight, so it is bound by memory
//   bandwidth; the baseline is a streaming read of the same bytes (vector loads added into 8
//   accumulators, at the widest vector width the CPU has) split over the same number of threads.
//   Each iteration runs the baseline on one copy of the matrix and the kernel on the next, and
//   every copy is read by both in turn: the copies together take at least kDecodeBufferBytes, 8x
//   the 32 MiB L3 of the Zen 4 this was written on, so every matrix read comes from DRAM, for the
//   kernel and the baseline alike.
//   Counters: weight_GBps (weight bytes the kernel reads per second, 1e9 bytes/s; Google
//   Benchmark's bytes_per_second is the same figure in 2^30 bytes/s), stream_GBps (the baseline),
//   ratio = kernel throughput / baseline throughput. Goal: ratio >= 0.7.
//
// Prefill/<dtype>/<rows>x<cols>/tokens:512/threads:<t>   MatMul of 512 tokens
//   Bound by arithmetic; the baseline is cblas_sgemm on the same shapes with F32 weights holding
//   the same values. F32 MatMul is that same call (ratio ~1); F16 and BF16 add the tile widening.
//   Counters: GFLOPs (2 * tokens * rows * cols per call, 1e9/s), sgemm_GFLOPs, ratio, and
//   max_abs_diff between the two results (a check that the benchmark measures a working product;
//   0 is expected, since every tile sums the whole K dimension as one sgemm would).
//   Goal: ratio >= 0.6 for F16 and BF16, ~1.0 for F32.
//
// Times are manual: the reported time is the kernel's alone. After the table, stderr gets one
// goal line per benchmark (stderr, so that --benchmark_format=json on stdout stays parseable).
// The machine this runs on may be shared: note its load next to the figures.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench_context.h"
#include "common/stream_sum.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/core/half.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/kernels/kernels.h"

namespace tenpak {
namespace {

constexpr size_t kCacheLine = 64;
constexpr size_t kDecodeBufferBytes = size_t{256} << 20;
constexpr int64_t kPrefillTokens = 512;
constexpr double kDecodeGoal = 0.7;
constexpr double kPrefillGoalHalf = 0.6;
constexpr double kPrefillGoalF32 = 0.9;  // "about 1.0": the same sgemm call, up to noise

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Cache-line-aligned bytes, every page written once so that no page fault lands in a timed loop.
class AlignedBytes {
public:
    explicit AlignedBytes(size_t bytes)
        : size_((bytes + kCacheLine - 1) / kCacheLine * kCacheLine),
          data_(static_cast<char*>(std::aligned_alloc(kCacheLine, size_))) {
        std::memset(data_.get(), 0, size_);
    }
    char* data() { return data_.get(); }
    const char* data() const { return data_.get(); }
    size_t size() const { return size_; }

private:
    struct Free {
        void operator()(char* p) const { std::free(p); }
    };
    size_t size_;
    std::unique_ptr<char, Free> data_;
};

// ---- The streaming-read baseline (bench/common/stream_sum.h) ---------------------------------

using bench::BestStreamReader;
using bench::StreamReader;

// Reads `bytes` (a multiple of the reader's block) split across the pool like MatVec splits rows.
float StreamRead(const StreamReader& reader, ThreadPool& pool, const char* p, size_t bytes) {
    std::vector<float> partial(pool.size(), 0.0f);
    const size_t blocks = bytes / reader.block;
    pool.ParallelFor(
        blocks,
        [&](size_t begin, size_t end, size_t thread) {
            partial[thread] =
                reader.sum(reinterpret_cast<const std::byte*>(p) + begin * reader.block, (end - begin) * reader.block);
        },
        64);
    float total = 0;
    for (float s : partial) total += s;
    return total;
}

// ---- Weights ----------------------------------------------------------------------------------

size_t ElementBytes(DType dtype) {
    return dtype == DType::kF32 ? 4 : 2;
}

std::string WeightTypeName(DType dtype) {
    return dtype == DType::kF32 ? "F32" : dtype == DType::kF16 ? "F16" : "BF16";
}

// Weight-like values: finite, mostly small, both signs, no subnormals.
float SampleValue(size_t i) {
    return 0.05f * std::sin(static_cast<float>(i) * 0.37f) * (1.0f + static_cast<float>(i % 7));
}

// Fills `bytes` with weights of `dtype`: one 1 MiB pattern converted once, then copied (the values
// do not matter to the speed, as long as they are ordinary numbers).
void FillWeights(DType dtype, char* dst, size_t bytes) {
    constexpr size_t kPatternBytes = size_t{1} << 20;
    const size_t count = kPatternBytes / ElementBytes(dtype);
    std::vector<float> values(count);
    for (size_t i = 0; i < count; ++i) values[i] = SampleValue(i);
    std::vector<char> pattern(kPatternBytes);
    if (dtype == DType::kF32) {
        std::memcpy(pattern.data(), values.data(), kPatternBytes);
    } else {
        std::vector<uint16_t> half(count);
        if (dtype == DType::kF16) {
            ConvertF32ToF16(values.data(), half.data(), count);
        } else {
            ConvertF32ToBF16(values.data(), half.data(), count);
        }
        std::memcpy(pattern.data(), half.data(), kPatternBytes);
    }
    for (size_t at = 0; at < bytes; at += kPatternBytes) {
        std::memcpy(dst + at, pattern.data(), std::min(kPatternBytes, bytes - at));
    }
}

// Enough copies of one matrix to cover kDecodeBufferBytes (at least two). Kept between the runs
// Google Benchmark makes of one benchmark and shared by its thread counts: filling 256+ MB each
// time would dominate the run. One set at a time, to bound memory.
struct DecodeMatrices {
    DType dtype;
    size_t rows;
    size_t cols;
    size_t matrix_bytes;
    size_t copies;
    AlignedBytes bytes;

    const char* Copy(size_t i) const { return bytes.data() + (i % copies) * matrix_bytes; }
};

const DecodeMatrices& GetDecodeMatrices(DType dtype, size_t rows, size_t cols) {
    static std::unique_ptr<DecodeMatrices> current;
    if (current == nullptr || current->dtype != dtype || current->rows != rows || current->cols != cols) {
        current.reset();  // free the previous set first
        const size_t matrix_bytes = rows * cols * ElementBytes(dtype);
        const size_t copies = std::max<size_t>(2, (kDecodeBufferBytes + matrix_bytes - 1) / matrix_bytes);
        current = std::make_unique<DecodeMatrices>(
            DecodeMatrices{dtype, rows, cols, matrix_bytes, copies, AlignedBytes(copies * matrix_bytes)});
        FillWeights(dtype, current->bytes.data(), current->bytes.size());
    }
    return *current;
}

// What each benchmark measured, for the goal lines printed after the run: the ratio of each run
// with its iteration count. Google Benchmark also calls a benchmark with fewer iterations while
// it sizes the run; only the runs with the final (largest) count are reported.
struct Measured {
    std::vector<std::pair<int64_t, double>> runs;
    double goal = 0;
    std::string what;
};

std::map<std::string, Measured>& MeasuredByName() {
    static std::map<std::string, Measured> measured;
    return measured;
}

void RecordRatio(const std::string& name, int64_t iterations, double ratio, double goal, const char* what) {
    Measured& m = MeasuredByName()[name];
    m.runs.emplace_back(iterations, ratio);
    m.goal = goal;
    m.what = what;
}

// ---- Decode -----------------------------------------------------------------------------------

using DecodeFn = void (*)(const kernels::WeightView&, const float*, float*, ThreadPool&);

void BenchDecode(benchmark::State& state, const std::string& name, DecodeFn product, DType dtype, size_t rows,
                 size_t cols, size_t threads) {
    const DecodeMatrices& m = GetDecodeMatrices(dtype, rows, cols);
    const StreamReader reader = BestStreamReader();
    ThreadPool pool(threads);
    const bool transposed = product == kernels::MatVecTransposed;
    std::vector<float> x(transposed ? rows : cols);
    std::vector<float> y(transposed ? cols : rows);
    for (size_t i = 0; i < x.size(); ++i) x[i] = SampleValue(i + 12345);
    auto view = [&](const char* data) {
        return kernels::WeightView{dtype, data, static_cast<int64_t>(rows), static_cast<int64_t>(cols)};
    };

    size_t next = 0;
    double stream_seconds = 0;
    double kernel_seconds = 0;
    float sink = 0;
    for (auto _ : state) {
        // Copies are read in turn, two per iteration. With an even number of copies the same ones
        // would always go to the same side, so the roles swap on every other pass over them: both
        // sides see the same memory (pages of one allocation can differ in speed: huge pages or
        // not, and how the host backs them).
        const bool swap = m.copies % 2 == 0 && (next / m.copies) % 2 == 1;
        const char* for_stream = m.Copy(swap ? next + 1 : next);
        const char* for_kernel = m.Copy(swap ? next : next + 1);
        next += 2;
        const auto t0 = std::chrono::steady_clock::now();
        sink += StreamRead(reader, pool, for_stream, m.matrix_bytes);
        const auto t1 = std::chrono::steady_clock::now();
        product(view(for_kernel), x.data(), y.data(), pool);
        benchmark::ClobberMemory();
        const auto t2 = std::chrono::steady_clock::now();
        stream_seconds += Seconds(t1 - t0);
        kernel_seconds += Seconds(t2 - t1);
        state.SetIterationTime(Seconds(t2 - t1));
    }
    benchmark::DoNotOptimize(sink);
    benchmark::DoNotOptimize(y.data());

    const double iterations = static_cast<double>(state.iterations());
    const double bytes = iterations * static_cast<double>(m.matrix_bytes);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(m.matrix_bytes));
    state.counters["weight_GBps"] = bytes / kernel_seconds / 1e9;
    state.counters["stream_GBps"] = bytes / stream_seconds / 1e9;
    state.counters["ratio"] = stream_seconds / kernel_seconds;
    state.counters["matrix_MiB"] = static_cast<double>(m.matrix_bytes) / (1 << 20);
    state.counters["copies"] = static_cast<double>(m.copies);
    state.SetLabel(std::string(IsaName(kernels::SelectedKernels().isa)) + " vs " + reader.name);
    RecordRatio(name, state.iterations(), stream_seconds / kernel_seconds, kDecodeGoal,
                "weight bytes/s vs a streaming read");
}

// ---- Prefill ----------------------------------------------------------------------------------

void BenchPrefill(benchmark::State& state, const std::string& name, DType dtype, size_t rows, size_t cols,
                  size_t threads) {
    const size_t tokens = kPrefillTokens;
    AlignedBytes weights(rows * cols * ElementBytes(dtype));
    FillWeights(dtype, weights.data(), weights.size());
    // The baseline's F32 weights hold the same values.
    std::vector<float> weights_f32(rows * cols);
    if (dtype == DType::kF32) {
        std::memcpy(weights_f32.data(), weights.data(), rows * cols * sizeof(float));
    } else {
        std::vector<uint16_t> half(rows * cols);
        std::memcpy(half.data(), weights.data(), half.size() * sizeof(uint16_t));
        if (dtype == DType::kF16) {
            ConvertF16ToF32(half.data(), weights_f32.data(), half.size());
        } else {
            ConvertBF16ToF32(half.data(), weights_f32.data(), half.size());
        }
    }
    std::vector<float> x(tokens * cols);
    for (size_t i = 0; i < x.size(); ++i) x[i] = SampleValue(i + 777);
    std::vector<float> y(tokens * rows);
    std::vector<float> y_baseline(tokens * rows);

    kernels::SetBlasThreads(static_cast<int>(threads));
    ThreadPool pool(threads);
    const kernels::WeightView view{dtype, weights.data(), static_cast<int64_t>(rows), static_cast<int64_t>(cols)};
    auto baseline = [&]() {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(tokens), static_cast<int>(rows),
                    static_cast<int>(cols), 1.0f, x.data(), static_cast<int>(cols), weights_f32.data(),
                    static_cast<int>(cols), 0.0f, y_baseline.data(), static_cast<int>(rows));
    };
    // One untimed call of each: OpenBLAS starts its threads, the scratch buffer is allocated.
    baseline();
    kernels::MatMul(view, x.data(), static_cast<int64_t>(tokens), y.data(), pool);

    double baseline_seconds = 0;
    double kernel_seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        baseline();
        benchmark::ClobberMemory();
        const auto t1 = std::chrono::steady_clock::now();
        kernels::MatMul(view, x.data(), static_cast<int64_t>(tokens), y.data(), pool);
        benchmark::ClobberMemory();
        const auto t2 = std::chrono::steady_clock::now();
        baseline_seconds += Seconds(t1 - t0);
        kernel_seconds += Seconds(t2 - t1);
        state.SetIterationTime(Seconds(t2 - t1));
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(y_baseline.data());

    // The two results should agree to rounding; a large difference means the benchmark measures
    // something broken.
    double max_diff = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        max_diff = std::max(max_diff, std::abs(static_cast<double>(y[i]) - y_baseline[i]));
    }
    const double flops = 2.0 * static_cast<double>(tokens * rows * cols) * static_cast<double>(state.iterations());
    state.counters["GFLOPs"] = flops / kernel_seconds / 1e9;
    state.counters["sgemm_GFLOPs"] = flops / baseline_seconds / 1e9;
    state.counters["ratio"] = baseline_seconds / kernel_seconds;
    state.counters["max_abs_diff"] = max_diff;
    state.SetLabel(std::string(IsaName(kernels::SelectedKernels().isa)) + " vs cblas_sgemm F32");
    RecordRatio(name, state.iterations(), baseline_seconds / kernel_seconds,
                dtype == DType::kF32 ? kPrefillGoalF32 : kPrefillGoalHalf, "FLOP/s vs cblas_sgemm");
}

// ---- Registration -------------------------------------------------------------------------------

constexpr size_t kThreadCounts[] = {1, 2};
constexpr DType kDTypes[] = {DType::kF16, DType::kBF16, DType::kF32};

std::string ShapeName(size_t rows, size_t cols) {
    return std::to_string(rows) + "x" + std::to_string(cols);
}

void RegisterAll() {
    const size_t decode_shapes[][2] = {{4096, 4096}, {11008, 4096}};
    for (const auto& shape : decode_shapes) {
        for (DType dtype : kDTypes) {
            for (size_t threads : kThreadCounts) {
                const std::string name = "Decode/" + WeightTypeName(dtype) + "/" + ShapeName(shape[0], shape[1]) +
                                         "/threads:" + std::to_string(threads);
                benchmark::RegisterBenchmark(name.c_str(),
                                             [=](benchmark::State& s) {
                                                 BenchDecode(s, name, kernels::MatVec, dtype, shape[0], shape[1],
                                                             threads);
                                             })
                    ->UseManualTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
    for (size_t threads : kThreadCounts) {
        const std::string name = "DecodeT/F16/" + ShapeName(4096, 4096) + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State& s) {
                                         BenchDecode(s, name, kernels::MatVecTransposed, DType::kF16, 4096, 4096,
                                                     threads);
                                     })
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    }
    for (DType dtype : kDTypes) {
        for (size_t threads : kThreadCounts) {
            const std::string name = "Prefill/" + WeightTypeName(dtype) + "/" + ShapeName(4096, 4096) +
                                     "/tokens:" + std::to_string(kPrefillTokens) +
                                     "/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark(
                name.c_str(), [=](benchmark::State& s) { BenchPrefill(s, name, dtype, 4096, 4096, threads); })
                ->UseManualTime()
                ->MinTime(2.0)
                ->Unit(benchmark::kMillisecond);
        }
    }
}

// The median over repetitions decides; the range shows how noisy the machine was.
void PrintGoals() {
    for (const auto& [name, m] : MeasuredByName()) {
        int64_t final_iterations = 0;
        for (const auto& [iterations, ratio] : m.runs) final_iterations = std::max(final_iterations, iterations);
        std::vector<double> ratios;
        for (const auto& [iterations, ratio] : m.runs) {
            if (iterations == final_iterations) ratios.push_back(ratio);
        }
        if (ratios.empty()) continue;
        std::sort(ratios.begin(), ratios.end());
        const double median = ratios[ratios.size() / 2];
        std::fprintf(stderr, "goal: %s: %s >= %.2f; measured %.2f (median of %zu, range %.2f - %.2f): %s\n",
                     name.c_str(), m.what.c_str(), m.goal, median, ratios.size(), ratios.front(), ratios.back(),
                     median >= m.goal ? "met" : "NOT met");
    }
}

}  // namespace
}  // namespace tenpak

// kernels_bench's main (bench/CMakeLists.txt links plain benchmark::benchmark): BENCHMARK_MAIN plus
// the context section 9 of STYLE.md asks every result to carry, and the goal lines.
int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    tenpak::bench::AddContext("1 and 2 (see each benchmark's threads: suffix)");
    benchmark::AddCustomContext("tenpak_goal",
                                "Decode*: ratio >= 0.7 of a streaming read; Prefill F16/BF16: ratio >= 0.6 of "
                                "cblas_sgemm, F32 ~1.0");
    tenpak::RegisterAll();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    tenpak::PrintGoals();
    return 0;
}
