// Artifacts over HTTP against a misbehaving server: pull succeeds (retries, resume, full-download
// fallback) or fails with a clear error, and never leaves a corrupt output.
#include <gtest/gtest.h>

#include <filesystem>

#include "fault_server.h"
#include "tenpak/artifact/packer.h"
#include "tenpak/remote/pull.h"
#include "test_util.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::FaultServer;
using testing::ReadFile;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();

// The bundled model packed with small chunks, so that a pull makes many range requests.
std::string PackedBundle(const TempDir& dir, uint64_t chunk_size = 64 << 10) {
    artifact::PackOptions options;
    options.progress = false;
    options.chunk_size = chunk_size;
    Result<artifact::PackInput> input = artifact::DescribePackInput(kBundled);
    EXPECT_TRUE(input.ok());
    EXPECT_TRUE(artifact::Pack(*input, dir.File("m.tnpk"), options).ok());
    return ReadFile(dir.File("m.tnpk"));
}

remote::PullOptions FastOptions(const TempDir& dir) {
    remote::PullOptions options;
    options.progress = false;
    options.remote.cache_dir = dir.File("cache");
    options.remote.http.first_backoff_seconds = 0.01;
    options.remote.http.max_attempts = 4;
    return options;
}

void ExpectUnpackedBundle(const std::string& dir) {
    for (const std::string& name : testing::ListDir(kBundled)) {
        EXPECT_TRUE(ReadFile(kBundled + "/" + name) == ReadFile(dir + "/" + name)) << name;
    }
}

TEST(PullTest, MirrorIsByteIdenticalAndUnpackGoesThroughTheCache) {
    TempDir dir;
    const std::string bytes = PackedBundle(dir);
    FaultServer server(bytes);
    const remote::PullOptions options = FastOptions(dir);
    Result<remote::PullReport> mirror = remote::PullArtifact(server.url(), dir.File("copy.tnpk"), options);
    ASSERT_TRUE(mirror.ok()) << mirror.status().message();
    EXPECT_EQ(mirror->mode, "mirror");
    EXPECT_TRUE(ReadFile(dir.File("copy.tnpk")) == bytes);
    EXPECT_FALSE(mirror->full_download);

    Result<remote::PullReport> first = remote::PullArtifact(server.url(), dir.File("out"), options);
    ASSERT_TRUE(first.ok()) << first.status().message();
    ExpectUnpackedBundle(dir.File("out"));
    EXPECT_EQ(first->chunks_from_cache, 0u);
    // A second pull finds every chunk in the cache: only the footer and manifest travel.
    Result<remote::PullReport> second = remote::PullArtifact(server.url(), dir.File("out2"), options);
    ASSERT_TRUE(second.ok()) << second.status().message();
    EXPECT_EQ(second->chunks_from_cache, second->chunks);
    EXPECT_LE(second->bytes_transferred, 64u << 10);
    ExpectUnpackedBundle(dir.File("out2"));
}

TEST(PullTest, DroppedConnectionsAreResumed) {
    TempDir dir;
    const std::string bytes = PackedBundle(dir);
    FaultServer server(bytes);
    server.Inject(FaultServer::Fault::kDropMidTransfer, 3, 64);
    Result<remote::PullReport> report = remote::PullArtifact(server.url(), dir.File("copy.tnpk"), FastOptions(dir));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(ReadFile(dir.File("copy.tnpk")) == bytes);
}

TEST(PullTest, TransientServerErrorsAreRetriedAndPersistentOnesFailClearly) {
    TempDir dir;
    const std::string bytes = PackedBundle(dir);
    FaultServer server(bytes);
    server.Inject(FaultServer::Fault::kServerError, 2, 64);
    Result<remote::PullReport> report = remote::PullArtifact(server.url(), dir.File("copy.tnpk"), FastOptions(dir));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(ReadFile(dir.File("copy.tnpk")) == bytes);

    server.Inject(FaultServer::Fault::kServerError, -1, 64);
    report = remote::PullArtifact(server.url(), dir.File("fail.tnpk"), FastOptions(dir));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kNetwork);
    EXPECT_NE(report.status().message().find("HTTP 500"), std::string::npos) << report.status().message();
    EXPECT_NE(report.status().message().find("gave up after 4 attempts"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir.File("fail.tnpk")));
}

TEST(PullTest, MissingArtifactIsNotFound) {
    TempDir dir;
    FaultServer server(PackedBundle(dir));
    Result<remote::PullReport> report = remote::PullArtifact(server.url("other.tnpk"), dir.File("x.tnpk"), FastOptions(dir));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
    EXPECT_NE(report.status().message().find("other.tnpk: HTTP 404"), std::string::npos) << report.status().message();
    // 404 is final: no retries.
    server.Inject(FaultServer::Fault::kNotFound, -1, 64);
    report = remote::PullArtifact(server.url(), dir.File("y"), FastOptions(dir));
    EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
    EXPECT_FALSE(fs::exists(dir.File("y")));
}

TEST(PullTest, WrongBytesAreCaughtAndNothingIsWritten) {
    TempDir dir;
    FaultServer server(PackedBundle(dir));
    server.Inject(FaultServer::Fault::kWrongBytes, -1, 64);
    Result<remote::PullReport> mirror = remote::PullArtifact(server.url(), dir.File("copy.tnpk"), FastOptions(dir));
    ASSERT_FALSE(mirror.ok());
    EXPECT_EQ(mirror.status().code(), StatusCode::kIntegrity);
    EXPECT_NE(mirror.status().message().find("the server sent"), std::string::npos) << mirror.status().message();
    EXPECT_FALSE(fs::exists(dir.File("copy.tnpk")));
    Result<remote::PullReport> unpack = remote::PullArtifact(server.url(), dir.File("out"), FastOptions(dir));
    ASSERT_FALSE(unpack.ok());
    EXPECT_EQ(unpack.status().code(), StatusCode::kIntegrity);
    EXPECT_FALSE(fs::exists(dir.File("out")));
}

TEST(PullTest, ServerIgnoringRangeGetsOneVerifiedFullDownload) {
    TempDir dir;
    const std::string bytes = PackedBundle(dir);
    FaultServer server(bytes);
    server.Inject(FaultServer::Fault::kIgnoreRange, -1, 0);
    Result<remote::PullReport> report = remote::PullArtifact(server.url(), dir.File("out"), FastOptions(dir));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->full_download);
    ExpectUnpackedBundle(dir.File("out"));
    EXPECT_EQ(server.full_requests(), 1);
}

TEST(PullTest, RequiredSignatureIsCheckedBeforeAnythingIsFetched) {
    TempDir dir;
    FaultServer server(PackedBundle(dir));  // unsigned
    remote::PullOptions options = FastOptions(dir);
    options.trust.public_key = std::vector<uint8_t>(32, 7);
    Result<remote::PullReport> report = remote::PullArtifact(server.url(), dir.File("out"), options);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kIntegrity);
    EXPECT_FALSE(fs::exists(dir.File("out")));
}

}  // namespace
}  // namespace tenpak
