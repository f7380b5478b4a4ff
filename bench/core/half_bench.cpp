// Throughput of the F16/BF16 <-> F32 kernels (half.h), against memcpy of the same output bytes.
//
// One benchmark per conversion, kernel table (ref, avx2, avx512: those this CPU has) and size:
//   Half/<conversion>/<isa>/<size>   size = bytes of the F32 side (input or output)
// 64 MiB is far larger than any cache, so it measures DRAM bandwidth; 1 MiB and 256 KiB are
// cache-resident (on Zen 4, with 1 MiB of L2 per core, only the 256 KiB case fits in L2 with the
// memcpy baseline beside it).
//
// Each iteration copies the conversion's number of output bytes with memcpy (separate buffers)
// and then runs the conversion, timing both; the reported time is the conversion's alone
// (manual time), and the counters compare it with the memcpy timed in the same iterations:
//   bytes_per_second  output bytes written per second (the label says which kernel table)
//   memcpy_GBps       memcpy of the same output bytes, 1e9 bytes/s
//   ratio             conversion throughput / memcpy throughput (= memcpy time / conversion time)
//   traffic_GBps      input + output bytes per second of the conversion
// The goal is ratio >= 0.8 at 64 MiB. Conversions moving 12 MiB or more (input + output) use
// streaming stores, so the 64 MiB cases do and the others do not (see
// src/core/half_kernels_internal.h).
//
// The context printed before the results records the CPU features, the table TENPAK_KERNELS /
// the CPU selects, the build and the thread count (one: the kernels are single-threaded).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "bench_context.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/core/half.h"

namespace tenpak {
namespace {

constexpr size_t kCacheLine = 64;

// A cache-line-aligned buffer, written once so that no page faults land in the timed loop.
template <typename T>
class AlignedBuffer {
public:
    explicit AlignedBuffer(size_t n)
        : data_(static_cast<T*>(std::aligned_alloc(kCacheLine, RoundUp(n * sizeof(T))))), size_(n) {
        std::memset(data_.get(), 0, RoundUp(n * sizeof(T)));
    }
    T* data() { return data_.get(); }
    size_t size() const { return size_; }

private:
    static size_t RoundUp(size_t bytes) { return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine; }
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> data_;
    size_t size_;
};

// Weight-like values: finite, mostly small, both signs.
float SampleValue(size_t i) {
    return 0.05f * std::sin(static_cast<float>(i) * 0.37f) * (1.0f + (i % 7));
}

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

float Identity(float f) {
    return f;
}

// `make_input` turns a sample value into an input element (through the reference for 16-bit).
template <typename Src, typename Dst>
void BenchConvert(benchmark::State& state, Isa isa, void (*kernel)(const Src*, Dst*, size_t), Src (*make_input)(float),
                  size_t f32_bytes) {
    const size_t n = f32_bytes / sizeof(float);
    const size_t out_bytes = n * sizeof(Dst);
    AlignedBuffer<Src> src(n);
    AlignedBuffer<Dst> dst(n);
    AlignedBuffer<char> copy_src(out_bytes);
    AlignedBuffer<char> copy_dst(out_bytes);
    for (size_t i = 0; i < n; ++i) src.data()[i] = make_input(SampleValue(i));
    std::memset(copy_src.data(), 0x5A, out_bytes);

    double memcpy_seconds = 0;
    double convert_seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        std::memcpy(copy_dst.data(), copy_src.data(), out_bytes);
        benchmark::ClobberMemory();
        const auto t1 = std::chrono::steady_clock::now();
        kernel(src.data(), dst.data(), n);
        benchmark::ClobberMemory();
        const auto t2 = std::chrono::steady_clock::now();
        memcpy_seconds += Seconds(t1 - t0);
        convert_seconds += Seconds(t2 - t1);
        state.SetIterationTime(Seconds(t2 - t1));
    }
    benchmark::DoNotOptimize(dst.data());
    benchmark::DoNotOptimize(copy_dst.data());

    const auto iterations = static_cast<double>(state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(out_bytes));
    state.counters["memcpy_GBps"] = iterations * static_cast<double>(out_bytes) / memcpy_seconds / 1e9;
    state.counters["ratio"] = memcpy_seconds / convert_seconds;
    state.counters["traffic_GBps"] =
        iterations * static_cast<double>(n * (sizeof(Src) + sizeof(Dst))) / convert_seconds / 1e9;
    state.SetLabel(std::string(IsaName(isa)));
}

std::string SizeName(size_t bytes) {
    return bytes >= (size_t{1} << 20) ? std::to_string(bytes >> 20) + "MiB" : std::to_string(bytes >> 10) + "KiB";
}

void RegisterAll() {
    const size_t sizes[] = {size_t{64} << 20, size_t{1} << 20, size_t{256} << 10};
    for (Isa isa : SupportedIsas()) {
        const HalfKernels& k = HalfKernelsFor(isa);
        const std::string isa_name(IsaName(isa));
        for (size_t bytes : sizes) {
            const std::string suffix = "/" + isa_name + "/" + SizeName(bytes);
            benchmark::RegisterBenchmark(("Half/F16ToF32" + suffix).c_str(), [=](benchmark::State& s) {
                BenchConvert(s, isa, k.f16_to_f32, F32ToF16Ref, bytes);
            })->UseManualTime();
            benchmark::RegisterBenchmark(("Half/F32ToF16" + suffix).c_str(), [=](benchmark::State& s) {
                BenchConvert(s, isa, k.f32_to_f16, Identity, bytes);
            })->UseManualTime();
            benchmark::RegisterBenchmark(("Half/BF16ToF32" + suffix).c_str(), [=](benchmark::State& s) {
                BenchConvert(s, isa, k.bf16_to_f32, F32ToBF16Ref, bytes);
            })->UseManualTime();
            benchmark::RegisterBenchmark(("Half/F32ToBF16" + suffix).c_str(), [=](benchmark::State& s) {
                BenchConvert(s, isa, k.f32_to_bf16, Identity, bytes);
            })->UseManualTime();
        }
    }
}

}  // namespace
}  // namespace tenpak

// core_bench's main (bench/CMakeLists.txt links plain benchmark::benchmark): the usual
// BENCHMARK_MAIN plus the context section 9 of STYLE.md asks every result to carry.
int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    tenpak::bench::AddContext("1");
    tenpak::RegisterAll();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
