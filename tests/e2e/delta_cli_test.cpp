// `tenpak delta` and `tenpak delta apply` end to end on the real fine-tune pair: the JSON scripts rely
// on, lossless and budgeted modes, and the exit codes of bad flags and a wrong base.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::ReadFile;
using testing::RunTenpak;
using testing::TempDir;

const std::string kBase = testing::SharedData("finetunes/base/bf16");
const std::string kFine = testing::SharedData("finetunes/ft_partial/bf16");

TEST(DeltaCliTest, LosslessDeltaAppliesBitExact) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"delta", kFine, "--base", kBase, "-o", dir.File("d.tnpk"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json made = nlohmann::json::parse(r.out);
    EXPECT_EQ(made["mode"], "lossless");
    EXPECT_EQ(made["identical_tensors"], 28);
    EXPECT_EQ(made["differenced_tensors"], 19);
    EXPECT_EQ(made["approximated_tensors"], 0);
    EXPECT_EQ(made["delta_bytes"].get<uint64_t>(), fs::file_size(dir.File("d.tnpk")));
    r = RunTenpak({"delta", "apply", dir.File("d.tnpk"), "--base", kBase, "-o", dir.File("out"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["base_tensors_checked"], 47);
    for (const std::string& name : testing::ListDir(kFine)) {
        EXPECT_TRUE(ReadFile(kFine + "/" + name) == ReadFile(dir.File("out/" + name))) << name;
    }
}

TEST(DeltaCliTest, BudgetedDeltaIsSmallerAndReportsEachTensor) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"delta", kFine, "--base", kBase, "-o", dir.File("exact.tnpk"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const uint64_t exact = nlohmann::json::parse(r.out)["delta_bytes"];
    r = RunTenpak({"delta", kFine, "--base", kBase, "-o", dir.File("d.tnpk"), "--rel-error", "0.5", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json made = nlohmann::json::parse(r.out);
    EXPECT_EQ(made["mode"], "budgeted");
    EXPECT_GT(made["approximated_tensors"].get<int>(), 0);
    EXPECT_LE(made["worst_relative_error"].get<double>(), 0.5);
    EXPECT_LT(made["delta_bytes"].get<uint64_t>(), exact);
    size_t approximated = 0;
    for (const nlohmann::json& t : made["tensors"]) {
        if (t["mode"] != "approx") continue;
        ++approximated;
        EXPECT_TRUE(t.contains("encoder") && t.contains("params")) << t.dump();
        EXPECT_LE(t["relative_error"].get<double>(), 0.5) << t.dump();
    }
    EXPECT_EQ(approximated, made["approximated_tensors"].get<size_t>());
    r = RunTenpak({"delta", "apply", dir.File("d.tnpk"), "--base", kBase, "-o", dir.File("out")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(fs::file_size(dir.File("out/model.safetensors")), fs::file_size(kFine + "/model.safetensors"));
    // The rebuilt model is a model: it opens and its tensors are all there.
    r = RunTenpak({"inspect", dir.File("out"), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// `eval DELTA --base BASE` reads the fine-tune through the delta, without writing it: the same
// perplexity as the applied folder's.
TEST(DeltaCliTest, EvalOfADeltaWithItsBaseMatchesTheAppliedModel) {
    TempDir dir;
    for (const auto& [from, to] : {std::pair{kBase, dir.File("base")}, {kFine, dir.File("fine")}}) {
        fs::create_directories(to);
        for (const std::string& name : testing::ListDir(from)) fs::copy_file(from + "/" + name, to + "/" + name);
        for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
            fs::copy_file(testing::BundledModel() + "/" + name, to + "/" + name);
        }
    }
    const std::string text = testing::SampleText(dir, 4000);
    testing::CommandResult r =
        RunTenpak({"delta", dir.File("fine"), "--base", dir.File("base"), "-o", dir.File("d.tnpk"), "--rel-error", "0.3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunTenpak({"delta", "apply", dir.File("d.tnpk"), "--base", dir.File("base"), "-o", dir.File("out")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunTenpak({"eval", dir.File("out"), "--text", text, "--ctx", "64", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const double applied = nlohmann::json::parse(r.out)["ppl"];
    r = RunTenpak({"eval", dir.File("d.tnpk"), "--base", dir.File("base"), "--text", text, "--ctx", "64", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["ppl"].get<double>(), applied);
    // Without its base, a delta is refused with a message that asks for it; with the wrong one, the
    // first differing tensor is named.
    r = RunTenpak({"eval", dir.File("d.tnpk"), "--text", text, "--ctx", "64"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--base"), std::string::npos) << r.err;
    r = RunTenpak({"eval", dir.File("d.tnpk"), "--base", dir.File("fine"), "--text", text, "--ctx", "64"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("model.layers.3."), std::string::npos) << r.err;
}

TEST(DeltaCliTest, BadFlagsAndAWrongBaseFailClearly) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"delta", kFine, "--base", kBase, "-o", dir.File("d.tnpk"), "--rel-error", "1.5"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("rel-error"), std::string::npos) << r.err;
    r = RunTenpak({"delta", kFine, "--base", kBase, "-o", dir.File("d.tnpk"), "--rel-error", "0.1", "--lossless"});
    EXPECT_NE(r.exit_code, 0);
    r = RunTenpak({"delta", kFine, "-o", dir.File("d.tnpk")});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--base"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.File("d.tnpk")));
    ASSERT_EQ(RunTenpak({"delta", kFine, "--base", kBase, "-o", dir.File("d.tnpk")}).exit_code, 0);
    r = RunTenpak({"delta", "apply", dir.File("d.tnpk"), "--base", kFine, "-o", dir.File("out")});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("model.layers.3."), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.File("out")));
}

}  // namespace
}  // namespace tenpak
