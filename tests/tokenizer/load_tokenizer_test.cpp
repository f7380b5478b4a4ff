// Choosing a model's tokenizer (LoadTokenizer), its errors, and the tokenizer files `convert`
// writes for models that come with only a llama2.c or GGUF vocabulary.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tenpak/io/tokenizer_json.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"
#include "tenpak/tokenizer/tokenizer.h"
#include "test_util.h"

namespace tenpak::tokenizer {
namespace {

namespace fs = std::filesystem;
using testing::SharedData;
using testing::BundledModel;
using testing::SourcePath;
using testing::TempDir;

model::Model Open(const std::string& path) {
    Result<model::Model> m = model::OpenModel(path);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) std::abort();
    return std::move(m).value();
}

std::unique_ptr<Tokenizer> Load(const model::Model& m) {
    Result<std::unique_ptr<Tokenizer>> t = LoadTokenizer(m);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
}

model::WriteOptions Quiet() {
    model::WriteOptions o;
    o.progress = false;
    return o;
}

const std::vector<int32_t>& ReferenceIds() {
    static const std::vector<int32_t> ids = [] {
        auto t = SentencePieceTokenizer(testing::ReadFile(SharedData("stories260K/tok512.model")), "tok512.model");
        return (*t)->Encode(testing::ReadFile(SourcePath("models/text/tinystories_val.txt")), true);
    }();
    return ids;
}

std::vector<int32_t> SampleIds(const Tokenizer& t) {
    return t.Encode(testing::ReadFile(SourcePath("models/text/tinystories_val.txt")), true);
}

// A copy of the bundled HF folder, to add or break files in.
std::string CopyBundled(const TempDir& dir) {
    const std::string out = dir.File("hf");
    fs::create_directories(out);
    for (const auto& entry : fs::directory_iterator(BundledModel())) {
        fs::copy_file(entry.path(), fs::path(out) / entry.path().filename());
    }
    return out;
}

TEST(LoadTokenizerTest, PicksTheBestSourceEachInputHas) {
    // The bundled folder carries tokenizer.json and tokenizer.model: the fast-tokenizer file wins,
    // as in transformers; without it, tokenizer.model is run by libsentencepiece.
    EXPECT_EQ(Load(Open(BundledModel()))->kind(), "hf-bpe");
    {
        TempDir only_model;
        const std::string copy = CopyBundled(only_model);
        fs::remove(copy + "/tokenizer.json");
        EXPECT_EQ(Load(Open(copy))->kind(), "sentencepiece");
    }
    EXPECT_EQ(Load(Open(SharedData("stories260K/stories260K.bin")))->kind(),
              "sentencepiece");  // tok512.model beside it
    auto gguf = Load(Open(SharedData("stories260K/gguf/stories260K-f32.gguf")));
    EXPECT_EQ(gguf->kind(), "spm-bpe");
    EXPECT_EQ(gguf->eos_id(), std::optional<int32_t>(2));
    EXPECT_EQ(SampleIds(*gguf), ReferenceIds());

    // A tokenizer.json written from the llama2.c vocabulary wins over tokenizer.model too.
    TempDir dir;
    const std::string hf = CopyBundled(dir);
    fs::remove(hf + "/tokenizer.json");
    Result<io::Vocab> vocab = io::ReadLlama2cTokenizer(SharedData("stories260K/tok512.bin"));
    ASSERT_TRUE(vocab.ok());
    testing::WriteFile(hf + "/tokenizer.json", *io::WriteTokenizerJson(*vocab));
    auto json = Load(Open(hf));
    EXPECT_EQ(json->kind(), "hf-bpe");
    EXPECT_EQ(json->bos_id(), std::optional<int32_t>(1));
    EXPECT_EQ(json->eos_id(), std::optional<int32_t>(2));  // from tokenizer_config.json
    EXPECT_EQ(SampleIds(*json), ReferenceIds());
}

TEST(LoadTokenizerTest, MissingTokenizerSaysWhatWasLookedFor) {
    model::Model bare;
    bare.origin = "/models/bare";
    Result<std::unique_ptr<Tokenizer>> t = LoadTokenizer(bare);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(t.status().message(),
              "/models/bare: no tokenizer: looked for tokenizer.json, tokenizer.model, or a vocabulary in the model "
              "file");

    // A llama2.c checkpoint alone in its folder opens (the weights are usable) but has no tokenizer.
    TempDir dir;
    fs::copy_file(SharedData("stories260K/stories260K.bin"), dir.File("stories260K.bin"));
    t = LoadTokenizer(Open(dir.File("stories260K.bin")));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
    EXPECT_NE(t.status().message().find(dir.File("stories260K.bin") + ": no tokenizer: looked for tokenizer.json"),
              std::string::npos)
        << t.status().message();
}

TEST(LoadTokenizerTest, UnreadableTokenizerFilesAreNamed) {
    TempDir dir;
    const std::string hf = CopyBundled(dir);
    testing::WriteFile(hf + "/tokenizer.json", "{\"model\": ");
    Result<std::unique_ptr<Tokenizer>> t = LoadTokenizer(Open(hf));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kCorruption);
    EXPECT_NE(t.status().message().find(hf + "/tokenizer.json: not valid JSON"), std::string::npos)
        << t.status().message();

    // A tokenizer.json TenPak cannot run falls through to tokenizer.model.
    testing::WriteFile(hf + "/tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
    t = LoadTokenizer(Open(hf));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ((*t)->kind(), "sentencepiece");

    fs::remove(hf + "/tokenizer.json");
    testing::WriteFile(hf + "/tokenizer.model", "not a protobuf");
    t = LoadTokenizer(Open(hf));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kCorruption);
    EXPECT_NE(t.status().message().find(hf + "/tokenizer.model: not a readable SentencePiece model"), std::string::npos)
        << t.status().message();
}

nlohmann::json ReadJson(const std::string& path) {
    return nlohmann::json::parse(testing::ReadFile(path));
}

TEST(ConvertTokenizerTest, Llama2cFolderGetsTokenizerModelJsonAndConfig) {
    TempDir dir;
    ASSERT_TRUE(model::WriteHfFolder(Open(SharedData("stories260K/stories260K.bin")), dir.File("hf"), Quiet()).ok());
    for (const char* file : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
        EXPECT_TRUE(fs::exists(dir.File(std::string("hf/") + file))) << file;
    }
    EXPECT_EQ(testing::ReadFile(dir.File("hf/tokenizer.model")),
              testing::ReadFile(SharedData("stories260K/tok512.model")));
    EXPECT_EQ(ReadJson(dir.File("hf/tokenizer_config.json"))["tokenizer_class"], "LlamaTokenizer");
    // The bundled folder was made by the same conversion: same settings.
    EXPECT_EQ(ReadJson(dir.File("hf/tokenizer_config.json")),
              ReadJson(SourcePath("models/stories260K/tokenizer_config.json")));

    Result<std::unique_ptr<Tokenizer>> json =
        TokenizerFromJson(testing::ReadFile(dir.File("hf/tokenizer.json")), dir.File("hf/tokenizer.json"),
                          testing::ReadFile(dir.File("hf/tokenizer_config.json")));
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    EXPECT_EQ(SampleIds(**json), ReferenceIds());
    auto loaded = Load(Open(dir.File("hf")));
    EXPECT_EQ(loaded->kind(), "hf-bpe");
    EXPECT_EQ(SampleIds(*loaded), ReferenceIds());
}

TEST(ConvertTokenizerTest, GgufFolderGetsTokenizerJsonAndConfigThatRoundTrip) {
    TempDir dir;
    ASSERT_TRUE(
        model::WriteHfFolder(Open(SharedData("stories260K/gguf/stories260K-f32.gguf")), dir.File("hf"), Quiet()).ok());
    EXPECT_TRUE(fs::exists(dir.File("hf/tokenizer.json")));
    EXPECT_TRUE(fs::exists(dir.File("hf/tokenizer_config.json")));
    EXPECT_FALSE(fs::exists(dir.File("hf/tokenizer.model")));
    const nlohmann::json config = ReadJson(dir.File("hf/tokenizer_config.json"));
    EXPECT_EQ(config["tokenizer_class"], "LlamaTokenizerFast");
    EXPECT_EQ(config["bos_token"], "<s>");
    EXPECT_EQ(config["eos_token"], "</s>");

    Result<std::unique_ptr<Tokenizer>> json =
        TokenizerFromJson(testing::ReadFile(dir.File("hf/tokenizer.json")), "tokenizer.json");
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    EXPECT_EQ(SampleIds(**json), ReferenceIds());

    // The folder's vocabulary now comes from tokenizer.json, and survives a trip back to GGUF.
    const model::Model hf = Open(dir.File("hf"));
    ASSERT_TRUE(hf.vocab.has_value());
    EXPECT_EQ(hf.vocab->size(), 512u);
    EXPECT_EQ(hf.vocab->eos_id, std::optional<int32_t>(2));
    auto loaded = Load(hf);
    EXPECT_EQ(loaded->kind(), "hf-bpe");
    EXPECT_EQ(loaded->eos_id(), std::optional<int32_t>(2));
    EXPECT_EQ(SampleIds(*loaded), ReferenceIds());
    ASSERT_TRUE(model::WriteGguf(hf, dir.File("back.gguf"), Quiet()).ok());
    auto gguf = Load(Open(dir.File("back.gguf")));
    EXPECT_EQ(gguf->kind(), "spm-bpe");
    EXPECT_EQ(SampleIds(*gguf), ReferenceIds());
}

}  // namespace
}  // namespace tenpak::tokenizer
