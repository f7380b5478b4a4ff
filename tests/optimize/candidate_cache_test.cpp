// The optimizer cache's memo of model digests (CandidateCache::ModelDigestOf): a second lookup on
// unchanged files reads no tensors and gives the same digest as hashing them; a changed, added or
// refreshed file hashes again.
#include "tenpak/optimize/candidate_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "model_factory.h"
#include "test_util.h"

namespace tenpak::optimize {
namespace {
namespace fs = std::filesystem;

model::Model OpenOrDie(const std::string& path) {
    auto m = model::OpenModel(path);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    return std::move(m).value();
}

TEST(CandidateCacheTest, ModelDigestIsRememberedUntilAFileChanges) {
    testing::TempDir dir;
    testing::TinyLlama spec;
    testing::WriteTinyLlama(dir.File("m"), spec);
    const CandidateCache cache(dir.File("cache"));
    const model::Model m = OpenOrDie(dir.File("m"));
    const Result<Digest> hashed = ModelDigest(m);
    ASSERT_TRUE(hashed.ok());

    Result<DigestLookup> first = cache.ModelDigestOf(m, dir.File("m"), false);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_FALSE(first->memoised);
    EXPECT_EQ(first->digest, *hashed);
    Result<DigestLookup> second = cache.ModelDigestOf(m, dir.File("m"), false);
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->memoised);
    EXPECT_EQ(second->digest, *hashed);
    Result<DigestLookup> refreshed = cache.ModelDigestOf(m, dir.File("m"), true);
    ASSERT_TRUE(refreshed.ok());
    EXPECT_FALSE(refreshed->memoised);

    // Other weights of the same size in the same file: hashed again, another digest.
    spec.seed = 7;
    testing::WriteTinyLlama(dir.File("other"), spec);
    fs::copy_file(dir.File("other/model.safetensors"), dir.File("m/model.safetensors"),
                  fs::copy_options::overwrite_existing);
    const model::Model changed = OpenOrDie(dir.File("m"));
    Result<DigestLookup> after = cache.ModelDigestOf(changed, dir.File("m"), false);
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(after->memoised);
    EXPECT_NE(after->digest, *hashed);
    EXPECT_TRUE(cache.ModelDigestOf(changed, dir.File("m"), false)->memoised);

    // A file added to the folder: hashed again (the digest itself covers only tensors and config).
    testing::WriteFile(dir.File("m/notes.txt"), "x");
    Result<DigestLookup> added = cache.ModelDigestOf(changed, dir.File("m"), false);
    ASSERT_TRUE(added.ok());
    EXPECT_FALSE(added->memoised);
    EXPECT_EQ(added->digest, after->digest);
}

}  // namespace
}  // namespace tenpak::optimize
