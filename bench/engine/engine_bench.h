// What the engine benchmarks (bench/engine/*_bench.cpp, one program: engine_bench) share: the
// options main parses, a Llama model's linear shapes and forward-pass FLOP count, the two baselines
// (cblas_sgemm and a streaming read, both timed in the same run as the engine) and the goal lines
// printed after the table. The definitions are in engine_bench.cpp.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tenpak/core/thread_pool.h"
#include "tenpak/io/tensor_source.h"
#include "tenpak/model/model.h"

namespace tenpak::bench::engine_bench {

// Set from the command line (engine_bench.cpp's main; `engine_bench --help` lists them).
struct Options {
    std::string model_f32;       // --model_f32=DIR: a Llama model with F32 weights
    std::string model_f16;       // --model_f16=DIR: the same shapes with F16 weights
    size_t threads = 2;          // --threads=N: engine pool, OpenBLAS and baselines alike
    int64_t window = 512;        // --window=N: prefill length, and the prompt before decode
    int64_t decode_tokens = 64;  // --decode_tokens=N: timed decode steps (Decode, Memory)
    int64_t prefill_runs = 5;    // --prefill_runs=N: timed forward passes after the warm-up one
};
const Options& GetOptions();

// Registration, one per file; each registers nothing for a model that was not given.
void RegisterPrefill();  // prefill_bench.cpp: Prefill/*, Linear/*
void RegisterDecode();   // decode_bench.cpp: Decode/*
void RegisterMemory();   // memory_bench.cpp: Memory/*

// ---- Models ----------------------------------------------------------------------------------

struct LoadedModel {
    std::string dtype_name;  // "F32", "F16" (the linear weights' dtype)
    model::Model model;
};
// Opens `path` (an HF folder); the error is the open's.
Result<std::unique_ptr<LoadedModel>> LoadModel(const std::string& path);
// LoadModel for a benchmark body: on failure marks `state` skipped with the error and returns null.
std::unique_ptr<LoadedModel> LoadModelOrSkip(benchmark::State& state, const std::string& path);

// One linear layer of a Llama block as the engine runs it: y = W x with W [rows, cols].
struct LinearShape {
    std::string name;    // q_proj, k_proj, ..., down_proj
    std::string tensor;  // its tensor in a layer: "self_attn.q_proj.weight"
    int64_t rows = 0;
    int64_t cols = 0;
};
std::vector<LinearShape> LinearShapes(const model::ModelConfig& c);
// "model.layers.<layer>.<tensor>"
std::string LayerTensor(int64_t layer, const std::string& tensor);

// FLOPs of one Forward of `tokens` tokens from an empty cache, logits of the last `logit_rows`
// only. A multiply-add is 2 FLOPs.
//   linear    = 2 x tokens x (every layer's q, k, v, o, gate, up, down parameters)
//   head      = 2 x logit_rows x vocab x hidden
//   attention = layers x 2 (Q K^T and P V) x 2 x heads x head_dim x sum_{t=1..tokens} t, i.e. the
//               causal scores only. The engine's attention computes the full tokens x tokens
//               score matrix and masks it, so it does about twice `attention`; counted here is
//               the work a causal attention needs.
// Embedding lookups, norms, rotary embeddings, SwiGLU and softmax are not counted (O(tokens x
// hidden), below 0.1 % of the total for a 1B model).
struct ForwardFlops {
    double linear = 0;
    double head = 0;
    double attention = 0;
    double total() const { return linear + head + attention; }
};
ForwardFlops PrefillFlops(const model::ModelConfig& c, int64_t tokens, int64_t logit_rows);

// A tensor's values widened to F32 (a copy).
std::vector<float> TensorAsF32(const io::TensorInfo& info, const io::TensorData& data);

// KV cache bytes the engine allocates for `context` positions (F32 keys and values, every layer).
uint64_t KvCacheBytes(const model::ModelConfig& c, int64_t context);

// Random token ids in [0, vocab), the same for the same seed.
std::vector<int32_t> RandomTokens(int64_t count, int64_t vocab, uint64_t seed);
int32_t ArgMax(const std::vector<float>& logits);

// ---- Baselines ---------------------------------------------------------------------------------

// Seconds of one cblas_sgemm computing Y[t, r] = sum_c W[r, c] X[t, c] (X [tokens, cols], W
// [rows, cols] F32, Y [tokens, rows]): the call kernels::MatMul makes for F32 weights.
double TimeSgemm(const float* x, const float* w, float* y, int64_t tokens, int64_t rows, int64_t cols);

// A streaming read of a list of byte ranges, as fast as this CPU reads memory: vector loads (the
// widest width the CPU has: GCC vector types with a target attribute, since bench files do not
// include immintrin.h) added into 8 accumulators, the ranges' concatenation split into one
// contiguous part per thread, one ParallelFor for the whole read.
class StreamRead {
public:
    StreamRead(std::vector<std::span<const std::byte>> ranges, size_t threads);
    // Reads every byte once; returns the seconds it took.
    double Run();
    uint64_t bytes() const { return bytes_; }
    const char* isa() const;

private:
    std::vector<std::span<const std::byte>> ranges_;
    uint64_t bytes_ = 0;
    ThreadPool pool_;
    std::vector<float> sums_;
};

// ---- Results ------------------------------------------------------------------------------------

// One line per benchmark after the table (stderr, so --benchmark_format=json on stdout stays
// parseable): the median of the recorded values over repetitions against the goal.
void RecordGoal(const std::string& name, double value, double goal, bool at_most, const std::string& what);
void PrintGoals();

double Median(std::vector<double> values);
double Seconds(std::chrono::steady_clock::duration d);

// A /proc/self/status field in bytes ("VmHWM", "VmRSS", "RssAnon", "RssFile"); 0 when absent.
uint64_t ProcStatusBytes(const char* key);

}  // namespace tenpak::bench::engine_bench
