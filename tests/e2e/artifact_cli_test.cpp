// keygen, pack, verify, unpack and inspect end to end, and a .tnpk as the MODEL of other commands:
// the JSON scripts rely on, exit codes, and the messages tampering gets.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::ReadFile;
using testing::RunTenpak;
using testing::SampleText;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();

TEST(ArtifactCliTest, SignedPackVerifiesUnpacksAndRunsLikeTheFolder) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"keygen", "-o", dir.File("key"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["scheme"], "ed25519");

    r = RunTenpak({"pack", kBundled, "-o", dir.File("m.tnpk"), "--sign", dir.File("key"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json packed = nlohmann::json::parse(r.out);
    for (const char* key : {"id", "files", "tensors", "chunks", "raw_bytes", "stored_bytes", "compression_ratio",
                            "signed", "seconds"}) {
        EXPECT_TRUE(packed.contains(key)) << key;
    }
    EXPECT_EQ(packed["signed"], true);
    EXPECT_EQ(packed["stored_bytes"].get<uint64_t>(), fs::file_size(dir.File("m.tnpk")));

    r = RunTenpak({"verify", dir.File("m.tnpk"), "--pubkey", dir.File("key.pub"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json verified = nlohmann::json::parse(r.out);
    EXPECT_EQ(verified["id"], packed["id"]);
    EXPECT_NE(verified["signature"].get<std::string>().find("valid"), std::string::npos);

    r = RunTenpak({"unpack", dir.File("m.tnpk"), "-o", dir.File("out"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& name : testing::ListDir(kBundled)) {
        EXPECT_TRUE(ReadFile(kBundled + "/" + name) == ReadFile(dir.File("out/" + name))) << name;
    }

    r = RunTenpak({"inspect", dir.File("m.tnpk"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json inspected = nlohmann::json::parse(r.out);
    EXPECT_EQ(inspected["artifact"]["id"], packed["id"]);
    EXPECT_EQ(inspected["format"], "tnpk");
    EXPECT_EQ(inspected["architecture"], "llama");

    // The artifact is a model for eval: the same perplexity as the folder.
    const std::string text = SampleText(dir, 6000);
    const testing::CommandResult from_folder = RunTenpak({"eval", kBundled, "--text", text, "--ctx", "128", "--json"});
    const testing::CommandResult from_artifact =
        RunTenpak({"eval", dir.File("m.tnpk"), "--text", text, "--ctx", "128", "--json"});
    ASSERT_EQ(from_folder.exit_code, 0) << from_folder.err;
    ASSERT_EQ(from_artifact.exit_code, 0) << from_artifact.err;
    EXPECT_EQ(nlohmann::json::parse(from_folder.out)["perplexity"],
              nlohmann::json::parse(from_artifact.out)["perplexity"]);
}

TEST(ArtifactCliTest, QuantizedOutputPacksWithQuantizationMetadataAndQuantizesFromAnArtifact) {
    TempDir dir;
    testing::CommandResult r = RunTenpak({"pack", kBundled, "-o", dir.File("m.tnpk"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // quantize reads the artifact as its MODEL.
    r = RunTenpak({"quantize", dir.File("m.tnpk"), "--method", "rtn", "--bits", "4", "--group-size", "32", "-o",
                   dir.File("q"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunTenpak({"pack", dir.File("q"), "-o", dir.File("q.tnpk"), "--hash", "blake2b-256", "--zstd-level", "9"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunTenpak({"inspect", dir.File("q.tnpk"), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(nlohmann::json::parse(r.out)["artifact"]["id"].get<std::string>().find("blake2b-256:"), std::string::npos);
    // The manifest marks the packed GPTQ tensors.
    const std::string bytes = ReadFile(dir.File("q.tnpk"));
    EXPECT_NE(bytes.find("{\"bits\":4,\"group_size\":32,\"layout\":\"gptq\",\"part\":\"qweight\"}"), std::string::npos);
    // And the packed quantized model evaluates.
    r = RunTenpak({"eval", dir.File("q.tnpk"), "--text", SampleText(dir, 3000), "--ctx", "128", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(ArtifactCliTest, TamperingAndBadUsageExitWithTwoAndSayWhat) {
    TempDir dir;
    ASSERT_EQ(RunTenpak({"keygen", "-o", dir.File("key")}).exit_code, 0);
    ASSERT_EQ(RunTenpak({"keygen", "-o", dir.File("other")}).exit_code, 0);
    ASSERT_EQ(RunTenpak({"keygen", "--hmac", "-o", dir.File("secret")}).exit_code, 0);
    testing::CommandResult r = RunTenpak({"keygen", "-o", dir.File("key")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("never overwritten"), std::string::npos) << r.err;

    ASSERT_EQ(RunTenpak({"pack", kBundled, "-o", dir.File("m.tnpk"), "--sign", dir.File("key")}).exit_code, 0);
    r = RunTenpak({"verify", dir.File("m.tnpk"), "--pubkey", dir.File("other.pub")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not by the required key"), std::string::npos) << r.err;
    r = RunTenpak({"verify", dir.File("m.tnpk"), "--hmac-key", dir.File("secret")});
    EXPECT_EQ(r.exit_code, 2);

    ASSERT_EQ(RunTenpak({"pack", kBundled, "-o", dir.File("h.tnpk"), "--hmac-key", dir.File("secret")}).exit_code, 0);
    EXPECT_EQ(RunTenpak({"verify", dir.File("h.tnpk"), "--hmac-key", dir.File("secret")}).exit_code, 0);

    std::string bytes = ReadFile(dir.File("m.tnpk"));
    bytes[bytes.size() / 3] ^= 0x40;
    testing::WriteFile(dir.File("bad.tnpk"), bytes);
    r = RunTenpak({"verify", dir.File("bad.tnpk")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("tensor '"), std::string::npos) << r.err;
    r = RunTenpak({"unpack", dir.File("bad.tnpk"), "-o", dir.File("out")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_FALSE(fs::exists(dir.File("out")));

    testing::WriteFile(dir.File("short.tnpk"), bytes.substr(0, bytes.size() - 10));
    r = RunTenpak({"inspect", dir.File("short.tnpk")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("short.tnpk"), std::string::npos) << r.err;

    r = RunTenpak({"pack", kBundled, "-o", dir.File("x.tnpk"), "--hash", "md5"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("sha256 or blake2b-256"), std::string::npos) << r.err;
    r = RunTenpak({"pack", kBundled, "-o", dir.File("x.tnpk"), "--sign", dir.File("key.pub")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not an Ed25519 secret key"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.File("x.tnpk")));
}

}  // namespace
}  // namespace tenpak
