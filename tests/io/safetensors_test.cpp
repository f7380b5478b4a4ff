#include "tenpak/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace tenpak::io {
namespace {
using ::tenpak::testing::ListDir;
using ::tenpak::testing::TempDir;

// A file image: u64 header length, the header text, then `data_bytes` bytes of data.
std::string Image(const std::string& header, size_t data_bytes) {
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    out += header;
    out.append(data_bytes, '\x01');
    return out;
}

Result<SafetensorsHeader> Parse(const std::string& image) {
    return ParseSafetensorsHeader(std::span(reinterpret_cast<const std::byte*>(image.data()), image.size()),
                                  "t.safetensors");
}

void ExpectError(const std::string& image, StatusCode code, const std::string& fragment) {
    Result<SafetensorsHeader> r = Parse(image);
    ASSERT_FALSE(r.ok()) << "accepted: " << image.substr(8, 200);
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find("t.safetensors"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(SafetensorsHeaderTest, ParsesValidHeaderInOffsetOrder) {
    const std::string header =
        R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},)"
        R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"s":{"dtype":"I8","shape":[],"data_offsets":[28,29]},)"
        R"("z":{"dtype":"BF16","shape":[0,5],"data_offsets":[29,29]}})";
    Result<SafetensorsHeader> r = Parse(Image(header, 29));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->tensors.size(), 4u);
    EXPECT_EQ(r->tensors[0].name, "a");
    EXPECT_EQ(r->tensors[1].name, "b");
    EXPECT_EQ(r->tensors[1].dtype, DType::kF16);
    EXPECT_EQ(r->tensors[1].shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(r->tensors[2].name, "s");
    EXPECT_TRUE(r->tensors[2].shape.empty());
    EXPECT_EQ(r->tensors[2].nbytes, 1u);
    EXPECT_EQ(r->tensors[3].nbytes, 0u);
    EXPECT_EQ(r->offsets[1], 8 + header.size() + 16);
    EXPECT_EQ(r->metadata.at("format"), "pt");
}

TEST(SafetensorsHeaderTest, AcceptsTrailingSpacePadding) {
    std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
    header.append(7, ' ');
    EXPECT_TRUE(Parse(Image(header, 4)).ok());
}

TEST(SafetensorsHeaderTest, RejectsBadInput) {
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    ExpectError("short", StatusCode::kCorruption, "too short");
    {  // header length past the end of the file
        std::string image = Image("{" + ok_entry + "}", 8);
        const uint64_t n = 1000;
        std::memcpy(image.data(), &n, 8);
        ExpectError(image, StatusCode::kCorruption, "past the end of the file");
    }
    {  // header length over the 100 MB limit
        std::string image = Image("{}", 0);
        const uint64_t n = 200'000'000;
        std::memcpy(image.data(), &n, 8);
        ExpectError(image, StatusCode::kCorruption, "100 MB");
    }
    ExpectError(Image("{" + ok_entry, 8), StatusCode::kCorruption, "not valid JSON");
    ExpectError(Image("[1, 2]", 0), StatusCode::kCorruption, "JSON object");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2]}})", 8), StatusCode::kCorruption, "data_offsets");
    ExpectError(Image(R"({"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", 8), StatusCode::kUnsupported,
                "'a': unknown or unsupported dtype 'Q9'");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), StatusCode::kCorruption,
                "F32 [3] needs 12 bytes");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), StatusCode::kCorruption,
                "non-negative");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), StatusCode::kCorruption,
                "before begin");
    // Overlapping, holes, out of range, bytes left over.
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                      12),
                StatusCode::kCorruption, "'b': data_offsets [4, 12] overlaps");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), StatusCode::kCorruption,
                "leaves a hole");
    ExpectError(Image("{" + ok_entry + "}", 4), StatusCode::kCorruption, "past the end of the file");
    ExpectError(Image("{" + ok_entry + "}", 20), StatusCode::kCorruption, "not described");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                      8),
                StatusCode::kCorruption, "'a' appears twice");
    ExpectError(Image(R"({"__metadata__":{"format":1},)" + ok_entry + "}", 8), StatusCode::kCorruption,
                "must be a string");
    ExpectError(Image(R"({"a":{"dtype":"F32","shape":[99999999999,99999999999],"data_offsets":[0,8]}})", 8),
                StatusCode::kCorruption, "overflow");
}

TEST(SafetensorsHeaderTest, EveryTruncationOfARealFileFails) {
    const std::string image = testing::ReadFile(testing::SourcePath("models/stories260K/model.safetensors"));
    ASSERT_TRUE(Parse(image).ok());
    for (size_t cut = 0; cut < image.size(); cut += (cut < 4096 ? 1 : 997)) {
        EXPECT_FALSE(Parse(image.substr(0, cut)).ok()) << "cut at " << cut;
    }
}

std::vector<TensorInfo> MakePlan() {
    return {
        {"embed", DType::kF32, {10, 4}, 160}, {"norm", DType::kBF16, {4}, 8}, {"codes", DType::kI8, {3, 5}, 15},
        {"empty", DType::kF16, {0}, 0},       {"scalar", DType::kF64, {}, 8},
    };
}

std::string Fill(const TensorInfo& info) {
    std::string bytes(info.nbytes, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(info.name.size() * 31 + i * 7);
    return bytes;
}

std::span<const std::byte> AsBytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(SafetensorsWriterTest, RoundTripsAnyWriteOrder) {
    TempDir dir;
    const std::string path = dir.File("m.safetensors");
    auto writer = SafetensorsWriter::Create(path, {{"format", "pt"}});
    ASSERT_TRUE(writer.ok());
    const std::vector<TensorInfo> plan = MakePlan();
    ASSERT_TRUE((*writer)->Begin(plan).ok());
    for (auto it = plan.rbegin(); it != plan.rend(); ++it) {
        ASSERT_TRUE((*writer)->Write(it->name, AsBytes(Fill(*it))).ok());
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << "output visible before Finish";
    ASSERT_TRUE((*writer)->Finish().ok());

    auto reader = SafetensorsReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ((*reader)->metadata().at("format"), "pt");
    ASSERT_EQ((*reader)->tensors().size(), plan.size());
    for (const TensorInfo& info : plan) {
        const TensorInfo* found = (*reader)->Find(info.name);
        ASSERT_NE(found, nullptr) << info.name;
        EXPECT_EQ(found->dtype, info.dtype);
        EXPECT_EQ(found->shape, info.shape);
        auto data = (*reader)->Read(info.name);
        ASSERT_TRUE(data.ok());
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(data->data()), data->size()), Fill(info)) << info.name;
    }
    // Largest elements first: the F64 scalar and the F32 tensor start at 8-byte aligned offsets.
    const std::string image = testing::ReadFile(path);
    auto header = Parse(image);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->data_start % 8, 0u);
    EXPECT_EQ(header->tensors[0].dtype, DType::kF64);
}

TEST(SafetensorsWriterTest, AbandonedWriterLeavesNothing) {
    TempDir dir;
    {
        auto writer = SafetensorsWriter::Create(dir.File("m.safetensors"), {});
        ASSERT_TRUE(writer.ok());
        ASSERT_TRUE((*writer)->Begin(MakePlan()).ok());
        ASSERT_TRUE((*writer)->Write("embed", AsBytes(Fill(MakePlan()[0]))).ok());
        Status missing = (*writer)->Finish();
        EXPECT_FALSE(missing.ok());
        EXPECT_NE(missing.message().find("never written"), std::string::npos);
    }
    EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(SafetensorsWriterTest, RejectsUnplannedAndWrongSize) {
    TempDir dir;
    auto writer = SafetensorsWriter::Create(dir.File("m.safetensors"), {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Begin(MakePlan()).ok());
    EXPECT_EQ((*writer)->Write("nope", AsBytes("abcd")).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*writer)->Write("embed", AsBytes("abcd")).code(), StatusCode::kInvalidArgument);
    auto bad_plan = SafetensorsWriter::Create(dir.File("n.safetensors"), {});
    ASSERT_TRUE(bad_plan.ok());
    EXPECT_EQ((*bad_plan)->Begin({{"x", DType::kF32, {2}, 5}}).code(), StatusCode::kInvalidArgument);
    auto block = SafetensorsWriter::Create(dir.File("q.safetensors"), {});
    ASSERT_TRUE(block.ok());
    EXPECT_EQ((*block)->Begin({{"x", DType::kQ8_0, {32}, 34}}).code(), StatusCode::kUnsupported);
}

TEST(ShardedSafetensorsTest, ShardsGreedilyAndReadsBack) {
    TempDir dir;
    ShardedSafetensorsWriter::Options options;
    options.max_shard_bytes = 100;
    auto writer = ShardedSafetensorsWriter::Create(dir.path(), options);
    ASSERT_TRUE(writer.ok());
    std::vector<TensorInfo> plan = {
        {"t0", DType::kF32, {10}, 40},   {"t1", DType::kF32, {10}, 40}, {"t2", DType::kF32, {10}, 40},
        {"big", DType::kF32, {50}, 200}, {"t3", DType::kF32, {5}, 20},
    };
    ASSERT_TRUE((*writer)->Begin(plan).ok());
    for (const TensorInfo& info : plan) ASSERT_TRUE((*writer)->Write(info.name, AsBytes(Fill(info))).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    // t0+t1 fill 80 of 100 bytes; t2 would overflow, so it opens shard 2; big gets its own shard;
    // t3 cannot join big (220 > 100) and opens shard 4.
    EXPECT_EQ((*writer)->shard_names(),
              (std::vector<std::string>{"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                        "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"}));
    const nlohmann::json index = nlohmann::json::parse(testing::ReadFile(dir.File("model.safetensors.index.json")));
    EXPECT_EQ(index["metadata"]["total_size"], 340);
    EXPECT_EQ(index["weight_map"]["t1"], "model-00001-of-00004.safetensors");
    EXPECT_EQ(index["weight_map"]["t2"], "model-00002-of-00004.safetensors");
    EXPECT_EQ(index["weight_map"]["big"], "model-00003-of-00004.safetensors");
    EXPECT_EQ(index["weight_map"]["t3"], "model-00004-of-00004.safetensors");

    auto source = ShardedSafetensorsSource::Open(dir.File("model.safetensors.index.json"));
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    EXPECT_EQ((*source)->shard_count(), 4u);
    for (const TensorInfo& info : plan) {
        auto data = (*source)->Read(info.name);
        ASSERT_TRUE(data.ok());
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(data->data()), data->size()), Fill(info));
    }
}

TEST(ShardedSafetensorsTest, SingleShardIsModelSafetensorsWithoutIndex) {
    TempDir dir;
    auto writer = ShardedSafetensorsWriter::Create(dir.path(), {});
    ASSERT_TRUE(writer.ok());
    const std::vector<TensorInfo> plan = MakePlan();
    ASSERT_TRUE((*writer)->Begin(plan).ok());
    for (const TensorInfo& info : plan) ASSERT_TRUE((*writer)->Write(info.name, AsBytes(Fill(info))).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"model.safetensors"});
}

TEST(ShardedSafetensorsTest, IndexThatDisagreesWithShardsIsRejected) {
    TempDir dir;
    ShardedSafetensorsWriter::Options options;
    options.max_shard_bytes = 50;
    auto writer = ShardedSafetensorsWriter::Create(dir.path(), options);
    ASSERT_TRUE(writer.ok());
    std::vector<TensorInfo> plan = {{"a", DType::kF32, {10}, 40}, {"b", DType::kF32, {10}, 40}};
    ASSERT_TRUE((*writer)->Begin(plan).ok());
    for (const TensorInfo& info : plan) ASSERT_TRUE((*writer)->Write(info.name, AsBytes(Fill(info))).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    const std::string index_path = dir.File("model.safetensors.index.json");
    nlohmann::json index = nlohmann::json::parse(testing::ReadFile(index_path));

    nlohmann::json wrong = index;
    wrong["weight_map"]["a"] = "model-00002-of-00002.safetensors";
    testing::WriteFile(index_path, wrong.dump());
    auto r = ShardedSafetensorsSource::Open(index_path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("'a'"), std::string::npos) << r.status().message();

    wrong = index;
    wrong["weight_map"]["c"] = "model-00001-of-00002.safetensors";
    testing::WriteFile(index_path, wrong.dump());
    r = ShardedSafetensorsSource::Open(index_path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("'c'"), std::string::npos) << r.status().message();

    wrong = index;
    wrong["weight_map"]["a"] = "../escape.safetensors";
    testing::WriteFile(index_path, wrong.dump());
    EXPECT_FALSE(ShardedSafetensorsSource::Open(index_path).ok());

    testing::WriteFile(index_path, "{not json");
    r = ShardedSafetensorsSource::Open(index_path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("not valid JSON"), std::string::npos);
}

TEST(ParseByteSizeTest, UnitsAndErrors) {
    EXPECT_EQ(*ParseByteSize("5GB"), 5'000'000'000u);
    EXPECT_EQ(*ParseByteSize("500MB"), 500'000'000u);
    EXPECT_EQ(*ParseByteSize("2GiB"), 2147483648u);
    EXPECT_EQ(*ParseByteSize("1.5kb"), 1500u);
    EXPECT_EQ(*ParseByteSize("12345"), 12345u);
    EXPECT_FALSE(ParseByteSize("GB").ok());
    EXPECT_FALSE(ParseByteSize("5XB").ok());
    EXPECT_FALSE(ParseByteSize("1.2.3GB").ok());
    EXPECT_FALSE(ParseByteSize("0").ok());
}

}  // namespace
}  // namespace tenpak::io
