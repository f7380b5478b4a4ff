// Packing and reading back: every tensor and file bit-exact, deterministic bytes, chunking and
// de-duplication as the format says, and a packed model that opens like the folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "artifact_test_util.h"
#include "model_factory.h"
#include "tenpak/artifact/unpack.h"
#include "tenpak/io/hf_folder.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::OpenOrDie;
using testing::PackOrDie;
using testing::QuietOptions;
using testing::ReadFile;
using testing::TempDir;

const std::string kBundled = testing::BundledModel();

void ExpectSameFolders(const std::string& a, const std::string& b) {
    std::set<std::string> names_a, names_b;
    for (const auto& e : fs::recursive_directory_iterator(a)) names_a.insert(fs::relative(e.path(), a).string());
    for (const auto& e : fs::recursive_directory_iterator(b)) names_b.insert(fs::relative(e.path(), b).string());
    ASSERT_EQ(names_a, names_b);
    for (const std::string& name : names_a) {
        if (fs::is_directory(fs::path(a) / name)) continue;
        EXPECT_TRUE(ReadFile((fs::path(a) / name).string()) == ReadFile((fs::path(b) / name).string())) << name;
    }
}

// Every canonical tensor of `got` has the bytes of `want`'s.
void ExpectSameTensors(const model::Model& want, const model::Model& got) {
    ASSERT_EQ(got.tensors->tensors().size(), want.tensors->tensors().size());
    for (const io::TensorInfo& info : want.tensors->tensors()) {
        Result<io::TensorData> expected = want.tensors->Read(info);
        Result<io::TensorData> actual = got.tensors->Read(info.name);
        ASSERT_TRUE(expected.ok() && actual.ok()) << info.name;
        ASSERT_EQ(actual->size(), expected->size());
        EXPECT_EQ(std::memcmp(actual->data(), expected->data(), expected->size()), 0) << info.name;
    }
}

TEST(PackRoundTripTest, BundledModelUnpacksBitExactAndTensorsReadBack) {
    TempDir dir;
    const artifact::PackReport report = PackOrDie(kBundled, dir.File("m.tnpk"));
    EXPECT_EQ(report.files, 9u);
    EXPECT_EQ(report.tensors, 47u);
    EXPECT_EQ(report.stored_bytes, fs::file_size(dir.File("m.tnpk")));

    const auto packed = OpenOrDie(dir.File("m.tnpk"));
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(packed->manifest().source, "hf");
    EXPECT_EQ(packed->id(), report.id);
    Result<io::HfFolder> folder = io::OpenHfFolder(kBundled);
    ASSERT_TRUE(folder.ok());
    artifact::ArtifactTensorSource source(packed);
    ASSERT_EQ(source.tensors().size(), folder->tensors->tensors().size());
    for (const io::TensorInfo& info : folder->tensors->tensors()) {
        const io::TensorInfo* found = source.Find(info.name);
        ASSERT_NE(found, nullptr) << info.name;
        EXPECT_EQ(found->dtype, info.dtype);
        EXPECT_EQ(found->shape, info.shape);
        Result<io::TensorData> want = folder->tensors->Read(info);
        Result<io::TensorData> got = source.Read(*found);
        ASSERT_TRUE(want.ok() && got.ok());
        ASSERT_EQ(got->size(), want->size());
        EXPECT_EQ(std::memcmp(got->data(), want->data(), want->size()), 0) << info.name;
    }
    Result<std::string> config = packed->ReadFile("config.json");
    ASSERT_TRUE(config.ok());
    EXPECT_EQ(*config, ReadFile(kBundled + "/config.json"));

    artifact::UnpackOptions options;
    options.progress = false;
    Result<artifact::UnpackReport> unpacked = artifact::Unpack(*packed, dir.File("out"), options);
    ASSERT_TRUE(unpacked.ok()) << unpacked.status().message();
    EXPECT_EQ(unpacked->files, 9u);
    ExpectSameFolders(kBundled, dir.File("out"));
}

TEST(PackRoundTripTest, PackingTwiceGivesTheSameBytesWhateverTheThreads) {
    TempDir dir;
    artifact::PackOptions one = QuietOptions();
    one.threads = 1;
    PackOrDie(kBundled, dir.File("a.tnpk"), one);
    PackOrDie(kBundled, dir.File("b.tnpk"));
    EXPECT_TRUE(ReadFile(dir.File("a.tnpk")) == ReadFile(dir.File("b.tnpk")));
}

TEST(PackRoundTripTest, SmallChunksSplitTensorsAndIdenticalBytesAreStoredOnce) {
    TempDir dir;
    testing::TinyLlama spec;
    spec.tied = false;
    testing::WriteTinyLlama(dir.File("src"), spec);
    // A second copy of one tensor's bytes inside the same folder: a second safetensors file whose
    // tensor has another name but the embedding's bytes.
    Result<io::HfFolder> folder = io::OpenHfFolder(dir.File("src"));
    ASSERT_TRUE(folder.ok());
    const io::TensorInfo* embed = folder->tensors->Find("model.embed_tokens.weight");
    ASSERT_NE(embed, nullptr);
    Result<io::TensorData> embed_bytes = folder->tensors->Read(*embed);
    ASSERT_TRUE(embed_bytes.ok());
    {
        fs::create_directories(dir.File("src/extra"));
        Result<std::unique_ptr<io::SafetensorsWriter>> writer =
            io::SafetensorsWriter::Create(dir.File("src/extra/copy.safetensors"), {});
        ASSERT_TRUE(writer.ok());
        io::TensorInfo copy = *embed;
        copy.name = "copy_of_embedding";
        ASSERT_TRUE((*writer)->Begin({copy}).ok());
        ASSERT_TRUE((*writer)->Write(copy.name, embed_bytes->bytes()).ok());
        ASSERT_TRUE((*writer)->Finish().ok());
    }
    artifact::PackOptions options = QuietOptions();
    options.chunk_size = 1024;
    const artifact::PackReport report = PackOrDie(dir.File("src"), dir.File("m.tnpk"), options);
    const auto packed = OpenOrDie(dir.File("m.tnpk"));
    ASSERT_NE(packed, nullptr);
    const artifact::TensorEntry* original = packed->FindTensor("model.embed_tokens.weight");
    const artifact::TensorEntry* copy = packed->FindTensor("copy_of_embedding");
    ASSERT_NE(original, nullptr);
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(original->chunks.size(), (embed->nbytes + 1023) / 1024);
    EXPECT_EQ(original->chunks, copy->chunks);  // the same chunks, stored once
    EXPECT_GE(report.duplicate_chunks, original->chunks.size());
    for (const artifact::TensorEntry& tensor : packed->manifest().tensors) {
        for (size_t i = 0; i + 1 < tensor.chunks.size(); ++i) {
            EXPECT_EQ(packed->manifest().chunks[tensor.chunks[i]].raw_size, 1024u);
        }
    }
    artifact::UnpackOptions unpack;
    unpack.progress = false;
    ASSERT_TRUE(artifact::Unpack(*packed, dir.File("out"), unpack).ok());
    ExpectSameFolders(dir.File("src"), dir.File("out"));
}

TEST(PackRoundTripTest, UncompressedChunksAreMappedAndStillChecked) {
    TempDir dir;
    artifact::PackOptions options = QuietOptions();
    options.zstd_level = 0;
    options.chunk_size = 4096;
    options.hash = HashAlgorithm::kBlake2b256;  // the other algorithm than the default
    PackOrDie(kBundled, dir.File("m.tnpk"), options);
    const auto packed = OpenOrDie(dir.File("m.tnpk"));
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(packed->manifest().hash, HashAlgorithm::kBlake2b256);
    for (const artifact::ChunkEntry& chunk : packed->manifest().chunks) {
        EXPECT_EQ(chunk.compression, artifact::Compression::kNone);
    }
    Result<io::HfFolder> folder = io::OpenHfFolder(kBundled);
    ASSERT_TRUE(folder.ok());
    const artifact::TensorEntry* embed = packed->FindTensor("model.embed_tokens.weight");
    ASSERT_NE(embed, nullptr);
    ASSERT_GT(embed->chunks.size(), 1u);
    Result<io::TensorData> got = packed->ReadTensor(*embed);
    Result<io::TensorData> want = folder->tensors->Read("model.embed_tokens.weight");
    ASSERT_TRUE(got.ok() && want.ok());
    EXPECT_EQ(std::memcmp(got->data(), want->data(), want->size()), 0);
    // The view points into the artifact's mapping, not a copy.
    const std::span<const std::byte> file = packed->bytes().ReadAt(0, packed->bytes().size())->bytes();
    EXPECT_GE(got->data(), file.data());
    EXPECT_LT(got->data(), file.data() + file.size());
}

TEST(PackRoundTripTest, GgufFileRoundTripsAndItsBlockTensorsAreListed) {
    TempDir dir;
    Result<model::Model> m = model::OpenModel(kBundled);
    ASSERT_TRUE(m.ok());
    model::WriteOptions write;
    write.progress = false;
    ASSERT_TRUE(model::WriteGguf(*m, dir.File("m.gguf"), write).ok());
    PackOrDie(dir.File("m.gguf"), dir.File("m.tnpk"));
    const auto packed = OpenOrDie(dir.File("m.tnpk"));
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(packed->manifest().source, "gguf");
    EXPECT_NE(packed->FindTensor("token_embd.weight"), nullptr);
    artifact::UnpackOptions unpack;
    unpack.progress = false;
    ASSERT_TRUE(artifact::Unpack(*packed, dir.File("out"), unpack).ok());
    EXPECT_TRUE(ReadFile(dir.File("out/m.gguf")) == ReadFile(dir.File("m.gguf")));
    // It opens as the same model as the GGUF file.
    Result<model::Model> gguf = model::OpenModel(dir.File("m.gguf"));
    Result<model::Model> opened = model::OpenModel(dir.File("m.tnpk"));
    ASSERT_TRUE(gguf.ok());
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_EQ(opened->config.num_layers, gguf->config.num_layers);
    ASSERT_TRUE(opened->vocab.has_value());
    EXPECT_EQ(opened->vocab->size(), gguf->vocab->size());
    ExpectSameTensors(*gguf, *opened);
}

TEST(PackRoundTripTest, OtherPackedFilesAreForUnpackingAndSaySo) {
    TempDir dir;
    testing::WriteFile(dir.File("notes.txt"), "not a model");
    PackOrDie(dir.File("notes.txt"), dir.File("n.tnpk"));
    Result<model::Model> opened = model::OpenModel(dir.File("n.tnpk"));
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.status().message().find("tenpak unpack"), std::string::npos) << opened.status().message();
}

TEST(PackRoundTripTest, PackedFolderOpensAsTheSameModel) {
    TempDir dir;
    PackOrDie(kBundled, dir.File("m.tnpk"));
    Result<model::Model> folder = model::OpenModel(kBundled);
    Result<model::Model> packed = model::OpenModel(dir.File("m.tnpk"));
    ASSERT_TRUE(folder.ok());
    ASSERT_TRUE(packed.ok()) << packed.status().message();
    EXPECT_EQ(packed->format, model::SourceFormat::kArtifact);
    EXPECT_EQ(packed->config.num_layers, folder->config.num_layers);
    ASSERT_TRUE(packed->vocab.has_value());
    EXPECT_EQ(packed->vocab->size(), folder->vocab->size());
    EXPECT_EQ(packed->aux_files.size(), folder->aux_files.size());
    ExpectSameTensors(*folder, *packed);
}

TEST(PackRoundTripTest, RefusesInputsItCannotPack) {
    TempDir dir;
    EXPECT_EQ(artifact::DescribePackInput(dir.File("missing")).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(artifact::DescribePackInput(dir.path()).status().code(), StatusCode::kInvalidArgument);  // empty
    PackOrDie(kBundled, dir.File("m.tnpk"));
    Result<artifact::PackInput> again = artifact::DescribePackInput(dir.File("m.tnpk"));
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.status().message().find("already a .tnpk"), std::string::npos);
    Result<artifact::PackInput> input = artifact::DescribePackInput(kBundled);
    ASSERT_TRUE(input.ok());
    artifact::PackOptions bad = QuietOptions();
    bad.zstd_level = 99;
    EXPECT_EQ(artifact::Pack(*input, dir.File("x.tnpk"), bad).status().code(), StatusCode::kInvalidArgument);
    bad = QuietOptions();
    bad.chunk_size = 1000;  // not a multiple of 64
    EXPECT_EQ(artifact::Pack(*input, dir.File("x.tnpk"), bad).status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(fs::exists(dir.File("x.tnpk")));
}

}  // namespace
}  // namespace tenpak

namespace tenpak {
namespace {

TEST(ArtifactWriterTest, BuildsFilesFromBytesAndTensorsAndKeepsExtraManifestKeys) {
    testing::TempDir dir;
    artifact::PackOptions options = testing::QuietOptions();
    options.chunk_size = 256;
    Result<std::unique_ptr<artifact::ArtifactWriter>> writer =
        artifact::ArtifactWriter::Create(dir.File("w.tnpk"), options, "delta", 0);
    ASSERT_TRUE(writer.ok());
    std::vector<float> weights(300);
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.5f * static_cast<float>(i);
    const std::string header = "header bytes";
    io::TensorInfo info{"w", DType::kF32, {3, 100}, 1200};
    EXPECT_EQ((*writer)->AddBytes(std::as_bytes(std::span(header))).code(), StatusCode::kInternal);  // no file yet
    EXPECT_EQ((*writer)->BeginFile("../x").code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE((*writer)->BeginFile("sub/a.bin").ok());
    ASSERT_TRUE((*writer)->AddBytes(std::as_bytes(std::span(header))).ok());
    ASSERT_TRUE((*writer)->AddTensor(info, std::as_bytes(std::span(weights)), {{"layout", "test"}}).ok());
    EXPECT_EQ((*writer)->AddTensor(info, std::as_bytes(std::span(weights))).code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE((*writer)->EndFile().ok());
    (*writer)->SetManifestExtra("delta", {{"base", "somewhere"}, {"tensors", 1}});
    Result<artifact::PackReport> report = (*writer)->Finish();
    ASSERT_TRUE(report.ok()) << report.status().message();

    const auto packed = testing::OpenOrDie(dir.File("w.tnpk"));
    ASSERT_NE(packed, nullptr);
    EXPECT_EQ(packed->manifest().source, "delta");
    EXPECT_EQ(packed->manifest().extra["delta"]["base"], "somewhere");
    const artifact::TensorEntry* tensor = packed->FindTensor("w");
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->chunks.size(), 5u);  // 1200 bytes in chunks of 256
    EXPECT_EQ(tensor->quantization["layout"], "test");
    Result<std::string> file = packed->ReadFile("sub/a.bin");
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(file->substr(0, header.size()), header);
    EXPECT_EQ(std::memcmp(file->data() + header.size(), weights.data(), 1200), 0);
    // The extra key survives a parse and a re-serialization unchanged.
    Result<artifact::Manifest> again =
        artifact::ParseManifest(artifact::SerializeManifest(packed->manifest()), packed->footer().manifest_offset, "x");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->extra, packed->manifest().extra);

    // A writer dropped before Finish leaves nothing.
    {
        Result<std::unique_ptr<artifact::ArtifactWriter>> dropped =
            artifact::ArtifactWriter::Create(dir.File("dropped.tnpk"), options, "delta", 0);
        ASSERT_TRUE(dropped.ok());
        ASSERT_TRUE((*dropped)->BeginFile("a").ok());
    }
    EXPECT_FALSE(std::filesystem::exists(dir.File("dropped.tnpk")));
}

}  // namespace
}  // namespace tenpak
