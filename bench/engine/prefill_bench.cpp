// Prefill: the engine's forward pass over a whole window, and the kernel behind each linear layer.
//
// Prefill/<dtype>/window:<T>/threads:<n>
//   Engine::Forward of T random tokens (T = --window, 512) from an empty cache (Reset first),
//   asking for the last token's logits only (first_logit = T - 1, as generation does), with an
//   engine of n threads (its pool and OpenBLAS). One warm-up pass, then --prefill_runs timed passes;
//   the figures are medians over those. In each iteration, before the pass, cblas_sgemm runs once on
//   every distinct linear shape of the model with F32 weights of layer 0's values (the F32
//   model's weights are used where they are mapped; F16 ones are widened once, untimed), X [T, K]:
//   the baseline, same threads, same run.
//   Counters:
//     GFLOPs           PrefillFlops(config, T, 1).total() / median pass time (engine_bench.h says
//                      what is counted), 1e9 FLOP/s
//     sgemm_GFLOPs     cblas_sgemm on the dominant shape: M = T, N = intermediate, K = hidden
//                      (gate_proj's and up_proj's; 2 M N K FLOPs / median time)
//     ratio            GFLOPs / sgemm_GFLOPs. Goal: >= 0.6
//     tokens_per_s     T / median pass time
//     pass_ms          the median pass
//     GFLOP            FLOPs of one pass, 1e9; attn_share, the attention's part of them
//     sgemm_linear_ms  what the pass's linear layers would take at sgemm's speed on their own
//                      shapes: layers x the sum of the shapes' median sgemm times (the 1-row
//                      output head is left out)
//     linear_share     sgemm_linear_ms / pass_ms: the share of the pass that the linear layers
//                      would explain if they ran at sgemm's speed; the rest is the widening of
//                      F16 tiles, attention, and the element-wise work between the products
//
// Linear/<dtype>/<names>:<rows>x<cols>/tokens:<T>/threads:<n>
//   kernels::MatMul, the call the engine makes for a linear layer in prefill, on the weights of that
//   shape where the model file maps them, against cblas_sgemm on F32 weights of the same values
//   (for an F32 model, the same call on the same weights: ratio ~1). Each iteration takes the next
//   layer's matrix (2 x layers iterations), so that the weights come from DRAM as in a forward pass,
//   not from the L3 (one layer's F16 gate_proj of a 1B model fits in it). Counters as in
//   bench/kernels/matvec_bench.cpp's Prefill: GFLOPs, sgemm_GFLOPs, ratio, max_abs_diff. No goal:
//   these show where the prefill time goes, shape by shape.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/engine_bench.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/engine/engine.h"
#include "tenpak/kernels/kernels.h"

namespace tenpak::bench::engine_bench {
namespace {

constexpr double kPrefillGoal = 0.6;

// A distinct (rows, cols) among a block's linear layers, with F32 weights for sgemm.
struct Shape {
    std::string names;   // "gate_proj,up_proj"
    std::string tensor;  // the first name's tensor in a layer: "mlp.gate_proj.weight"
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t per_layer = 0;  // how many of the block's products have this shape
};

std::vector<Shape> DistinctShapes(const model::ModelConfig& c) {
    std::vector<Shape> shapes;
    for (const LinearShape& s : LinearShapes(c)) {
        auto same = std::find_if(shapes.begin(), shapes.end(),
                                 [&](const Shape& d) { return d.rows == s.rows && d.cols == s.cols; });
        if (same != shapes.end()) {
            same->names += "," + s.name;
            ++same->per_layer;
        } else {
            shapes.push_back({s.name, s.tensor, s.rows, s.cols, 1});
        }
    }
    return shapes;
}

std::vector<float> RandomActivations(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> x(n);
    for (float& v : x) v = dist(rng);
    return x;
}

// F32 weights of a tensor for sgemm: the mapped bytes when they already are F32, else a widened copy.
struct F32Weights {
    io::TensorData data;
    std::vector<float> widened;
    const float* get() const { return widened.empty() ? reinterpret_cast<const float*>(data.data()) : widened.data(); }
};

Result<F32Weights> WeightsForSgemm(const model::Model& m, const std::string& tensor) {
    const io::TensorInfo* info = m.tensors->Find(tensor);
    if (info == nullptr) return Status::NotFound(m.origin + ": no tensor " + tensor);
    F32Weights w;
    TP_ASSIGN_OR_RETURN(w.data, m.tensors->Read(*info));
    if (info->dtype != DType::kF32) w.widened = TensorAsF32(*info, w.data);
    return w;
}

void BenchPrefill(benchmark::State& state, const std::string& name, const std::string& path) {
    const Options& o = GetOptions();
    const std::unique_ptr<LoadedModel> loaded = LoadModelOrSkip(state, path);
    if (!loaded) return;
    const model::Model& m = loaded->model;
    const model::ModelConfig& c = m.config;
    const int64_t tokens = o.window;
    Result<std::unique_ptr<tenpak::engine::Engine>> created =
        tenpak::engine::Engine::Create(m, tenpak::engine::EngineOptions{o.threads, tokens, false});
    if (!created.ok()) {
        state.SkipWithError(created.status().ToString().c_str());
        return;
    }
    tenpak::engine::Engine& engine = **created;

    // The baseline's operands: one X and Y big enough for every shape.
    const std::vector<Shape> shapes = DistinctShapes(c);
    int64_t widest_in = 0, widest_out = 0;
    std::vector<F32Weights> weights;
    for (const Shape& s : shapes) {
        widest_in = std::max(widest_in, s.cols);
        widest_out = std::max(widest_out, s.rows);
        Result<F32Weights> w = WeightsForSgemm(m, LayerTensor(0, s.tensor));
        if (!w.ok()) {
            state.SkipWithError(w.status().ToString().c_str());
            return;
        }
        weights.push_back(std::move(*w));
    }
    size_t dominant = 0;  // gate_proj's shape: M = tokens, N = intermediate, K = hidden
    for (size_t i = 0; i < shapes.size(); ++i) {
        if (shapes[i].rows == c.intermediate_size && shapes[i].cols == c.hidden_size) dominant = i;
    }
    const std::vector<float> x = RandomActivations(static_cast<size_t>(tokens * widest_in), 7);
    std::vector<float> y(static_cast<size_t>(tokens * widest_out));
    const std::vector<int32_t> prompt = RandomTokens(tokens, c.vocab_size, 1);
    std::vector<float> logits;

    auto run_baselines = [&](std::vector<std::vector<double>>* times) {
        for (size_t i = 0; i < shapes.size(); ++i) {
            const double t = TimeSgemm(x.data(), weights[i].get(), y.data(), tokens, shapes[i].rows, shapes[i].cols);
            if (times != nullptr) (*times)[i].push_back(t);
        }
    };
    auto forward = [&]() {
        engine.Reset();
        const auto t0 = std::chrono::steady_clock::now();
        const Status status = engine.Forward(prompt, tokens - 1, logits);
        const double seconds = Seconds(std::chrono::steady_clock::now() - t0);
        TP_CHECK(status.ok());
        return seconds;
    };

    // Warm-up: the model's pages are mapped in, OpenBLAS starts its threads, buffers are allocated.
    tenpak::kernels::SetBlasThreads(static_cast<int>(o.threads));
    run_baselines(nullptr);
    forward();

    std::vector<std::vector<double>> sgemm_times(shapes.size());
    std::vector<double> pass_times;
    for (auto _ : state) {
        run_baselines(&sgemm_times);
        pass_times.push_back(forward());
        state.SetIterationTime(pass_times.back());
    }
    benchmark::DoNotOptimize(logits.data());

    const ForwardFlops flops = PrefillFlops(c, tokens, 1);
    const double pass_s = Median(pass_times);
    const Shape& dom = shapes[dominant];
    const double dom_flops = 2.0 * static_cast<double>(tokens) * static_cast<double>(dom.rows) * dom.cols;
    const double dom_s = Median(sgemm_times[dominant]);
    double linear_at_sgemm_s = 0;
    for (size_t i = 0; i < shapes.size(); ++i) {
        linear_at_sgemm_s += static_cast<double>(c.num_layers * shapes[i].per_layer) * Median(sgemm_times[i]);
    }
    const double gflops = flops.total() / pass_s / 1e9;
    const double sgemm_gflops = dom_flops / dom_s / 1e9;
    state.counters["GFLOPs"] = gflops;
    state.counters["sgemm_GFLOPs"] = sgemm_gflops;
    state.counters["ratio"] = gflops / sgemm_gflops;
    state.counters["tokens_per_s"] = static_cast<double>(tokens) / pass_s;
    state.counters["pass_ms"] = pass_s * 1e3;
    state.counters["GFLOP"] = flops.total() / 1e9;
    state.counters["attn_share"] = flops.attention / flops.total();
    state.counters["sgemm_linear_ms"] = linear_at_sgemm_s * 1e3;
    state.counters["linear_share"] = linear_at_sgemm_s / pass_s;
    state.SetLabel(std::string(IsaName(tenpak::kernels::SelectedKernels().isa)) + " vs cblas_sgemm " +
                   std::to_string(tokens) + "x" + std::to_string(dom.rows) + "x" + std::to_string(dom.cols));
    RecordGoal(name, gflops / sgemm_gflops, kPrefillGoal, false,
               "forward FLOP/s vs cblas_sgemm on " + std::to_string(tokens) + "x" + std::to_string(dom.rows) + "x" +
                   std::to_string(dom.cols));
}

void BenchLinear(benchmark::State& state, const std::string& path, const Shape& shape) {
    const Options& o = GetOptions();
    const std::unique_ptr<LoadedModel> loaded = LoadModelOrSkip(state, path);
    if (!loaded) return;
    const model::Model& m = loaded->model;
    // Every layer's matrix of this shape, so that each product reads its weights from DRAM as in a
    // forward pass (one layer's F16 gate_proj of a 1B model would fit in the L3).
    std::vector<tenpak::kernels::WeightView> views;
    std::vector<io::TensorData> mapped;
    std::vector<F32Weights> baseline_w;
    for (int64_t layer = 0; layer < m.config.num_layers; ++layer) {
        const std::string name = LayerTensor(layer, shape.tensor);
        const io::TensorInfo* info = m.tensors->Find(name);
        Result<io::TensorData> data =
            info == nullptr ? Result<io::TensorData>(Status::NotFound(name)) : m.tensors->Read(*info);
        Result<F32Weights> w = WeightsForSgemm(m, name);
        if (!data.ok() || !w.ok()) {
            state.SkipWithError(("cannot read " + name).c_str());
            return;
        }
        views.push_back({info->dtype, data->data(), shape.rows, shape.cols});
        mapped.push_back(std::move(*data));
        baseline_w.push_back(std::move(*w));
    }
    const int64_t tokens = o.window;
    const std::vector<float> x = RandomActivations(static_cast<size_t>(tokens * shape.cols), 7);
    std::vector<float> y(static_cast<size_t>(tokens * shape.rows));
    std::vector<float> y_baseline(y.size());
    ThreadPool pool(o.threads);
    tenpak::kernels::SetBlasThreads(static_cast<int>(o.threads));
    for (size_t i = 0; i < views.size(); ++i) {  // warm-up: pages mapped in, buffers allocated
        TimeSgemm(x.data(), baseline_w[i].get(), y_baseline.data(), tokens, shape.rows, shape.cols);
        tenpak::kernels::MatMul(views[i], x.data(), tokens, y.data(), pool);
    }

    double baseline_s = 0;
    double kernel_s = 0;
    size_t layer = 0;
    for (auto _ : state) {
        layer = (layer + 1) % views.size();
        baseline_s += TimeSgemm(x.data(), baseline_w[layer].get(), y_baseline.data(), tokens, shape.rows, shape.cols);
        const auto t0 = std::chrono::steady_clock::now();
        tenpak::kernels::MatMul(views[layer], x.data(), tokens, y.data(), pool);
        benchmark::ClobberMemory();
        const double t = Seconds(std::chrono::steady_clock::now() - t0);
        kernel_s += t;
        state.SetIterationTime(t);
    }
    double max_diff = 0;
    for (size_t i = 0; i < y.size(); ++i) max_diff = std::max(max_diff, std::abs(double{y[i]} - y_baseline[i]));
    const double flops = 2.0 * static_cast<double>(tokens) * static_cast<double>(shape.rows) * shape.cols *
                         static_cast<double>(state.iterations());
    state.counters["GFLOPs"] = flops / kernel_s / 1e9;
    state.counters["sgemm_GFLOPs"] = flops / baseline_s / 1e9;
    state.counters["ratio"] = baseline_s / kernel_s;
    state.counters["max_abs_diff"] = max_diff;
    state.SetLabel(std::string(IsaName(tenpak::kernels::SelectedKernels().isa)) + " vs cblas_sgemm F32, " +
                   std::to_string(views.size()) + " layers in turn");
}

}  // namespace

void RegisterPrefill() {
    const Options& o = GetOptions();
    for (const std::string& path : {o.model_f32, o.model_f16}) {
        if (path.empty()) continue;
        Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(path);
        if (!loaded.ok()) {
            std::fprintf(stderr, "engine_bench: %s\n", loaded.status().ToString().c_str());
            continue;
        }
        const std::string dtype = (*loaded)->dtype_name;
        const std::string suffix = "/threads:" + std::to_string(o.threads);
        const std::string prefill = "Prefill/" + dtype + "/window:" + std::to_string(o.window) + suffix;
        benchmark::RegisterBenchmark(prefill.c_str(),
                                     [prefill, path](benchmark::State& s) { BenchPrefill(s, prefill, path); })
            ->Iterations(o.prefill_runs)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
        for (const Shape& shape : DistinctShapes((*loaded)->model.config)) {
            const std::string name = "Linear/" + dtype + "/" + shape.names + ":" + std::to_string(shape.rows) + "x" +
                                     std::to_string(shape.cols) + "/tokens:" + std::to_string(o.window) + suffix;
            benchmark::RegisterBenchmark(name.c_str(),
                                         [path, shape](benchmark::State& s) { BenchLinear(s, path, shape); })
                ->Iterations(2 * (*loaded)->model.config.num_layers)
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
        }
    }
}

}  // namespace tenpak::bench::engine_bench
