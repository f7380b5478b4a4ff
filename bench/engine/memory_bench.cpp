// Memory: the peak resident set of decoding, against what the model needs to be resident.
//
// Memory/<dtype>/after:<T>+<D>/threads:<n>
//   One iteration: open the model, create an engine of n threads with a context of T + D, run a
//   T-token prompt (T = --window, 512), decode D tokens (--decode_tokens, 64), then read the peak
//   resident set (VmHWM in /proc/self/status). The peak counts the model file's pages the process
//   has mapped and touched (all of the weights after one decode step; only the rows of the
//   embedding that were looked up) as well as its own memory: the KV cache, scratch buffers,
//   OpenBLAS's buffers, the heap.
//   Budget: the model folder's file size + the KV cache the engine allocates
//   (layers x 2 x context x kv_heads x head_dim x 4 bytes, F32 keys and values).
//   The peak is reset (writing 5 to /proc/self/clear_refs) at the start, so it does not count the
//   benchmarks that ran before in the same process, but their leftovers (heap kept by malloc,
//   threads) still count: run this benchmark in a process of its own
//   (--benchmark_filter=Memory/F16). rss_start_MB shows what was there before it began.
//   Counters (1e6 bytes):
//     peak_MB          VmHWM at the end
//     file_MB, kv_MB   the two parts of the budget; budget_MB = 1.1 x (file_MB + kv_MB)
//     ratio            peak / (file + KV). Goal (F16): <= 1.1
//     anon_MB          RssAnon at the end (the process's own memory)
//     mapped_MB        RssFile at the end (the model's pages, the executable and libraries)
//     rss_start_MB     VmRSS before the model was opened
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/engine_bench.h"
#include "tenpak/engine/engine.h"

namespace tenpak::bench::engine_bench {
namespace {

constexpr double kMemoryGoal = 1.1;

uint64_t FolderBytes(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
    uint64_t total = 0;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path, ec)) {
        if (entry.is_regular_file(ec)) total += entry.file_size(ec);
    }
    return total;
}

bool ResetPeakRss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

void BenchMemory(benchmark::State& state, const std::string& name, const std::string& path) {
    const Options& o = GetOptions();
    const int64_t context = o.window + o.decode_tokens;
    uint64_t peak = 0, anon = 0, mapped = 0, rss_start = 0, kv = 0;
    bool reset = false;
    std::string dtype;
    for (auto _ : state) {
        reset = ResetPeakRss();
        rss_start = ProcStatusBytes("VmRSS");
        const std::unique_ptr<LoadedModel> loaded = LoadModelOrSkip(state, path);
        if (!loaded) return;
        const model::Model& m = loaded->model;
        dtype = loaded->dtype_name;
        kv = KvCacheBytes(m.config, context);
        Result<std::unique_ptr<tenpak::engine::Engine>> engine =
            tenpak::engine::Engine::Create(m, tenpak::engine::EngineOptions{o.threads, context, false});
        if (!engine.ok()) {
            state.SkipWithError(engine.status().ToString().c_str());
            return;
        }
        std::vector<float> logits;
        const std::vector<int32_t> prompt = RandomTokens(o.window, m.config.vocab_size, 1);
        TP_CHECK((*engine)->Forward(prompt, o.window - 1, logits).ok());
        for (int64_t i = 0; i < o.decode_tokens; ++i) {
            const int32_t next = ArgMax(logits);
            TP_CHECK((*engine)->Forward(std::span<const int32_t>(&next, 1), 0, logits).ok());
        }
        peak = ProcStatusBytes("VmHWM");
        anon = ProcStatusBytes("RssAnon");
        mapped = ProcStatusBytes("RssFile");
    }
    const uint64_t file = FolderBytes(path);
    const double need = static_cast<double>(file + kv);
    state.counters["peak_MB"] = static_cast<double>(peak) / 1e6;
    state.counters["file_MB"] = static_cast<double>(file) / 1e6;
    state.counters["kv_MB"] = static_cast<double>(kv) / 1e6;
    state.counters["budget_MB"] = kMemoryGoal * need / 1e6;
    state.counters["ratio"] = static_cast<double>(peak) / need;
    state.counters["anon_MB"] = static_cast<double>(anon) / 1e6;
    state.counters["mapped_MB"] = static_cast<double>(mapped) / 1e6;
    state.counters["rss_start_MB"] = static_cast<double>(rss_start) / 1e6;
    std::string label = "context " + std::to_string(context);
    if (!reset) label += "; peak NOT reset (clear_refs failed): counts the whole process";
    if (rss_start > (uint64_t{256} << 20)) label += "; run alone (--benchmark_filter=Memory/...) for a clean peak";
    state.SetLabel(label);
    if (dtype == "F16") {
        RecordGoal(name, static_cast<double>(peak) / need, kMemoryGoal, true,
                   "peak RSS of decode / (file size + KV cache)");
    }
}

}  // namespace

void RegisterMemory() {
    const Options& o = GetOptions();
    for (const std::string& path : {o.model_f32, o.model_f16}) {
        if (path.empty()) continue;
        Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(path);
        if (!loaded.ok()) continue;  // RegisterPrefill reported it
        const std::string name = "Memory/" + (*loaded)->dtype_name + "/after:" + std::to_string(o.window) + "+" +
                                 std::to_string(o.decode_tokens) + "/threads:" + std::to_string(o.threads);
        benchmark::RegisterBenchmark(name.c_str(), [name, path](benchmark::State& s) { BenchMemory(s, name, path); })
            ->Iterations(1)
            ->Unit(benchmark::kSecond);
    }
}

}  // namespace tenpak::bench::engine_bench
