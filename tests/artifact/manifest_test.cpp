// The frame and the manifest parser: what they accept, and the named errors for what they refuse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tenpak/artifact/format.h"
#include "tenpak/artifact/manifest.h"

namespace tenpak {
namespace {
using nlohmann::json;

std::span<const std::byte> Bytes(const auto& array) {
    return std::as_bytes(std::span(array));
}

TEST(FrameTest, HeaderAndFooterRoundTrip) {
    EXPECT_TRUE(artifact::DecodeHeader(Bytes(artifact::EncodeHeader()), "x").ok());
    artifact::Footer footer;
    footer.manifest_offset = 128;
    footer.manifest_size = 100;
    footer.signature_size = 20;
    footer.hash = HashAlgorithm::kSha256;
    footer.manifest_hash[0] = 0xab;
    const auto encoded = artifact::EncodeFooter(footer);
    Result<artifact::Footer> decoded = artifact::DecodeFooter(Bytes(encoded), 128 + 100 + 20 + 80, "x");
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->manifest_offset, 128u);
    EXPECT_EQ(decoded->signature_size, 20u);
    EXPECT_EQ(decoded->hash, HashAlgorithm::kSha256);
    EXPECT_EQ(decoded->manifest_hash, footer.manifest_hash);
    EXPECT_TRUE(artifact::FooterReservedAreZero(Bytes(encoded)));
    // A file of another size: the footer does not tile its end.
    EXPECT_EQ(artifact::DecodeFooter(Bytes(encoded), 1000, "x").status().code(), StatusCode::kCorruption);
}

TEST(FrameTest, BadMagicVersionAndHashIdAreNamed) {
    auto header = artifact::EncodeHeader();
    header[8] = std::byte{2};  // major version 2
    Status status = artifact::DecodeHeader(Bytes(header), "f.tnpk");
    EXPECT_EQ(status.code(), StatusCode::kUnsupported);
    EXPECT_NE(status.message().find("version 2.0"), std::string::npos) << status.message();
    header = artifact::EncodeHeader();
    header[1] = std::byte{'X'};
    EXPECT_NE(artifact::DecodeHeader(Bytes(header), "f.tnpk").message().find("bad magic"), std::string::npos);

    artifact::Footer footer;
    footer.manifest_offset = 64;
    auto encoded = artifact::EncodeFooter(footer);
    encoded[24] = std::byte{9};
    status = artifact::DecodeFooter(Bytes(encoded), 64 + 80, "f.tnpk").status();
    EXPECT_EQ(status.code(), StatusCode::kUnsupported);
    EXPECT_NE(status.message().find("hash algorithm 9"), std::string::npos);
}

// A valid manifest of one tensor in one file: two chunks of 64 + 16 bytes and a header chunk.
json ValidManifest() {
    const std::string hash(64, 'a');
    return json{{"format", "tnpk"},
                {"version", {1, 0}},
                {"hash", "blake2b-256"},
                {"chunk_size", 64},
                {"source", "files"},
                {"chunks",
                 {{{"hash", hash}, {"offset", 64}, {"raw_size", 8}, {"stored_size", 8}, {"compression", "none"}},
                  {{"hash", hash}, {"offset", 128}, {"raw_size", 64}, {"stored_size", 64}, {"compression", "none"}},
                  {{"hash", hash}, {"offset", 192}, {"raw_size", 16}, {"stored_size", 10}, {"compression", "zstd"}}}},
                {"tensors", {{{"name", "w"}, {"dtype", "F32"}, {"shape", {4, 5}}, {"nbytes", 80}, {"chunks", {1, 2}}}}},
                {"files", {{{"name", "a/w.bin"}, {"size", 88}, {"segments", {{{"chunks", {0}}}, {{"tensor", "w"}}}}}}}};
}

constexpr uint64_t kManifestOffset = 256;

Status Parse(const json& manifest) {
    return artifact::ParseManifest(manifest.dump(), kManifestOffset, "m.tnpk").status();
}

TEST(ManifestTest, ValidManifestParsesAndSerializesDeterministically) {
    Result<artifact::Manifest> m = artifact::ParseManifest(ValidManifest().dump(), kManifestOffset, "m.tnpk");
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->tensors[0].chunks, (std::vector<uint32_t>{1, 2}));
    EXPECT_EQ(m->RawBytes(), 88u);
    const std::string text = artifact::SerializeManifest(*m);
    Result<artifact::Manifest> again = artifact::ParseManifest(text, kManifestOffset, "m.tnpk");
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(artifact::SerializeManifest(*again), text);
}

TEST(ManifestTest, EveryBrokenRuleIsNamed) {
    struct Case {
        const char* what;
        std::function<void(json&)> edit;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"not json", [](json& m) { m = "x"; }, "not a JSON object"},
        {"format", [](json& m) { m["format"] = "zip"; }, "'format' is 'zip'"},
        {"major", [](json& m) { m["version"] = {2, 0}; }, "is not 1.x"},
        {"hash name", [](json& m) { m["hash"] = "md5"; }, "hash 'md5'"},
        {"chunk size", [](json& m) { m["chunk_size"] = 1; }, "chunk_size 1"},
        {"chunk hash", [](json& m) { m["chunks"][0]["hash"] = "zz"; }, "chunk 0: 'hash'"},
        {"compression", [](json& m) { m["chunks"][2]["compression"] = "lz4"; }, "compression 'lz4'"},
        {"raw stored", [](json& m) { m["chunks"][1]["stored_size"] = 60; }, "stored_size != raw_size"},
        {"offset gap", [](json& m) { m["chunks"][1]["offset"] = 192; }, "chunk 1: stored at 192"},
        {"chunk end", [](json& m) { m["chunks"][2]["stored_size"] = 100; }, "chunk 2: stored at 192"},
        {"too big", [](json& m) { m["chunks"][1]["raw_size"] = 65; m["chunks"][1]["stored_size"] = 65; },
         "raw_size 65"},
        {"dtype", [](json& m) { m["tensors"][0]["dtype"] = "F7"; }, "tensor 'w': dtype 'F7'"},
        {"nbytes", [](json& m) { m["tensors"][0]["nbytes"] = 81; }, "tensor 'w': nbytes 81"},
        {"shape", [](json& m) { m["tensors"][0]["shape"] = {-4, 5}; }, "tensor 'w': shape"},
        {"chunk index", [](json& m) { m["tensors"][0]["chunks"] = {1, 9}; }, "tensor 'w': chunk reference 9"},
        {"short middle", [](json& m) { m["tensors"][0]["chunks"] = {2, 1}; }, "only the last chunk may be shorter"},
        {"unsafe name", [](json& m) { m["files"][0]["name"] = "../etc/passwd"; }, "not a safe relative path"},
        {"absolute", [](json& m) { m["files"][0]["name"] = "/tmp/x"; }, "not a safe relative path"},
        {"size", [](json& m) { m["files"][0]["size"] = 90; }, "file 'a/w.bin': its segments hold 88 bytes"},
        {"unknown tensor", [](json& m) { m["files"][0]["segments"][1]["tensor"] = "v"; }, "names tensor 'v'"},
        {"placed twice",
         [](json& m) {
             m["files"][0]["segments"].push_back({{"tensor", "w"}});
             m["files"][0]["size"] = 168;
         },
         "placed twice"},
        {"not placed", [](json& m) { m["files"][0]["segments"].erase(1); m["files"][0]["size"] = 8; }, "is in no file"},
        {"bad segment", [](json& m) { m["files"][0]["segments"][0] = {{"bytes", 3}}; }, "is neither"},
        {"missing key", [](json& m) { m.erase("tensors"); }, "'tensors' is missing"},
    };
    for (const Case& c : cases) {
        json manifest = ValidManifest();
        c.edit(manifest);
        const Status status = Parse(manifest);
        ASSERT_FALSE(status.ok()) << c.what;
        EXPECT_NE(status.message().find(c.message), std::string::npos) << c.what << ": " << status.message();
        EXPECT_NE(status.message().find("m.tnpk: manifest"), std::string::npos) << c.what << ": " << status.message();
    }
}

TEST(ManifestTest, SafeRelativePaths) {
    EXPECT_TRUE(artifact::IsSafeRelativePath("config.json"));
    EXPECT_TRUE(artifact::IsSafeRelativePath("onnx/model.onnx"));
    for (const char* bad : {"", "/x", "a//b", "a/../b", "..", "./x", "a/", "a\\b"}) {
        EXPECT_FALSE(artifact::IsSafeRelativePath(bad)) << bad;
    }
}

TEST(HashTest, KnownDigests) {
    // RFC 7693 / FIPS 180-2 test vectors for "abc".
    const std::string abc = "abc";
    EXPECT_EQ(ToHex(HashBytes(HashAlgorithm::kSha256, std::as_bytes(std::span(abc)))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(ToHex(HashBytes(HashAlgorithm::kBlake2b256, std::as_bytes(std::span(abc)))),
              "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    Hasher pieces(HashAlgorithm::kBlake2b256);
    pieces.Update(std::string_view("a"));
    pieces.Update(std::string_view("bc"));
    EXPECT_EQ(pieces.Finish(), HashBytes(HashAlgorithm::kBlake2b256, std::as_bytes(std::span(abc))));
    EXPECT_FALSE(FromHex("abc").has_value());
    EXPECT_FALSE(FromHex("zz").has_value());
    EXPECT_EQ(*FromHex("0aFF"), (std::vector<uint8_t>{0x0a, 0xff}));
}

}  // namespace
}  // namespace tenpak
