// eval, generate and bench end to end: the JSON scripts rely on, and the errors bad input gets.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "model_factory.h"
#include "tenpak/io/safetensors.h"
#include "test_util.h"

namespace tenpak {
namespace {
using testing::RunTenpak;
using testing::SampleText;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();

TEST(EngineCliTest, EvalReportsEveryJsonKey) {
    TempDir dir;
    const testing::CommandResult r =
        RunTenpak({"eval", kBundled, "--text", SampleText(dir, 20000), "--ctx", "128", "--json", "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    for (const char* key : {"ppl", "mean_nll", "tokens_scored", "windows", "seconds", "tokens_per_s", "text_tokens"}) {
        EXPECT_TRUE(j.contains(key)) << key;
    }
    EXPECT_EQ(j["tokens_scored"].get<int64_t>(), j["windows"].get<int64_t>() * 63);  // 128 - 1 - 64 per window
    EXPECT_GT(j["ppl"].get<double>(), 1.0);
    EXPECT_LT(j["ppl"].get<double>(), 20.0);
    EXPECT_NEAR(std::exp(j["mean_nll"].get<double>()), j["ppl"].get<double>(), 1e-9);
}

TEST(EngineCliTest, EvalErrorsSayWhatIsMissing) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"eval", kBundled, "--text", SampleText(dir, 200), "--ctx", "256"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("tokens but one window of --ctx 256 needs 256"), std::string::npos) << r.err;

    r = RunTenpak({"eval", kBundled, "--text", dir.File("missing.txt")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("missing.txt"), std::string::npos) << r.err;

    // A llama2.c checkpoint alone in a folder: no tokenizer to be found.
    std::filesystem::create_directories(dir.File("lonely"));
    std::filesystem::copy(testing::SharedData("stories260K/stories260K.bin"), dir.File("lonely/m.bin"));
    r = RunTenpak({"eval", dir.File("lonely/m.bin"), "--text", SampleText(dir, 20000)});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("tokenizer.json, tokenizer.model"), std::string::npos) << r.err;
    // ... and it runs once one is given.
    r = RunTenpak({"eval", dir.File("lonely/m.bin"), "--tokenizer", testing::SharedData("stories260K/tok512.bin"),
                   "--text", SampleText(dir, 20000), "--ctx", "128", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;

    // Windows longer than the trained context run (rotary positions extrapolate), with a warning.
    r = RunTenpak({"eval", kBundled, "--text", SampleText(dir, 6000), "--ctx", "1024", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: --ctx 1024 is longer than the 512 tokens the model was trained on"),
              std::string::npos)
        << r.err;
}

TEST(EngineCliTest, GenerateStreamsGreedyTextAndJson) {
    const testing::CommandResult streamed =
        RunTenpak({"generate", kBundled, "--prompt", "Once upon a time", "-n", "24", "--temperature", "0"});
    ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
    EXPECT_EQ(streamed.out.rfind("Once upon a time", 0), 0u) << streamed.out;
    EXPECT_GT(streamed.out.size(), std::string("Once upon a time").size() + 20);
    const testing::CommandResult r =
        RunTenpak({"generate", kBundled, "--prompt", "Once upon a time", "-n", "24", "--temperature", "0", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["generated_tokens"], 24);
    EXPECT_EQ("Once upon a time" + j["text"].get<std::string>() + "\n", streamed.out);
    // Seeded sampling repeats itself.
    const auto a = RunTenpak({"generate", kBundled, "--prompt", "The dog", "-n", "16", "--seed", "42", "--json"});
    const auto b = RunTenpak({"generate", kBundled, "--prompt", "The dog", "-n", "16", "--seed", "42", "--json"});
    EXPECT_EQ(nlohmann::json::parse(a.out)["tokens"], nlohmann::json::parse(b.out)["tokens"]);
}

TEST(EngineCliTest, PromptLongerThanContext) {
    const std::string prompt = testing::ReadFile(testing::SourcePath("models/text/tinystories_val.txt")).substr(0, 400);
    testing::CommandResult r = RunTenpak({"generate", kBundled, "--prompt", prompt, "--ctx", "32", "-n", "4"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--truncate"), std::string::npos) << r.err;
    r = RunTenpak({"generate", kBundled, "--prompt", prompt, "--ctx", "32", "-n", "4", "--truncate"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: the prompt was cut"), std::string::npos) << r.err;
}

TEST(EngineCliTest, BenchReportsLatencyPercentiles) {
    const testing::CommandResult r = RunTenpak(
        {"bench", kBundled, "--prompt-tokens", "32", "--gen-tokens", "16", "--repetitions", "2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    for (const char* key : {"prefill_tokens_per_s", "decode_tokens_per_s", "ttft_ms", "latency_p50_ms",
                            "latency_p95_ms"}) {
        ASSERT_TRUE(j.contains(key)) << key;
        EXPECT_GT(j[key].get<double>(), 0) << key;
    }
    EXPECT_LE(j["latency_p50_ms"].get<double>(), j["latency_p95_ms"].get<double>());
    const testing::CommandResult bad = RunTenpak({"bench", kBundled, "--prompt-tokens", "0"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(EngineCliTest, CheckNumericsNamesTheLayer) {
    TempDir dir;
    testing::WriteTinyLlama(dir.File("m"), testing::TinyLlama{});
    const std::string path = dir.File("m/model.safetensors");
    std::string bytes = testing::ReadFile(path);
    auto header = io::ParseSafetensorsHeader(
        std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), path);
    ASSERT_TRUE(header.ok());
    for (size_t i = 0; i < header->tensors.size(); ++i) {
        if (header->tensors[i].name != "model.layers.1.mlp.up_proj.weight") continue;
        const float inf = INFINITY;
        for (int k = 0; k < 64; ++k) std::memcpy(bytes.data() + header->offsets[i] + 4 * k, &inf, 4);
    }
    testing::WriteFile(path, bytes);
    // A model without a tokenizer: bench feeds random ids, so it can run it.
    const testing::CommandResult r = RunTenpak(
        {"bench", dir.File("m"), "--prompt-tokens", "4", "--gen-tokens", "2", "--repetitions", "1", "--check-numerics"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("after layer 1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tenpak
