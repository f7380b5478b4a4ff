// Decode: one token at a time, the step that decides tokens/s on a real model.
//
// Decode/<dtype>/after:<T>/threads:<n>
//   An engine of n threads with a context of T + decode_tokens + 2 positions is given a prompt of
//   T random tokens (T = --window, 512; untimed), then decodes greedily (argmax, untimed) one token
//   per iteration, --decode_tokens iterations after 2 warm-up steps: the timed steps attend over
//   T .. T + decode_tokens cached positions. A decode step reads every weight of the linear
//   layers and the output head once (Engine::weight_bytes_per_token()); the embedding row and the
//   KV cache (about 1 % of that here) are not counted.
//   The baseline, timed in each iteration just before the step: a streaming read (StreamRead in
//   engine_bench.h) of exactly the bytes the step reads, the model file's mapped weights (every
//   layer's q, k, v, o, gate, up, down and lm_head, in that order), split in n contiguous parts
//   over n threads, one ParallelFor. The same pages, so the same page size and TLB reach as the
//   engine's reads, and from DRAM: the weights are far larger than the L3.
//   Counters:
//     tokens_per_s     decode steps per second (iterations / total step time)
//     weight_GBps      weight_bytes_per_token x tokens_per_s, 1e9 bytes/s
//     stream_GBps      the baseline's bytes per second
//     ratio            weight_GBps / stream_GBps. Goal (F16): >= 0.7
//     p50_ms, p95_ms   per-step latency percentiles
//     weight_MB        weight_bytes_per_token, 1e6 bytes
//     thp_GBps         (diagnostic, no goal) the same read of a 1 GiB anonymous buffer with
//                      transparent huge pages requested (MADV_HUGEPAGE): what the reads would get
//                      with 2 MiB pages instead of the file mapping's pages
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/engine_bench.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/engine/engine.h"
#include "tenpak/engine/latency.h"
#include "tenpak/kernels/kernels.h"

namespace tenpak::bench::engine_bench {
namespace {

constexpr double kDecodeGoal = 0.7;
constexpr int64_t kWarmupSteps = 2;
constexpr size_t kThpBytes = size_t{1} << 30;
constexpr size_t kHugePage = size_t{2} << 20;

// The byte ranges a Llama decode step reads, in the order it reads them (weights.cpp's
// bytes_per_token counts the same tensors).
Result<std::vector<io::TensorData>> DecodeWeights(const model::Model& m) {
    std::vector<io::TensorData> out;
    auto add = [&](const std::string& name) -> Status {
        TP_ASSIGN_OR_RETURN(io::TensorData data, m.tensors->Read(name));
        out.push_back(std::move(data));
        return Status::Ok();
    };
    for (int64_t layer = 0; layer < m.config.num_layers; ++layer) {
        for (const LinearShape& shape : LinearShapes(m.config))
            TP_RETURN_IF_ERROR(add(LayerTensor(layer, shape.tensor)));
    }
    TP_RETURN_IF_ERROR(
        add(m.tensors->Find("lm_head.weight") != nullptr ? "lm_head.weight" : "model.embed_tokens.weight"));
    return out;
}

// A 1 GiB anonymous buffer on 2 MiB boundaries with huge pages requested, every page written.
struct ThpBuffer {
    std::byte* data = nullptr;
    ThpBuffer() {
        data = static_cast<std::byte*>(std::aligned_alloc(kHugePage, kThpBytes));
        TP_CHECK(data != nullptr);
        ::madvise(data, kThpBytes, MADV_HUGEPAGE);
        std::memset(data, 1, kThpBytes);
    }
    ~ThpBuffer() { std::free(data); }
    ThpBuffer(const ThpBuffer&) = delete;
    ThpBuffer& operator=(const ThpBuffer&) = delete;
};

void BenchDecode(benchmark::State& state, const std::string& name, const std::string& path) {
    const Options& o = GetOptions();
    const std::unique_ptr<LoadedModel> loaded = LoadModelOrSkip(state, path);
    if (!loaded) return;
    const model::Model& m = loaded->model;
    const int64_t context = o.window + kWarmupSteps + o.decode_tokens;
    Result<std::unique_ptr<tenpak::engine::Engine>> created =
        tenpak::engine::Engine::Create(m, tenpak::engine::EngineOptions{o.threads, context, false});
    Result<std::vector<io::TensorData>> weights = DecodeWeights(m);
    if (!created.ok() || !weights.ok()) {
        state.SkipWithError((created.ok() ? weights.status() : created.status()).ToString().c_str());
        return;
    }
    tenpak::engine::Engine& engine = **created;
    std::vector<std::span<const std::byte>> ranges;
    for (const io::TensorData& d : *weights) ranges.push_back(d.bytes());
    StreamRead stream(ranges, o.threads);
    const uint64_t step_bytes = engine.weight_bytes_per_token();
    if (stream.bytes() != step_bytes) {
        const std::string message = "the baseline reads " + std::to_string(stream.bytes()) +
                                    " bytes, Engine::weight_bytes_per_token() says " + std::to_string(step_bytes);
        state.SkipWithError(message.c_str());
        return;
    }
    ThpBuffer thp;
    StreamRead thp_stream({std::span<const std::byte>(thp.data, kThpBytes)}, o.threads);

    std::vector<float> logits;
    const std::vector<int32_t> prompt = RandomTokens(o.window, m.config.vocab_size, 1);
    TP_CHECK(engine.Forward(prompt, o.window - 1, logits).ok());
    int32_t next = ArgMax(logits);
    auto step = [&]() {
        const auto t0 = std::chrono::steady_clock::now();
        const Status status = engine.Forward(std::span<const int32_t>(&next, 1), 0, logits);
        const double seconds = Seconds(std::chrono::steady_clock::now() - t0);
        TP_CHECK(status.ok());
        next = ArgMax(logits);
        return seconds;
    };
    for (int64_t i = 0; i < kWarmupSteps; ++i) {
        stream.Run();
        step();
    }
    thp_stream.Run();

    double stream_s = 0;
    double thp_s = 0;
    std::vector<double> steps;
    for (auto _ : state) {
        stream_s += stream.Run();
        thp_s += thp_stream.Run();
        steps.push_back(step());
        state.SetIterationTime(steps.back());
    }
    double step_s = 0;
    for (double s : steps) step_s += s;
    const double n = static_cast<double>(steps.size());
    const double weight_gbps = static_cast<double>(step_bytes) * n / step_s / 1e9;
    const double stream_gbps = static_cast<double>(step_bytes) * n / stream_s / 1e9;
    state.counters["tokens_per_s"] = n / step_s;
    state.counters["weight_GBps"] = weight_gbps;
    state.counters["stream_GBps"] = stream_gbps;
    state.counters["ratio"] = weight_gbps / stream_gbps;
    state.counters["p50_ms"] = tenpak::engine::Percentile(steps, 50) * 1e3;
    state.counters["p95_ms"] = tenpak::engine::Percentile(steps, 95) * 1e3;
    state.counters["weight_MB"] = static_cast<double>(step_bytes) / 1e6;
    state.counters["thp_GBps"] = static_cast<double>(kThpBytes) * n / thp_s / 1e9;
    state.SetLabel(std::string(IsaName(tenpak::kernels::SelectedKernels().isa)) + " vs " + stream.isa() +
                   " of the mapped weights");
    if (loaded->dtype_name == "F16") {
        RecordGoal(name, weight_gbps / stream_gbps, kDecodeGoal, false,
                   "decode weight bytes/s vs a streaming read of the same bytes");
    }
}

}  // namespace

void RegisterDecode() {
    const Options& o = GetOptions();
    for (const std::string& path : {o.model_f32, o.model_f16}) {
        if (path.empty()) continue;
        Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(path);
        if (!loaded.ok()) continue;  // RegisterPrefill reported it
        const std::string name = "Decode/" + (*loaded)->dtype_name + "/after:" + std::to_string(o.window) +
                                 "/threads:" + std::to_string(o.threads);
        benchmark::RegisterBenchmark(name.c_str(), [name, path](benchmark::State& s) { BenchDecode(s, name, path); })
            ->Iterations(o.decode_tokens)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    }
}

}  // namespace tenpak::bench::engine_bench
