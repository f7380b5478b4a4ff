// engine_bench: the inference engine's speed and memory on a whole model, each against a limit of
// this machine measured in the same run. bench/engine/engine_bench.sh writes the models (random,
// TinyLlama-1.1B-shaped, F32 and F16) and runs the three parts below in the right processes.
//
//   engine_bench --model_f32=DIR --model_f16=DIR [--threads=2] [--window=512] [--decode_tokens=64]
//                [--prefill_runs=5] [Google Benchmark flags: --benchmark_filter=REGEX ...]
//
// Any Llama-family HF folder works (the shapes come from its config.json); a benchmark is
// registered only for the models given. The parts (details at the top of each file):
//
//   Prefill/<dtype>/window:512/threads:2    prefill_bench.cpp. Forward of 512 tokens from an empty
//       cache, logits of the last token only, median of --prefill_runs after a warm-up; FLOP/s
//       (PrefillFlops in engine_bench.h) against cblas_sgemm's FLOP/s on the dominant linear
//       shape (M = 512 tokens, N = intermediate, K = hidden) timed in the same iterations.
//       Goal: ratio >= 0.6.
//   Linear/<dtype>/<layers>:<rows>x<cols>/tokens:512/threads:2    prefill_bench.cpp. The kernel
//       the engine runs for each linear shape (kernels::MatMul on layer 0's weights, where they
//       are mapped) against cblas_sgemm on F32 weights of the same values. No goal: where the
//       prefill time goes.
//   Decode/<dtype>/after:512/threads:2      decode_bench.cpp. One token at a time after a
//       512-token prompt: weight bytes read per second (Engine::weight_bytes_per_token() x
//       tokens/s) against a streaming read of exactly those bytes, the model file's own mapped
//       weights, timed in the same iterations. Goal (F16): ratio >= 0.7.
//   Memory/<dtype>/after:512+64/threads:2   memory_bench.cpp. Peak RSS (VmHWM) of opening the
//       model, a 512-token prompt and 64 decoded tokens, against the model's file size plus the
//       KV cache. Goal (F16): peak <= 1.1 x (file + KV cache). Run it in a process of its own
//       (--benchmark_filter=Memory): the peak of a process counts what ran before it.
//
// After the table, stderr gets one goal line per benchmark (stderr, so that
// --benchmark_format=json on stdout stays parseable). Nothing is asserted.
#include "engine/engine_bench.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <utility>

#include "bench_context.h"
#include "common/stream_sum.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/kernels/kernels.h"

namespace tenpak::bench::engine_bench {

Options& MutableOptions() {
    static Options options;
    return options;
}

const Options& GetOptions() {
    return MutableOptions();
}

// ---- Models ----------------------------------------------------------------------------------

std::unique_ptr<LoadedModel> LoadModelOrSkip(benchmark::State& state, const std::string& path) {
    Result<std::unique_ptr<LoadedModel>> loaded = LoadModel(path);
    if (!loaded.ok()) {
        state.SkipWithError(loaded.status().ToString().c_str());
        return nullptr;
    }
    return std::move(*loaded);
}

Result<std::unique_ptr<LoadedModel>> LoadModel(const std::string& path) {
    TP_ASSIGN_OR_RETURN(model::Model opened, model::OpenModel(path));
    auto loaded = std::make_unique<LoadedModel>();
    loaded->model = std::move(opened);
    const io::TensorInfo* q = loaded->model.tensors->Find("model.layers.0.self_attn.q_proj.weight");
    if (loaded->model.config.architecture != "llama" || q == nullptr) {
        return Status::Unsupported(path + ": engine_bench runs Llama-family models (model.layers.N.self_attn...)");
    }
    loaded->dtype_name = std::string(DTypeName(q->dtype));
    for (char& ch : loaded->dtype_name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return loaded;
}

std::vector<LinearShape> LinearShapes(const model::ModelConfig& c) {
    const int64_t q_dim = c.num_heads * c.head_dim;
    const int64_t kv_dim = c.num_kv_heads * c.head_dim;
    return {
        {"q_proj", "self_attn.q_proj.weight", q_dim, c.hidden_size},
        {"k_proj", "self_attn.k_proj.weight", kv_dim, c.hidden_size},
        {"v_proj", "self_attn.v_proj.weight", kv_dim, c.hidden_size},
        {"o_proj", "self_attn.o_proj.weight", c.hidden_size, q_dim},
        {"gate_proj", "mlp.gate_proj.weight", c.intermediate_size, c.hidden_size},
        {"up_proj", "mlp.up_proj.weight", c.intermediate_size, c.hidden_size},
        {"down_proj", "mlp.down_proj.weight", c.hidden_size, c.intermediate_size},
    };
}

std::string LayerTensor(int64_t layer, const std::string& tensor) {
    return "model.layers." + std::to_string(layer) + "." + tensor;
}

ForwardFlops PrefillFlops(const model::ModelConfig& c, int64_t tokens, int64_t logit_rows) {
    double layer_params = 0;
    for (const LinearShape& s : LinearShapes(c)) layer_params += static_cast<double>(s.rows) * s.cols;
    const double t = static_cast<double>(tokens);
    ForwardFlops f;
    f.linear = 2.0 * t * layer_params * static_cast<double>(c.num_layers);
    f.head = 2.0 * static_cast<double>(logit_rows) * static_cast<double>(c.vocab_size) * c.hidden_size;
    const double attended = t * (t + 1) / 2;  // sum over positions of the attended length
    f.attention =
        static_cast<double>(c.num_layers) * 2.0 * 2.0 * static_cast<double>(c.num_heads * c.head_dim) * attended;
    return f;
}

std::vector<float> TensorAsF32(const io::TensorInfo& info, const io::TensorData& data) {
    std::vector<float> out(info.NumElements());
    const Status status =
        CastTensor(info.dtype, data.bytes(), DType::kF32,
                   {reinterpret_cast<std::byte*>(out.data()), out.size() * sizeof(float)}, info.NumElements());
    TP_CHECK(status.ok());
    return out;
}

uint64_t KvCacheBytes(const model::ModelConfig& c, int64_t context) {
    return static_cast<uint64_t>(c.num_layers) * 2 * static_cast<uint64_t>(context) *
           static_cast<uint64_t>(c.num_kv_heads * c.head_dim) * sizeof(float);
}

std::vector<int32_t> RandomTokens(int64_t count, int64_t vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
    std::vector<int32_t> tokens(static_cast<size_t>(count));
    for (int32_t& t : tokens) t = dist(rng);
    return tokens;
}

int32_t ArgMax(const std::vector<float>& logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// ---- Baselines ---------------------------------------------------------------------------------

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

double TimeSgemm(const float* x, const float* w, float* y, int64_t tokens, int64_t rows, int64_t cols) {
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(tokens), static_cast<int>(rows),
                static_cast<int>(cols), 1.0f, x, static_cast<int>(cols), w, static_cast<int>(cols), 0.0f, y,
                static_cast<int>(rows));
    benchmark::ClobberMemory();
    return Seconds(std::chrono::steady_clock::now() - t0);
}

namespace {

// Reads [begin, end) of the concatenation of `ranges`.
float ReadPart(const std::vector<std::span<const std::byte>>& ranges, uint64_t begin, uint64_t end) {
    const StreamReader reader = BestStreamReader();
    const size_t block = reader.block;
    float (*sum)(const std::byte*, size_t) = reader.sum;
    float total = 0;
    uint64_t offset = 0;  // of the current range in the concatenation
    for (const std::span<const std::byte>& range : ranges) {
        const uint64_t lo = std::max(begin, offset);
        const uint64_t hi = std::min<uint64_t>(end, offset + range.size());
        if (lo < hi) {
            const std::byte* p = range.data() + (lo - offset);
            const size_t n = static_cast<size_t>(hi - lo);
            const size_t body = n / block * block;
            total += sum(p, body);
            for (size_t i = body; i < n; ++i) total += static_cast<float>(p[i]);
        }
        offset += range.size();
        if (offset >= end) break;
    }
    return total;
}

}  // namespace

StreamRead::StreamRead(std::vector<std::span<const std::byte>> ranges, size_t threads)
    : ranges_(std::move(ranges)), pool_(threads), sums_(threads, 0.0f) {
    for (const auto& r : ranges_) bytes_ += r.size();
}

double StreamRead::Run() {
    const size_t parts = pool_.size();
    const auto t0 = std::chrono::steady_clock::now();
    pool_.ParallelFor(parts, [&](size_t begin, size_t end, size_t thread) {
        for (size_t part = begin; part < end; ++part) {
            // Part boundaries on 4 KiB, so that no page is shared between the threads.
            const uint64_t lo = bytes_ * part / parts / 4096 * 4096;
            const uint64_t hi = part + 1 == parts ? bytes_ : bytes_ * (part + 1) / parts / 4096 * 4096;
            sums_[thread] += ReadPart(ranges_, lo, hi);
        }
    });
    const double seconds = Seconds(std::chrono::steady_clock::now() - t0);
    benchmark::DoNotOptimize(sums_.data());
    return seconds;
}

const char* StreamRead::isa() const {
    return BestStreamReader().name;
}

// ---- Results ------------------------------------------------------------------------------------

double Median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

namespace {

struct Goal {
    std::vector<double> values;
    double goal = 0;
    bool at_most = false;
    std::string what;
};

std::map<std::string, Goal>& Goals() {
    static std::map<std::string, Goal> goals;
    return goals;
}

}  // namespace

void RecordGoal(const std::string& name, double value, double goal, bool at_most, const std::string& what) {
    Goal& g = Goals()[name];
    g.values.push_back(value);
    g.goal = goal;
    g.at_most = at_most;
    g.what = what;
}

void PrintGoals() {
    for (const auto& [name, g] : Goals()) {
        const double median = Median(g.values);
        const auto [lo, hi] = std::minmax_element(g.values.begin(), g.values.end());
        const bool met = g.at_most ? median <= g.goal : median >= g.goal;
        std::fprintf(stderr, "goal: %s: %s %s %.2f; measured %.3f (median of %zu, range %.3f - %.3f): %s\n",
                     name.c_str(), g.what.c_str(), g.at_most ? "<=" : ">=", g.goal, median, g.values.size(), *lo, *hi,
                     met ? "met" : "NOT met");
    }
}

uint64_t ProcStatusBytes(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(key) + ":";
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) != 0) continue;
        std::istringstream fields(line.substr(prefix.size()));
        uint64_t kb = 0;
        fields >> kb;
        return kb * 1024;
    }
    return 0;
}

}  // namespace tenpak::bench::engine_bench

namespace {

constexpr const char* kUsage =
    "engine_bench: the engine's prefill FLOP/s, decode bandwidth and memory on a whole model\n"
    "  --model_f32=DIR        a Llama HF folder with F32 weights (Prefill, Linear, Decode)\n"
    "  --model_f16=DIR        the same with F16 weights (Prefill, Linear, Decode, Memory)\n"
    "  --threads=N            engine, OpenBLAS and baseline threads (default 2)\n"
    "  --window=N             prefill tokens, and the prompt before decode (default 512)\n"
    "  --decode_tokens=N      timed decode steps (default 64)\n"
    "  --prefill_runs=N       timed forward passes after the warm-up (default 5)\n"
    "  and Google Benchmark's flags (--benchmark_filter=REGEX, --benchmark_format=json, ...).\n"
    "bench/engine/engine_bench.sh writes TinyLlama-1.1B-shaped models and runs everything.\n";

// Takes this program's own flags (--name=value or --name value) out of argv; false on a bad value.
bool ParseOwnFlags(int& argc, char** argv) {
    using tenpak::bench::engine_bench::MutableOptions;
    tenpak::bench::engine_bench::Options& o = MutableOptions();
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool matched = false;
        auto take = [&](const char* name, auto& field) {
            const std::string flag = std::string("--") + name;
            if (arg == flag && i + 1 < argc) {
                value = argv[++i];
            } else if (arg.rfind(flag + "=", 0) == 0) {
                value = arg.substr(flag.size() + 1);
            } else {
                return true;
            }
            matched = true;
            if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::string>) {
                field = value;
                return true;
            } else {
                char* end = nullptr;
                const long long n = std::strtoll(value.c_str(), &end, 10);
                if (end == value.c_str() || *end != '\0' || n < 1) return false;
                field = static_cast<std::decay_t<decltype(field)>>(n);
                return true;
            }
        };
        if (!take("model_f32", o.model_f32) || !take("model_f16", o.model_f16) || !take("threads", o.threads) ||
            !take("window", o.window) || !take("decode_tokens", o.decode_tokens) ||
            !take("prefill_runs", o.prefill_runs)) {
            std::fprintf(stderr, "engine_bench: bad value '%s' for %s\n%s", value.c_str(), arg.c_str(), kUsage);
            return false;
        }
        if (!matched) argv[out++] = argv[i];
    }
    argc = out;
    return true;
}

}  // namespace

// engine_bench's main (bench/CMakeLists.txt links plain benchmark::benchmark): the context section 9
// of STYLE.md asks for, this program's flags, and the goal lines.
int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) std::fputs(kUsage, stdout);
    }
    if (!ParseOwnFlags(argc, argv)) return 2;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    const tenpak::bench::engine_bench::Options& o = tenpak::bench::engine_bench::GetOptions();
    if (o.model_f32.empty() && o.model_f16.empty()) {
        std::fprintf(stderr, "engine_bench: no model given\n%s", kUsage);
        return 2;
    }
    tenpak::bench::AddContext(std::to_string(o.threads));
    benchmark::AddCustomContext("tenpak_model_f32", o.model_f32.empty() ? "(none)" : o.model_f32);
    benchmark::AddCustomContext("tenpak_model_f16", o.model_f16.empty() ? "(none)" : o.model_f16);
    benchmark::AddCustomContext("tenpak_openblas", openblas_get_config());
    benchmark::AddCustomContext(
        "tenpak_goal",
        "Prefill: FLOP/s >= 0.6 x cblas_sgemm's on the dominant shape; Decode F16: weight bytes/s >= 0.7 x a "
        "streaming read of the same bytes; Memory F16: peak RSS <= 1.1 x (file + KV cache)");
    tenpak::bench::engine_bench::RegisterPrefill();
    tenpak::bench::engine_bench::RegisterDecode();
    tenpak::bench::engine_bench::RegisterMemory();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    tenpak::bench::engine_bench::PrintGoals();
    return 0;
}
