// The chunk cache: hits, misses, damaged files, LRU eviction under a size limit, and sharing across
// artifacts (a second version of a model fetches only the chunks that changed).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "fault_server.h"
#include "model_factory.h"
#include "tenpak/artifact/packer.h"
#include "tenpak/remote/chunk_cache.h"
#include "tenpak/remote/pull.h"
#include "test_util.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::byte> Bytes(const std::string& text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return {p, p + text.size()};
}

Digest HashOf(const std::string& text) {
    return HashBytes(HashAlgorithm::kBlake2b256, std::as_bytes(std::span(text)));
}

TEST(ChunkCacheTest, KeepsChunksByHashAndDropsDamagedOnes) {
    TempDir dir;
    Result<std::shared_ptr<remote::ChunkCache>> cache = remote::ChunkCache::Open(dir.File("c"), 1 << 20);
    ASSERT_TRUE(cache.ok());
    const std::string a = "chunk a bytes";
    EXPECT_FALSE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(a)).has_value());
    (*cache)->Put(HashAlgorithm::kBlake2b256, HashOf(a), Bytes(a));
    std::optional<io::TensorData> got = (*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(a));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got->data()), got->size()), a);
    EXPECT_EQ((*cache)->hits(), 1u);
    EXPECT_EQ((*cache)->bytes(), a.size());
    // A file whose bytes no longer match its hash is a miss, and is deleted.
    const std::string hex = ToHex(HashOf(a));
    const std::string path = dir.File("c/blake2b-256/" + hex.substr(0, 2) + "/" + hex);
    ASSERT_TRUE(fs::exists(path));
    got.reset();  // (unmaps the file before it is rewritten)
    testing::WriteFile(path, "chunk A bytes");
    EXPECT_FALSE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(a)).has_value());
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ((*cache)->hits(), 1u);
    EXPECT_EQ((*cache)->misses(), 2u);
    EXPECT_EQ((*cache)->bytes(), 0u);
}

TEST(ChunkCacheTest, AChunkDamagedOnDiskIsFetchedAgainAndReplaced) {
    TempDir dir;
    artifact::PackOptions options;
    options.progress = false;
    options.chunk_size = 4096;
    Result<artifact::PackInput> input = artifact::DescribePackInput(testing::BundledModel());
    ASSERT_TRUE(input.ok());
    ASSERT_TRUE(artifact::Pack(*input, dir.File("m.tnpk"), options).ok());
    testing::FaultServer server(testing::ReadFile(dir.File("m.tnpk")));
    remote::PullOptions pull;
    pull.progress = false;
    pull.remote.cache_dir = dir.File("cache");
    ASSERT_TRUE(remote::PullArtifact(server.url(), dir.File("o1"), pull).ok());
    // Damage every cached chunk on disk.
    size_t damaged = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir.File("cache"))) {
        if (!entry.is_regular_file() || entry.file_size() == 0) continue;
        std::string bytes = testing::ReadFile(entry.path().string());
        bytes[0] ^= 1;
        testing::WriteFile(entry.path().string(), bytes);
        ++damaged;
    }
    ASSERT_GT(damaged, 0u);
    Result<remote::PullReport> again = remote::PullArtifact(server.url(), dir.File("o2"), pull);
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->chunks_from_cache, 0u);  // none usable: all fetched again
    EXPECT_TRUE(testing::ReadFile(dir.File("o2/model.safetensors")) ==
                testing::ReadFile(testing::SourcePath("models/stories260K/model.safetensors")));
    Result<remote::PullReport> third = remote::PullArtifact(server.url(), dir.File("o3"), pull);
    ASSERT_TRUE(third.ok());
    EXPECT_EQ(third->chunks_from_cache, third->chunks);  // replaced by good copies
}

TEST(ChunkCacheTest, EvictsTheLeastRecentlyUsedBeyondItsLimit) {
    TempDir dir;
    Result<std::shared_ptr<remote::ChunkCache>> cache = remote::ChunkCache::Open(dir.File("c"), 3000);
    ASSERT_TRUE(cache.ok());
    std::vector<std::string> chunks;
    for (int i = 0; i < 3; ++i) chunks.push_back(std::string(1000, static_cast<char>('a' + i)));
    for (const std::string& c : chunks) {
        (*cache)->Put(HashAlgorithm::kBlake2b256, HashOf(c), Bytes(c));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // distinct mtimes
    }
    ASSERT_TRUE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(chunks[0])).has_value());  // a: most recent now
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::string d(1000, 'd');
    (*cache)->Put(HashAlgorithm::kBlake2b256, HashOf(d), Bytes(d));
    EXPECT_LE((*cache)->bytes(), 3000u);
    EXPECT_TRUE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(chunks[0])).has_value());
    EXPECT_FALSE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(chunks[1])).has_value());  // the oldest
    EXPECT_TRUE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(chunks[2])).has_value());
    EXPECT_TRUE((*cache)->Get(HashAlgorithm::kBlake2b256, HashOf(d)).has_value());
    // Reopening measures what is there.
    Result<std::shared_ptr<remote::ChunkCache>> again = remote::ChunkCache::Open(dir.File("c"), 3000);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->bytes(), 3000u);
}

TEST(ChunkCacheTest, ASecondVersionOfAModelFetchesOnlyWhatChanged) {
    TempDir dir;
    testing::TinyLlama spec;
    spec.hidden = 64;
    spec.intermediate = 128;
    spec.layers = 4;
    testing::WriteTinyLlama(dir.File("v1"), spec);
    // v2: the same weights (same seed) with an edited config.json.
    testing::WriteTinyLlama(dir.File("v2"), spec);
    artifact::PackOptions options;
    options.progress = false;
    options.chunk_size = 4096;
    Result<artifact::PackInput> in1 = artifact::DescribePackInput(dir.File("v1"));
    ASSERT_TRUE(in1.ok());
    ASSERT_TRUE(artifact::Pack(*in1, dir.File("v1.tnpk"), options).ok());
    std::string config = testing::ReadFile(dir.File("v2/config.json"));
    config.insert(config.rfind('}'), ",\"fine_tuned\":true");
    testing::WriteFile(dir.File("v2/config.json"), config);
    Result<artifact::PackInput> in2 = artifact::DescribePackInput(dir.File("v2"));
    ASSERT_TRUE(in2.ok());
    ASSERT_TRUE(artifact::Pack(*in2, dir.File("v2.tnpk"), options).ok());

    testing::FaultServer s1(testing::ReadFile(dir.File("v1.tnpk")));
    testing::FaultServer s2(testing::ReadFile(dir.File("v2.tnpk")));
    remote::PullOptions pull;
    pull.progress = false;
    pull.remote.cache_dir = dir.File("cache");
    Result<remote::PullReport> first = remote::PullArtifact(s1.url(), dir.File("o1"), pull);
    ASSERT_TRUE(first.ok()) << first.status().message();
    Result<remote::PullReport> second = remote::PullArtifact(s2.url(), dir.File("o2"), pull);
    ASSERT_TRUE(second.ok()) << second.status().message();
    // Only config.json's chunk is new.
    EXPECT_EQ(second->chunks - second->chunks_from_cache, 1u);
    EXPECT_EQ(testing::ReadFile(dir.File("o2/config.json")), config);
    EXPECT_TRUE(testing::ReadFile(dir.File("o2/model.safetensors")) == testing::ReadFile(dir.File("v2/model.safetensors")));
}

}  // namespace
}  // namespace tenpak
