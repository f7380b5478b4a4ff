// Damage and tampering: every change to an artifact is caught, by the reader or by verify, with a
// message that names what failed.
#include <gtest/gtest.h>

#include <filesystem>

#include "artifact_test_util.h"
#include "tenpak/artifact/unpack.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::OpenOrDie;
using testing::PackOrDie;
using testing::QuietOptions;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

const std::string kBundled = testing::BundledModel();

// Opens and verifies `bytes` written to a file; the first error, or OK.
Status OpenAndVerify(const TempDir& dir, const std::string& bytes, const artifact::TrustPolicy& policy = {}) {
    const std::string path = dir.File("edited.tnpk");
    WriteFile(path, bytes);
    Result<std::shared_ptr<const artifact::Artifact>> opened = artifact::Artifact::OpenFile(path);
    if (!opened.ok()) return opened.status();
    return artifact::Verify(**opened, policy, false).status();
}

class TamperTest : public ::testing::Test {
protected:
    void SetUp() override {
        artifact::PackOptions options = QuietOptions();
        options.chunk_size = 16384;
        Result<artifact::SigningKey> key = Status::NotFound("");
        ASSERT_TRUE(artifact::WriteEd25519KeyPair(dir_.File("key")).ok());
        key = artifact::ReadEd25519SecretKey(dir_.File("key"));
        ASSERT_TRUE(key.ok()) << key.status().message();
        options.signing_key = *key;
        PackOrDie(kBundled, dir_.File("m.tnpk"), options);
        bytes_ = ReadFile(dir_.File("m.tnpk"));
        Result<std::vector<uint8_t>> pub = artifact::ReadEd25519PublicKey(dir_.File("key.pub"));
        ASSERT_TRUE(pub.ok());
        policy_.public_key = *pub;
        packed_ = OpenOrDie(dir_.File("m.tnpk"));
        ASSERT_NE(packed_, nullptr);
    }

    TempDir dir_;
    std::string bytes_;
    artifact::TrustPolicy policy_;
    std::shared_ptr<const artifact::Artifact> packed_;
};

TEST_F(TamperTest, IntactArtifactVerifiesWithItsKey) {
    EXPECT_TRUE(OpenAndVerify(dir_, bytes_, policy_).ok());
}

TEST_F(TamperTest, FlippedByteInAnyChunkNamesTheChunkAndItsOwner) {
    const artifact::Manifest& m = packed_->manifest();
    ASSERT_GT(m.chunks.size(), 40u);
    for (uint32_t i = 0; i < m.chunks.size(); ++i) {
        std::string edited = bytes_;
        edited[m.chunks[i].offset + m.chunks[i].stored_size / 2] ^= 0x10;
        const Status status = OpenAndVerify(dir_, edited, policy_);
        ASSERT_FALSE(status.ok()) << "chunk " << i;
        EXPECT_EQ(status.code(), StatusCode::kIntegrity) << status.message();
        EXPECT_NE(status.message().find("chunk " + std::to_string(i) + " ("), std::string::npos) << status.message();
        EXPECT_NE(status.message().find(packed_->ChunkOwner(i)), std::string::npos) << status.message();
    }
}

TEST_F(TamperTest, ReadingADamagedTensorFailsWithoutVerify) {
    const artifact::TensorEntry* tensor = packed_->FindTensor("model.layers.2.self_attn.q_proj.weight");
    ASSERT_NE(tensor, nullptr);
    std::string edited = bytes_;
    const artifact::ChunkEntry& chunk = packed_->manifest().chunks[tensor->chunks[0]];
    edited[chunk.offset + 3] ^= 1;
    WriteFile(dir_.File("edited.tnpk"), edited);
    const auto opened = OpenOrDie(dir_.File("edited.tnpk"));
    ASSERT_NE(opened, nullptr);
    Result<io::TensorData> data = opened->ReadTensor(*opened->FindTensor(tensor->info.name));
    ASSERT_FALSE(data.ok());
    EXPECT_NE(data.status().message().find("model.layers.2.self_attn.q_proj.weight"), std::string::npos);
    // Unpack stops too, and leaves no output folder.
    artifact::UnpackOptions options;
    options.progress = false;
    EXPECT_FALSE(artifact::Unpack(*opened, dir_.File("out"), options).ok());
    EXPECT_FALSE(fs::exists(dir_.File("out")));
}

TEST_F(TamperTest, TruncatedFilesAreRefused) {
    for (size_t keep : {size_t{0}, size_t{10}, size_t{64}, size_t{143}, bytes_.size() / 2, bytes_.size() - 81,
                        bytes_.size() - 80, bytes_.size() - 1}) {
        const Status status = OpenAndVerify(dir_, bytes_.substr(0, keep), policy_);
        EXPECT_FALSE(status.ok()) << keep;
        EXPECT_NE(status.message().find("edited.tnpk"), std::string::npos) << status.message();
    }
}

TEST_F(TamperTest, SwappedChunksAreCaught) {
    const artifact::Manifest& m = packed_->manifest();
    // Two full-size chunks stored uncompressed or compressed to the same size would swap cleanly;
    // any two chunks of the same stored size will do.
    for (size_t a = 0; a < m.chunks.size(); ++a) {
        for (size_t b = a + 1; b < m.chunks.size(); ++b) {
            if (m.chunks[a].stored_size != m.chunks[b].stored_size || m.chunks[a].hash == m.chunks[b].hash) continue;
            std::string edited = bytes_;
            const uint64_t n = m.chunks[a].stored_size;
            edited.replace(m.chunks[a].offset, n, bytes_, m.chunks[b].offset, n);
            edited.replace(m.chunks[b].offset, n, bytes_, m.chunks[a].offset, n);
            const Status status = OpenAndVerify(dir_, edited, policy_);
            EXPECT_EQ(status.code(), StatusCode::kIntegrity) << status.message();
            return;
        }
    }
    GTEST_FAIL() << "no two chunks of the same stored size to swap";
}

TEST_F(TamperTest, ManifestEditedAfterSigningFailsTheSignature) {
    std::string manifest = testing::ManifestText(bytes_);
    const size_t at = manifest.find("\"writer\":\"tenpak ");
    ASSERT_NE(at, std::string::npos);
    manifest.replace(at, 17, "\"writer\":\"forger ");  // still a consistent manifest
    // With the footer's hash fixed up to match, the artifact opens, but the signature fails.
    const std::string reframed = testing::Reframe(bytes_, manifest, testing::SignatureText(bytes_));
    const Status status = OpenAndVerify(dir_, reframed, policy_);
    EXPECT_EQ(status.code(), StatusCode::kIntegrity);
    EXPECT_NE(status.message().find("signature does not match"), std::string::npos) << status.message();
    // Without the fix-up, the footer's hash already disagrees.
    const Status unfixed =
        OpenAndVerify(dir_, testing::Reframe(bytes_, manifest, testing::SignatureText(bytes_), false), policy_);
    EXPECT_EQ(unfixed.code(), StatusCode::kIntegrity);
    EXPECT_NE(unfixed.message().find("manifest does not match the hash"), std::string::npos) << unfixed.message();
}

TEST_F(TamperTest, SignatureByAnotherKeyOrStrippedIsRefusedWhenAKeyIsRequired) {
    ASSERT_TRUE(artifact::WriteEd25519KeyPair(dir_.File("other")).ok());
    Result<std::vector<uint8_t>> other = artifact::ReadEd25519PublicKey(dir_.File("other.pub"));
    ASSERT_TRUE(other.ok());
    artifact::TrustPolicy other_policy;
    other_policy.public_key = *other;
    Status status = OpenAndVerify(dir_, bytes_, other_policy);
    EXPECT_EQ(status.code(), StatusCode::kIntegrity);
    EXPECT_NE(status.message().find("not by the required key"), std::string::npos) << status.message();

    // Re-signed by the other key: valid for it, refused for the original key.
    Result<artifact::SigningKey> other_secret = artifact::ReadEd25519SecretKey(dir_.File("other"));
    ASSERT_TRUE(other_secret.ok());
    const std::string resigned = testing::Reframe(
        bytes_, testing::ManifestText(bytes_),
        artifact::SignManifestHash(testing::FooterOf(bytes_).manifest_hash, *other_secret));
    EXPECT_TRUE(OpenAndVerify(dir_, resigned, other_policy).ok());
    EXPECT_EQ(OpenAndVerify(dir_, resigned, policy_).code(), StatusCode::kIntegrity);

    const std::string stripped = testing::Reframe(bytes_, testing::ManifestText(bytes_), "");
    status = OpenAndVerify(dir_, stripped, policy_);
    EXPECT_EQ(status.code(), StatusCode::kIntegrity);
    EXPECT_NE(status.message().find("not signed"), std::string::npos) << status.message();
    EXPECT_TRUE(OpenAndVerify(dir_, stripped, {}).ok());  // nobody asked for a signature
}

TEST_F(TamperTest, ForgedSignatureBytesFail) {
    std::string signature = testing::SignatureText(bytes_);
    const size_t at = signature.find("\"signature\":\"") + 13;
    signature[at] = signature[at] == '0' ? '1' : '0';
    const Status status = OpenAndVerify(dir_, testing::Reframe(bytes_, testing::ManifestText(bytes_), signature), {});
    EXPECT_EQ(status.code(), StatusCode::kIntegrity) << status.message();
}

TEST_F(TamperTest, NonZeroPaddingOrReservedBytesFailVerify) {
    const artifact::Manifest& m = packed_->manifest();
    for (size_t i = 0; i + 1 < m.chunks.size(); ++i) {
        const uint64_t end = m.chunks[i].offset + m.chunks[i].stored_size;
        if (end == m.chunks[i + 1].offset) continue;
        std::string edited = bytes_;
        edited[end] = 'x';
        const Status status = OpenAndVerify(dir_, edited, policy_);
        EXPECT_EQ(status.code(), StatusCode::kCorruption);
        EXPECT_NE(status.message().find("padding after chunk " + std::to_string(i)), std::string::npos)
            << status.message();
        break;
    }
    std::string header_edit = bytes_;
    header_edit[40] = 1;
    EXPECT_EQ(OpenAndVerify(dir_, header_edit, policy_).code(), StatusCode::kCorruption);
}

TEST(HmacTest, SharedSecretSignsAndAnotherSecretFails) {
    TempDir dir;
    ASSERT_TRUE(artifact::WriteHmacKey(dir.File("secret")).ok());
    EXPECT_EQ(fs::status(dir.File("secret")).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    Result<std::vector<uint8_t>> secret = artifact::ReadHmacKey(dir.File("secret"));
    ASSERT_TRUE(secret.ok());
    artifact::PackOptions options = QuietOptions();
    options.signing_key = artifact::SigningKey{artifact::SignatureScheme::kHmacSha256, *secret};
    PackOrDie(kBundled, dir.File("m.tnpk"), options);
    const auto packed = OpenOrDie(dir.File("m.tnpk"));
    ASSERT_NE(packed, nullptr);
    artifact::TrustPolicy policy;
    policy.hmac_key = *secret;
    Result<std::string> ok = packed->CheckTrust(policy);
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_NE(ok->find("valid"), std::string::npos);
    policy.hmac_key = std::vector<uint8_t>(32, 'x');
    EXPECT_EQ(packed->CheckTrust(policy).status().code(), StatusCode::kIntegrity);
    artifact::TrustPolicy ed;
    ed.public_key = std::vector<uint8_t>(32, 1);
    EXPECT_EQ(packed->CheckTrust(ed).status().code(), StatusCode::kIntegrity);
    // Keys are never overwritten; short secrets are refused.
    EXPECT_EQ(artifact::WriteHmacKey(dir.File("secret")).code(), StatusCode::kInvalidArgument);
    testing::WriteFile(dir.File("short"), "abc\n");
    EXPECT_EQ(artifact::ReadHmacKey(dir.File("short")).status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyFileTest, DamagedOrWrongKeyFilesAreRefused) {
    TempDir dir;
    ASSERT_TRUE(artifact::WriteEd25519KeyPair(dir.File("k")).ok());
    EXPECT_EQ(fs::status(dir.File("k")).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(artifact::WriteEd25519KeyPair(dir.File("k")).code(), StatusCode::kInvalidArgument);
    // The public key is not a secret key, and the other way round.
    EXPECT_EQ(artifact::ReadEd25519SecretKey(dir.File("k.pub")).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(artifact::ReadEd25519PublicKey(dir.File("k")).status().code(), StatusCode::kInvalidArgument);
    std::string secret = ReadFile(dir.File("k"));
    secret[secret.size() - 2] = secret[secret.size() - 2] == 'a' ? 'b' : 'a';  // the embedded public half
    WriteFile(dir.File("damaged"), secret);
    Result<artifact::SigningKey> damaged = artifact::ReadEd25519SecretKey(dir.File("damaged"));
    ASSERT_FALSE(damaged.ok());
    EXPECT_NE(damaged.status().message().find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace tenpak
