// The projection's arithmetic on hand-worked examples (figures chosen so that each term is easy to
// follow), the GPU table and its user file.
#include "tenpak/optimize/projection.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"

namespace tenpak::optimize {
namespace {

// 1000 GB/s, 100 TFLOP/s, 10 GB, $3.60 an hour; a kernel reaching half of both.
const GpuProfile kGpu{"TEST", 10, 1000, 100, 3.6, "hand-made"};
const KernelEfficiency kKernel{"fp16", "test", 0.5, 0.5, "hand-made"};

ServingAssumptions NoOverhead() {
    ServingAssumptions a;
    a.step_overhead_ms = 0;
    a.memory_utilization = 0.9;
    a.runtime_reserve_gb = 1.0;
    a.tp_scaling_per_doubling = 0.9;
    return a;
}

ModelShape Shape() {
    ModelShape s;
    s.layers = 2;
    s.hidden = 8;
    s.kv_dim = 4;  // 2 (K and V) x 2 layers x 4 x 2 bytes = 32 bytes of KV cache per token
    s.matmul_params = 1'000'000'000;
    return s;
}

CandidateFigures Figures(std::string family, uint64_t weight_bytes, uint64_t bytes_per_token, double spread = 1.0) {
    CandidateFigures c;
    c.family = std::move(family);
    c.weight_bytes = weight_bytes;
    c.decode_bytes_per_token = bytes_per_token;
    c.latency_spread = spread;
    return c;
}

CandidateFigures Candidate(uint64_t weight_bytes) { return Figures("fp16", weight_bytes, 1'000'000'000, 1.5); }

TEST(ProjectionTest, DecodeIsBytesOverBandwidthAndCostFollowsFromTokensPerSecond) {
    const Workload w{.prompt_tokens = 100, .output_tokens = 3};
    const Projection p = Project(Candidate(4'000'000'000), kKernel, Shape(), w, kGpu, 1, NoOverhead());
    EXPECT_EQ(Shape().KvBytesPerToken(2), 32u);
    // Steps read 1e9 + 32 x {100, 101, 102} bytes at 5e11 B/s: 2.0000064, 2.00000646, 2.00000653 ms.
    EXPECT_NEAR(p.latency_p50_ms, 2.000006464, 1e-9);
    EXPECT_NEAR(p.tokens_per_s, 1e3 / 2.000006464, 1e-6);
    // p95 of the steps (interpolated: 2.000006464 + 0.9 x 6.4e-8) times the spread measured on this machine (1.5).
    EXPECT_NEAR(p.latency_p95_ms, 1.5 * 2.0000065216, 1e-9);
    // $3.60 / h = $0.001 / s; at ~500 tokens/s: ~$2 per 1M tokens.
    EXPECT_NEAR(p.cost_per_1m_tokens, 3.6 / (3600 * p.tokens_per_s) * 1e6, 1e-12);
    EXPECT_NEAR(p.cost_per_1m_tokens, 2.0000065, 1e-6);
    // Prefill: 2 x 1e9 x 100 + 2 x 2 x 8 x 100^2 FLOPs at 5e13 FLOP/s = 4.0000064 ms, longer than
    // reading the weights once (2.0000064 ms): compute-bound.
    EXPECT_NEAR(p.ttft_ms, 4.0000064, 1e-9);
    // Memory: 4 GB of weights + 32 x 103 bytes of cache + 1 GB reserve, against 10 x 0.9.
    EXPECT_NEAR(p.memory_needed_gb, 5.0000032960, 1e-12);
    EXPECT_DOUBLE_EQ(p.memory_usable_gb, 9.0);
    EXPECT_TRUE(p.fits);
}

TEST(ProjectionTest, TensorParallelSplitsMemoryAndSpeedsUpAtACost) {
    const Workload w{.prompt_tokens = 100, .output_tokens = 3};
    const Projection one = Project(Candidate(9'000'000'000), kKernel, Shape(), w, kGpu, 1, NoOverhead());
    const Projection two = Project(Candidate(9'000'000'000), kKernel, Shape(), w, kGpu, 2, NoOverhead());
    EXPECT_FALSE(one.fits);  // 9 GB + 1 GB reserve > 9 GB usable
    EXPECT_TRUE(two.fits);   // 4.5 GB + 1 GB per GPU
    EXPECT_NEAR(two.memory_needed_gb, 5.5000016480, 1e-12);
    // Two GPUs at 90% scaling: 9e11 B/s, so about 1.1111 ms a step; twice the hourly price.
    EXPECT_NEAR(two.latency_p50_ms, (1e9 + 32 * 101) / 9e11 * 1e3, 1e-9);
    EXPECT_NEAR(two.cost_per_1m_tokens, 2 * 3.6 / (3600 * two.tokens_per_s) * 1e6, 1e-12);
    EXPECT_NEAR(two.cost_per_1m_tokens / one.cost_per_1m_tokens, 2.0 / 1.8, 1e-6);  // twice the GPUs, 1.8x the speed
    EXPECT_EQ(GpuCounts(NoOverhead()), (std::vector<int>{1, 2, 4, 8}));
}

TEST(ProjectionTest, TheStepOverheadIsAFloorAndBitsandbytesFourBitDecodesSlowerThanFp16) {
    ServingAssumptions a = NoOverhead();
    a.step_overhead_ms = 0.25;
    const Workload w{.prompt_tokens = 1, .output_tokens = 1};
    CandidateFigures tiny = Candidate(1000);
    tiny.decode_bytes_per_token = 0;
    ModelShape shape = Shape();
    shape.kv_dim = 0;
    EXPECT_NEAR(Project(tiny, kKernel, shape, w, kGpu, 1, a).latency_p50_ms, 0.25, 1e-12);
    // A 7B model on an A100-80GB: FP16 reads 13.5 GB a token, NF4 about 3.9 GB (the embedding and
    // head stay F16); the published efficiencies must keep NF4 slower, as measured in practice.
    const GpuProfile a100 = BuiltinGpus()[4];
    ASSERT_EQ(a100.name, "A100-80GB");
    const CandidateFigures fp16 = Figures("fp16", 13'500'000'000, 13'500'000'000);
    const CandidateFigures nf4 = Figures("bnb4", 3'900'000'000, 3'900'000'000);
    const CandidateFigures gptq = Figures("gptq4", 3'900'000'000, 3'900'000'000);
    ModelShape llama7b;
    llama7b.layers = 32;
    llama7b.hidden = 4096;
    llama7b.kv_dim = 4096;
    llama7b.matmul_params = 6'700'000'000;
    const Workload chat{.prompt_tokens = 512, .output_tokens = 128};
    const double fp16_tps = Project(fp16, *EfficiencyOf("fp16"), llama7b, chat, a100, 1, {}).tokens_per_s;
    const double nf4_tps = Project(nf4, *EfficiencyOf("bnb4"), llama7b, chat, a100, 1, {}).tokens_per_s;
    const double gptq_tps = Project(gptq, *EfficiencyOf("gptq4"), llama7b, chat, a100, 1, {}).tokens_per_s;
    EXPECT_LT(nf4_tps, fp16_tps);
    EXPECT_GT(gptq_tps, 1.5 * fp16_tps);  // Marlin: about 2x FP16 end to end (vLLM PR 2330)
    EXPECT_FALSE(EfficiencyOf("gguf").ok());
    // T4 cannot run Marlin: AWQ falls back to the slower GEMM kernel there; GPTQ's figure stays.
    const GpuProfile t4 = BuiltinGpus()[0];
    ASSERT_EQ(t4.name, "T4");
    EXPECT_FALSE(t4.runs_marlin);
    EXPECT_EQ(EfficiencyOn("awq4", t4)->family, "awq4-gemm");
    EXPECT_EQ(EfficiencyOn("awq4", a100)->family, "awq4");
    EXPECT_EQ(EfficiencyOn("gptq4", t4)->family, "gptq4");
}

TEST(ProjectionTest, ShapeComesFromTheConfig) {
    model::ModelConfig c;
    c.architecture = "llama";
    c.hidden_size = 64;
    c.intermediate_size = 172;
    c.num_layers = 5;
    c.num_heads = 8;
    c.num_kv_heads = 4;
    c.head_dim = 8;
    c.vocab_size = 512;
    const ModelShape s = ShapeOf(c);
    EXPECT_EQ(s.kv_dim, 32);
    // Per layer: q, o (64 x 64 each), k, v (32 x 64 each), three MLP matrices (64 x 172); plus the head.
    EXPECT_EQ(s.matmul_params, 5 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 172) + 512 * 64);
}

TEST(HardwareTest, TheBuiltInTableHasTheSeedPrices) {
    const std::vector<GpuProfile>& gpus = BuiltinGpus();
    ASSERT_EQ(gpus.size(), 6u);
    auto price = [&](const std::string& name) {
        return std::find_if(gpus.begin(), gpus.end(), [&](const GpuProfile& g) { return g.name == name; })->price_per_hour;
    };
    EXPECT_DOUBLE_EQ(price("T4"), 0.50);
    EXPECT_DOUBLE_EQ(price("A10G"), 1.00);
    EXPECT_DOUBLE_EQ(price("A100-40GB"), 3.50);
    EXPECT_DOUBLE_EQ(price("A100-80GB"), 5.00);
    EXPECT_DOUBLE_EQ(price("H100"), 8.00);
    for (const GpuProfile& g : gpus) EXPECT_TRUE(g.memory_gb > 0 && g.bandwidth_gb_s > 0 && g.fp16_tflops > 0) << g.name;
}

TEST(HardwareTest, AUserFileAmendsPricesAndAddsGpus) {
    testing::TempDir dir;
    testing::WriteFile(dir.File("hw.json"),
                       R"({"gpus": {"t4": {"price_per_hour": 0.35},
                                    "L40S": {"memory_gb": 48, "bandwidth_gb_s": 864, "fp16_tflops": 362, "price_per_hour": 1.2}}})");
    Result<std::vector<GpuProfile>> gpus = ApplyHardwareFile(BuiltinGpus(), dir.File("hw.json"));
    ASSERT_TRUE(gpus.ok()) << gpus.status().message();
    ASSERT_EQ(gpus->size(), 7u);
    EXPECT_DOUBLE_EQ((*gpus)[0].price_per_hour, 0.35);
    EXPECT_DOUBLE_EQ((*gpus)[0].bandwidth_gb_s, 320);  // untouched fields stay
    EXPECT_EQ(gpus->back().name, "L40S");
    Result<std::vector<GpuProfile>> chosen = ChooseHardware(*gpus, "l40s,T4");
    ASSERT_TRUE(chosen.ok());
    EXPECT_EQ((*chosen)[0].name, "L40S");
    EXPECT_EQ(ChooseHardware(*gpus, "any")->size(), 7u);
}

TEST(HardwareTest, BadFilesAndNamesAreRefusedNamingTheField) {
    testing::TempDir dir;
    auto refused = [&](const std::string& json) {
        testing::WriteFile(dir.File("hw.json"), json);
        Result<std::vector<GpuProfile>> r = ApplyHardwareFile(BuiltinGpus(), dir.File("hw.json"));
        return r.ok() ? std::string() : r.status().message();
    };
    EXPECT_NE(refused(R"({"gpus": {"T4": {"price_per_hour": -1}}})").find("gpus.T4.price_per_hour"), std::string::npos);
    EXPECT_NE(refused(R"({"gpus": {"T4": {"price": 1}}})").find("unknown field 'price'"), std::string::npos);
    EXPECT_NE(refused(R"({"gpus": {"X1": {"price_per_hour": 1}}})").find("needs 'memory_gb'"), std::string::npos);
    EXPECT_NE(refused(R"({"gpus": {"T4": {"memory_gb": "16"}}})").find("positive number"), std::string::npos);
    EXPECT_NE(refused("{not json").find("not valid JSON"), std::string::npos);
    EXPECT_NE(refused("[1,2]").find("expected an object"), std::string::npos);
    EXPECT_FALSE(ApplyHardwareFile(BuiltinGpus(), dir.File("missing.json")).ok());
    Result<std::vector<GpuProfile>> unknown = ChooseHardware(BuiltinGpus(), "T4,V100");
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.status().message().find("'V100'"), std::string::npos);
    EXPECT_NE(unknown.status().message().find("A100-80GB"), std::string::npos);  // lists the valid names
}

}  // namespace
}  // namespace tenpak::optimize
