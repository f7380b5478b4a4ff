// The `tenpak` executable end to end: what the README promises, and what bad input gets
// (a clear message naming the file, exit code 2, nothing left behind).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace tenpak {
namespace {
using testing::RunTenpak;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();

TEST(CliTest, InspectReportsTheTrueParameterCount) {
    const testing::CommandResult r = RunTenpak({"inspect", kBundled, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["parameters"], 260032);
    EXPECT_EQ(j["format"], "hf");
    EXPECT_EQ(j["architecture"], "llama");
    EXPECT_EQ(j["config"]["num_kv_heads"], 4);
    EXPECT_EQ(j["bytes_by_dtype"]["F32"], 260032 * 4);
    EXPECT_EQ(j["vocab"]["size"], 512);
    EXPECT_FALSE(j.contains("tensors"));
}

TEST(CliTest, InspectListsTensorsOfEveryInputFormat) {
    for (const std::string& input : {kBundled, testing::SharedData("stories260K/stories260K.bin"),
                                     testing::SharedData("stories260K/gguf/stories260K-q4_k_m.gguf")}) {
        const testing::CommandResult r = RunTenpak({"inspect", input, "--json", "--tensors"});
        ASSERT_EQ(r.exit_code, 0) << input << ": " << r.err;
        const nlohmann::json j = nlohmann::json::parse(r.out);
        EXPECT_GE(j["tensors"].size(), 47u) << input;
        for (const auto& t : j["tensors"]) {  // canonical (HF) names whatever the input
            const std::string name = t["name"];
            EXPECT_TRUE(name.rfind("model.", 0) == 0 || name == "lm_head.weight") << input << ": " << name;
        }
    }
    const testing::CommandResult text = RunTenpak({"inspect", kBundled, "--tensors"});
    ASSERT_EQ(text.exit_code, 0);
    EXPECT_NE(text.out.find("260,032"), std::string::npos);
    EXPECT_NE(text.out.find("model.layers.4.mlp.down_proj.weight"), std::string::npos);
}

TEST(CliTest, ConvertRoundTripIsBitExact) {
    TempDir dir;
    testing::CommandResult r =
        RunTenpak({"convert", testing::SharedData("stories260K/stories260K.bin"), "-o", dir.File("hf")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunTenpak({"convert", dir.File("hf"), "-o", dir.File("m.gguf"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["format"], "gguf");
    r = RunTenpak({"convert", dir.File("m.gguf"), "-o", dir.File("back"), "--format", "hf"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::ReadFile(dir.File("hf/model.safetensors")),
              testing::ReadFile(dir.File("back/model.safetensors")));
    r = RunTenpak({"convert", kBundled, "-o", dir.File("half"), "--dtype", "bf16", "--max-shard-size", "300kB"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir.File("half/model-00001-of-00002.safetensors")));
    r = RunTenpak({"inspect", dir.File("half"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["bytes_by_dtype"]["BF16"], 260032 * 2);
    // A non-empty output folder is not replaced without --force, and is left as it was.
    testing::WriteFile(dir.File("hf/notes.txt"), "mine");
    r = RunTenpak({"convert", kBundled, "-o", dir.File("hf")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
    EXPECT_EQ(testing::ReadFile(dir.File("hf/notes.txt")), "mine");
    r = RunTenpak({"convert", kBundled, "-o", dir.File("hf"), "--force"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.File("hf/notes.txt")));
}

// A safetensors image from a header text and a data size.
std::string Safetensors(const std::string& header, size_t data_bytes) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + std::string(data_bytes, '\0');
}

std::string WithU64At(std::string bytes, size_t offset, uint64_t value) {
    std::memcpy(bytes.data() + offset, &value, 8);
    return bytes;
}
std::string WithU32At(std::string bytes, size_t offset, uint32_t value) {
    std::memcpy(bytes.data() + offset, &value, 4);
    return bytes;
}

struct BadInput {
    std::string name;
    std::string file;  // file name to create ("model.safetensors" goes into a folder with a config)
    std::string content;
    std::string message;  // a fragment the error must contain
};

std::vector<BadInput> BadInputs() {
    const std::string real_st = testing::ReadFile(kBundled + "/model.safetensors");
    const std::string gguf = testing::ReadFile(testing::SharedData("stories260K/gguf/stories260K-f32.gguf"));
    const std::string l2c = testing::ReadFile(testing::SharedData("stories260K/stories260K.bin"));
    const std::string entry = R"("model.norm.weight":{"dtype":"F32","shape":[64],"data_offsets":[0,256]})";
    return {
        {"truncated_safetensors", "model.safetensors", real_st.substr(0, real_st.size() / 2), "truncated"},
        {"header_past_end", "model.safetensors", WithU64At(real_st, 0, real_st.size()), "past the end"},
        {"overlapping_offsets", "model.safetensors",
         Safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                     R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                     24),
         "overlaps"},
        {"offset_out_of_range", "model.safetensors", Safetensors("{" + entry + "}", 100), "past the end"},
        {"size_mismatch", "model.safetensors",
         Safetensors(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", 16), "needs 8 bytes"},
        {"unknown_dtype", "model.safetensors",
         Safetensors(R"({"a":{"dtype":"F7","shape":[4],"data_offsets":[0,16]}})", 16), "unknown or unsupported dtype"},
        {"malformed_json", "model.safetensors", Safetensors(R"({"a":{"dtype":"F32",)", 16), "not valid JSON"},
        {"gguf_bad_magic", "m.gguf", "GGUX" + gguf.substr(4), "GGUF"},
        {"gguf_unknown_version", "m.gguf", WithU32At(gguf, 4, 9), "version"},
        {"gguf_absurd_tensor_count", "m.gguf", WithU64At(gguf, 8, uint64_t{1} << 60), "tensor"},
        {"gguf_truncated", "m.gguf", gguf.substr(0, 5000), "m.gguf"},
        {"llama2c_impossible_dim", "m.bin", WithU32At(l2c, 0, 0x7fffffff), "dim"},
        {"llama2c_truncated", "m.bin", l2c.substr(0, l2c.size() - 100), "truncated"},
        {"config_missing_key", "config.json", R"({"model_type": "llama", "vocab_size": 512})",
         "required key 'hidden_size' is missing"},
    };
}

class BadInputTest : public ::testing::TestWithParam<int> {};

TEST_P(BadInputTest, ClearErrorExitTwoNoOutput) {
    const BadInput bad = BadInputs()[static_cast<size_t>(GetParam())];
    TempDir dir;
    std::string input;
    if (bad.file == "model.safetensors" || bad.file == "config.json") {
        std::filesystem::create_directories(dir.File("in"));
        std::filesystem::copy(kBundled + "/config.json", dir.File("in/config.json"));
        std::filesystem::copy(kBundled + "/model.safetensors", dir.File("in/model.safetensors"));
        testing::WriteFile(dir.File("in/" + bad.file), bad.content);
        input = dir.File("in");
    } else {
        input = dir.File(bad.file);
        testing::WriteFile(input, bad.content);
    }
    std::filesystem::create_directories(dir.File("out"));
    for (const std::vector<std::string>& args : {std::vector<std::string>{"inspect", input},
                                                 {"convert", input, "-o", dir.File("out/m.gguf")},
                                                 {"convert", input, "-o", dir.File("out/hf")}}) {
        const testing::CommandResult r = RunTenpak(args);
        EXPECT_EQ(r.exit_code, 2) << args[0] << " " << bad.name << ": " << r.err;
        EXPECT_NE(r.err.find("tenpak: error: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(bad.message), std::string::npos) << bad.name << ": " << r.err;
        EXPECT_NE(r.err.find(bad.file == "config.json" ? "config.json" : bad.file), std::string::npos) << r.err;
        EXPECT_TRUE(testing::ListDir(dir.File("out")).empty()) << bad.name;
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::Range(0, 14), [](const ::testing::TestParamInfo<int>& p) {
    return BadInputs()[static_cast<size_t>(p.param)].name;
});

TEST(CliTest, BadUsageExitsTwo) {
    TempDir dir;
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"frobnicate"},
        {"convert", kBundled},
        {"convert", kBundled, "-o", dir.File("x"), "--dtype", "f8"},
        {"convert", kBundled, "-o", dir.File("x"), "--format", "onnx"},
        {"convert", kBundled, "-o", dir.File("x"), "--max-shard-size", "lots"},
        {"inspect", dir.File("does-not-exist")},
        {"convert", kBundled, "-o", dir.File("no/such/folder/m.gguf")},
    };
    for (const auto& args : cases) {
        const testing::CommandResult r = RunTenpak(args);
        EXPECT_EQ(r.exit_code, 2) << (args.empty() ? "(none)" : args[0]) << ": " << r.err;
        EXPECT_FALSE(r.err.empty());
    }
    EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{});
    EXPECT_EQ(RunTenpak({"--help"}).exit_code, 0);
}

}  // namespace
}  // namespace tenpak
