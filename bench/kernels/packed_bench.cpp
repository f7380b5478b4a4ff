// Speed of decode on packed quantized weights (PackedMatVec), against a streaming read timed in the
// same iterations. Part of kernels_bench (its main is in matvec_bench.cpp; these register
// themselves before it runs).
//
// PackedDecode/<format>/<rows>x<cols>/threads:<t>
//   formats: int4-g128 (GPTQ/AWQ: 4-bit codes, F32 scale and offset per 128 columns),
//            q4-g32 (GGUF Q4_0/Q4_1: the same per 32 columns), nf4-b64 (bitsandbytes nf4: a 16-entry
//            table, one scale per 64 columns), int8-row (bitsandbytes LLM.int8: 8-bit codes, one
//            scale and offset per row).
//   A decode product reads every packed byte once (StreamedBytes(): codes, scales, offsets), so
//   it should be bound by memory bandwidth, as F16 decode is; the baseline is the same streaming
//   read as the Decode benchmarks (bench/common/stream_sum.h) of as many bytes, split over the same
//   threads. The copies of the packed matrix together take at least 256 MiB (8x the L3), so the
//   kernel and the baseline both read from DRAM, and they swap copies on alternate passes.
//   Counters: packed_GBps (packed bytes per second, 1e9), stream_GBps, ratio = packed_GBps /
//   stream_GBps (goal >= 0.7), products_per_s (decode products per second: tokens/s if the model
//   were this one matrix), and for reference the F16 MatVec of the same shape, timed in the same
//   iterations from its own 256 MiB of copies: f16_products_per_s and vs_f16 = the packed
//   product's speed over F16's (the tokens/s a packed model gains on this matrix).
//
// After the run, stderr gets one goal line per benchmark with the median ratio over repetitions.
//
// PackedDecodeInCache/<format>/128x4096: the decode alone, one thread on one 128 x 4096 matrix that
//   stays in L2 (at most 512 KiB), timed in thread CPU time (so that other processes on a shared
//   machine count less). Counters: gweights_per_s (weights per second, 1e9) and packed_GBps. It
//   says how much faster than memory the kernel is; the goal is only measured from DRAM.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/stream_sum.h"
#include "tenpak/core/half.h"
#include "tenpak/core/thread_pool.h"
#include "tenpak/kernels/kernels.h"
#include "tenpak/kernels/packed.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kBufferBytes = size_t{256} << 20;
constexpr double kGoal = 0.7;

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

size_t RoundUp(size_t n, size_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

// Page-aligned bytes, every page written once so that no page fault lands in a timed loop.
class PageBytes {
public:
    explicit PageBytes(size_t bytes)
        : size_(RoundUp(bytes, kPage)), data_(static_cast<uint8_t*>(std::aligned_alloc(kPage, size_))) {
        std::memset(data_.get(), 0, size_);
    }
    uint8_t* data() const { return data_.get(); }
    size_t size() const { return size_; }

private:
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    size_t size_;
    std::unique_ptr<uint8_t, Free> data_;
};

// Reads `bytes` (a multiple of the reader's block) split across the pool as PackedMatVec splits rows.
float StreamRead(const bench::StreamReader& reader, ThreadPool& pool, const uint8_t* p, size_t bytes) {
    std::vector<float> partial(pool.size(), 0.0f);
    pool.ParallelFor(
        bytes / reader.block,
        [&](size_t begin, size_t end, size_t thread) {
            partial[thread] =
                reader.sum(reinterpret_cast<const std::byte*>(p) + begin * reader.block, (end - begin) * reader.block);
        },
        64);
    float total = 0;
    for (float s : partial) total += s;
    return total;
}

struct Format {
    const char* name;
    int bits;
    int64_t group;  // 0: one group per row
    bool table;     // nf4 lookup (no offsets) or affine (scales and offsets)
};

constexpr Format kFormats[] = {
    {"int4-g128", 4, 128, false},
    {"q4-g32", 4, 32, false},
    {"nf4-b64", 4, 64, true},
    {"int8-row", 8, 0, false},
};

// Copies of one packed matrix, each laid out as codes | scales | offsets (each part page-aligned),
// together at least kBufferBytes. Kept across the runs of one benchmark and shared by its thread
// counts (filling 256+ MiB each time would dominate); one set at a time, to bound memory.
class PackedCopies {
public:
    PackedCopies(const Format& format, size_t rows, size_t cols)
        : name_(format.name), rows_(rows), cols_(cols), layout_(Layout(format, rows, cols)) {
        const size_t params = static_cast<size_t>(layout_.rows) * static_cast<size_t>(layout_.cols / layout_.group);
        codes_bytes_ = RoundUp(layout_.CodeBytes(), kPage);
        params_bytes_ = RoundUp(params * sizeof(float), kPage);
        copy_bytes_ = codes_bytes_ + params_bytes_ * (format.table ? 1 : 2);
        copies_ = std::max<size_t>(2, (kBufferBytes + copy_bytes_ - 1) / copy_bytes_);
        bytes_ = std::make_unique<PageBytes>(copies_ * copy_bytes_);
        Fill(format, params);
    }

    bool Is(const Format& format, size_t rows, size_t cols) const {
        return name_ == format.name && rows_ == rows && cols_ == cols;
    }
    size_t copies() const { return copies_; }
    size_t copy_bytes() const { return copy_bytes_; }
    const uint8_t* CopyStart(size_t i) const { return bytes_->data() + (i % copies_) * copy_bytes_; }
    kernels::PackedMatrix Copy(size_t i) const {
        kernels::PackedMatrix w = layout_;
        const uint8_t* start = CopyStart(i);
        w.codes = start;
        w.scales = reinterpret_cast<const float*>(start + codes_bytes_);
        if (w.table == nullptr) w.offsets = reinterpret_cast<const float*>(start + codes_bytes_ + params_bytes_);
        return w;
    }

private:
    static kernels::PackedMatrix Layout(const Format& format, size_t rows, size_t cols) {
        kernels::PackedMatrix w;
        w.rows = static_cast<int64_t>(rows);
        w.cols = static_cast<int64_t>(cols);
        w.bits = format.bits;
        w.group = format.group == 0 ? static_cast<int64_t>(cols) : format.group;
        if (format.table) w.table = quantformat::Nf4Table().data();
        // A non-null placeholder so that StreamedBytes counts the offsets; Copy() points it home.
        static const float kPlaceholder = 0;
        if (!format.table) w.offsets = &kPlaceholder;
        return w;
    }

    // Random codes; weight-like scales (about 0.01) and offsets (-zero point * scale).
    void Fill(const Format& format, size_t params) {
        std::mt19937 rng(42);
        std::vector<uint8_t> codes(layout_.CodeBytes());
        for (auto& c : codes) c = static_cast<uint8_t>(rng());
        std::vector<float> scales(params);
        std::vector<float> offsets(params);
        const float zero = static_cast<float>(1 << (format.bits - 1));
        for (size_t i = 0; i < params; ++i) {
            scales[i] = 0.005f + 0.01f * static_cast<float>(rng() % 1000) / 1000.0f;
            offsets[i] = -zero * scales[i];
        }
        for (size_t i = 0; i < copies_; ++i) {
            uint8_t* start = bytes_->data() + i * copy_bytes_;
            std::memcpy(start, codes.data(), codes.size());
            std::memcpy(start + codes_bytes_, scales.data(), params * sizeof(float));
            if (!format.table)
                std::memcpy(start + codes_bytes_ + params_bytes_, offsets.data(), params * sizeof(float));
        }
    }

    std::string name_;
    size_t rows_;
    size_t cols_;
    kernels::PackedMatrix layout_;
    size_t codes_bytes_ = 0;
    size_t params_bytes_ = 0;
    size_t copy_bytes_ = 0;
    size_t copies_ = 0;
    std::unique_ptr<PageBytes> bytes_;
};

const PackedCopies& GetPackedCopies(const Format& format, size_t rows, size_t cols) {
    static std::unique_ptr<PackedCopies> current;
    if (current == nullptr || !current->Is(format, rows, cols)) {
        current.reset();  // free the previous set first
        current = std::make_unique<PackedCopies>(format, rows, cols);
    }
    return *current;
}

// F16 copies of the same shape, for the reference F16 MatVec.
struct F16Copies {
    size_t rows;
    size_t cols;
    size_t copies;
    PageBytes bytes;
    const uint16_t* Copy(size_t i) const {
        return reinterpret_cast<const uint16_t*>(bytes.data()) + (i % copies) * rows * cols;
    }
};

const F16Copies& GetF16Copies(size_t rows, size_t cols) {
    static std::unique_ptr<F16Copies> current;
    if (current == nullptr || current->rows != rows || current->cols != cols) {
        current.reset();
        const size_t matrix_bytes = rows * cols * sizeof(uint16_t);
        const size_t copies = std::max<size_t>(2, (kBufferBytes + matrix_bytes - 1) / matrix_bytes);
        current = std::make_unique<F16Copies>(F16Copies{rows, cols, copies, PageBytes(copies * matrix_bytes)});
        std::vector<float> values(rows * cols);
        for (size_t i = 0; i < values.size(); ++i) values[i] = 0.02f * std::sin(static_cast<float>(i) * 0.37f);
        auto* dst = reinterpret_cast<uint16_t*>(current->bytes.data());
        ConvertF32ToF16(values.data(), dst, values.size());
        for (size_t i = 1; i < copies; ++i) std::memcpy(dst + i * rows * cols, dst, matrix_bytes);
    }
    return *current;
}

// The ratios of each run with its iteration count; the goal lines use the runs with the final
// (largest) count (Google Benchmark also runs each benchmark briefly while sizing it). Printed when
// the program exits, after matvec_bench.cpp's main has printed its own.
class GoalLines {
public:
    void Record(const std::string& name, int64_t iterations, double ratio) {
        runs_[name].emplace_back(iterations, ratio);
    }
    ~GoalLines() {
        for (const auto& [name, runs] : runs_) {
            int64_t final_iterations = 0;
            for (const auto& run : runs) final_iterations = std::max(final_iterations, run.first);
            std::vector<double> ratios;
            for (const auto& [iterations, ratio] : runs) {
                if (iterations == final_iterations) ratios.push_back(ratio);
            }
            std::sort(ratios.begin(), ratios.end());
            const double median = ratios[ratios.size() / 2];
            std::fprintf(stderr,
                         "goal: %s: packed bytes/s vs a streaming read >= %.2f; measured %.2f (median of %zu, "
                         "range %.2f - %.2f): %s\n",
                         name.c_str(), kGoal, median, ratios.size(), ratios.front(), ratios.back(),
                         median >= kGoal ? "met" : "NOT met");
        }
    }

private:
    std::map<std::string, std::vector<std::pair<int64_t, double>>> runs_;
};

GoalLines& Goals() {
    static GoalLines goals;
    return goals;
}

void BenchPackedDecode(benchmark::State& state, const std::string& name, const Format& format, size_t rows, size_t cols,
                       size_t threads) {
    const PackedCopies& m = GetPackedCopies(format, rows, cols);
    const F16Copies& f16 = GetF16Copies(rows, cols);
    const bench::StreamReader reader = bench::BestStreamReader();
    ThreadPool pool(threads);
    std::vector<float> x(cols);
    for (size_t i = 0; i < cols; ++i) x[i] = std::sin(static_cast<float>(i) * 0.11f);
    std::vector<float> y(rows);
    const size_t packed_bytes = m.Copy(0).StreamedBytes();
    const size_t stream_bytes = RoundUp(packed_bytes, reader.block);  // the copy has room for it

    size_t next = 0;
    size_t next_f16 = 0;
    double stream_seconds = 0;
    double packed_seconds = 0;
    double f16_seconds = 0;
    float sink = 0;
    for (auto _ : state) {
        // As in matvec_bench.cpp: with an even number of copies the roles swap on every other
        // pass, so that the kernel and the baseline read the same pages.
        const bool swap = m.copies() % 2 == 0 && (next / m.copies()) % 2 == 1;
        const size_t for_stream = swap ? next + 1 : next;
        const size_t for_kernel = swap ? next : next + 1;
        next += 2;
        const auto t0 = std::chrono::steady_clock::now();
        sink += StreamRead(reader, pool, m.CopyStart(for_stream), stream_bytes);
        const auto t1 = std::chrono::steady_clock::now();
        kernels::PackedMatVec(m.Copy(for_kernel), x.data(), y.data(), pool);
        benchmark::ClobberMemory();
        const auto t2 = std::chrono::steady_clock::now();
        const kernels::WeightView view{DType::kF16, f16.Copy(next_f16++), static_cast<int64_t>(rows),
                                       static_cast<int64_t>(cols)};
        kernels::MatVec(view, x.data(), y.data(), pool);
        benchmark::ClobberMemory();
        const auto t3 = std::chrono::steady_clock::now();
        stream_seconds += Seconds(t1 - t0);
        packed_seconds += Seconds(t2 - t1);
        f16_seconds += Seconds(t3 - t2);
        state.SetIterationTime(Seconds(t2 - t1));
    }
    benchmark::DoNotOptimize(sink);
    benchmark::DoNotOptimize(y.data());

    const double iterations = static_cast<double>(state.iterations());
    const double packed_gbps = iterations * static_cast<double>(packed_bytes) / packed_seconds / 1e9;
    const double stream_gbps = iterations * static_cast<double>(stream_bytes) / stream_seconds / 1e9;
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(packed_bytes));
    state.counters["packed_GBps"] = packed_gbps;
    state.counters["stream_GBps"] = stream_gbps;
    state.counters["ratio"] = packed_gbps / stream_gbps;
    state.counters["products_per_s"] = iterations / packed_seconds;
    state.counters["f16_products_per_s"] = iterations / f16_seconds;
    state.counters["vs_f16"] = f16_seconds / packed_seconds;
    state.counters["packed_MiB"] = static_cast<double>(packed_bytes) / (1 << 20);
    state.counters["copies"] = static_cast<double>(m.copies());
    state.SetLabel(std::string(IsaName(SelectedIsa())) + " vs " + reader.name);
    Goals().Record(name, state.iterations(), packed_gbps / stream_gbps);
}

double ThreadSeconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void BenchPackedDecodeInCache(benchmark::State& state, const Format& format) {
    constexpr size_t kRows = 128;
    constexpr size_t kCols = 4096;
    constexpr int kCallsPerIteration = 16;
    kernels::PackedMatrix w;
    w.rows = kRows;
    w.cols = kCols;
    w.bits = format.bits;
    w.group = format.group == 0 ? static_cast<int64_t>(kCols) : format.group;
    const size_t params = kRows * kCols / static_cast<size_t>(w.group);
    std::mt19937 rng(7);
    std::vector<uint8_t> codes(w.CodeBytes());
    for (auto& c : codes) c = static_cast<uint8_t>(rng());
    std::vector<float> scales(params, 0.01f);
    std::vector<float> offsets(params, -0.08f);
    w.codes = codes.data();
    w.scales = scales.data();
    if (format.table) {
        w.table = quantformat::Nf4Table().data();
    } else {
        w.offsets = offsets.data();
    }
    std::vector<float> x(kCols);
    for (size_t i = 0; i < kCols; ++i) x[i] = std::sin(static_cast<float>(i) * 0.11f);
    std::vector<float> y(kRows);
    ThreadPool pool(1);  // runs on this thread: its CPU time is the kernel's
    double seconds = 0;
    for (auto _ : state) {
        const double t0 = ThreadSeconds();
        for (int i = 0; i < kCallsPerIteration; ++i) {
            kernels::PackedMatVec(w, x.data(), y.data(), pool);
            benchmark::ClobberMemory();
        }
        const double t1 = ThreadSeconds();
        seconds += t1 - t0;
        state.SetIterationTime(t1 - t0);
    }
    benchmark::DoNotOptimize(y.data());
    const double calls = static_cast<double>(state.iterations()) * kCallsPerIteration;
    state.counters["gweights_per_s"] = calls * static_cast<double>(kRows * kCols) / seconds / 1e9;
    state.counters["packed_GBps"] = calls * static_cast<double>(w.StreamedBytes()) / seconds / 1e9;
    state.SetLabel(std::string(IsaName(SelectedIsa())));
}

bool RegisterPackedBenchmarks() {
    Goals();  // constructed before any benchmark runs, so destroyed after main returns
    const size_t shapes[][2] = {{4096, 4096}, {11008, 4096}};
    for (const auto& shape : shapes) {
        for (const Format& format : kFormats) {
            for (size_t threads : {size_t{1}, size_t{2}}) {
                const std::string name = std::string("PackedDecode/") + format.name + "/" + std::to_string(shape[0]) +
                                         "x" + std::to_string(shape[1]) + "/threads:" + std::to_string(threads);
                benchmark::RegisterBenchmark(name.c_str(),
                                             [=, &format](benchmark::State& s) {
                                                 BenchPackedDecode(s, name, format, shape[0], shape[1], threads);
                                             })
                    ->UseManualTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
    for (const Format& format : kFormats) {
        const std::string name = std::string("PackedDecodeInCache/") + format.name + "/128x4096";
        benchmark::RegisterBenchmark(name.c_str(),
                                     [&format](benchmark::State& s) { BenchPackedDecodeInCache(s, format); })
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}

[[maybe_unused]] const bool kRegistered = RegisterPackedBenchmarks();

}  // namespace
}  // namespace tenpak
