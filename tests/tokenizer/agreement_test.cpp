// The key check of the tokenizer module: for the bundled model, every way TenPak can tokenize gives
// the ids of the reference, libsentencepiece running tok512.model, on fixed strings and on the whole
// TinyStories samples:
//   "sentencepiece"  tok512.model through libsentencepiece (the reference)
//   "spm-bpe"        the llama2.c tokenizer tok512.bin (ReadLlama2cTokenizer)
//   "spm-bpe"        the vocabulary llama.cpp's converter wrote into stories260K-f32.gguf
//   "hf-bpe"         tokenizer.json written from that vocabulary and read back
#include <gtest/gtest.h>

#include <chrono>

#include "tenpak/io/gguf.h"
#include "tenpak/io/tokenizer_json.h"
#include "tenpak/tokenizer/tokenizer.h"
#include "test_util.h"

namespace tenpak::tokenizer {
namespace {

std::unique_ptr<Tokenizer> Check(Result<std::unique_ptr<Tokenizer>> t) {
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
}

struct Paths {
    std::unique_ptr<Tokenizer> reference;
    std::vector<std::pair<std::string, std::unique_ptr<Tokenizer>>> others;
};

Paths AllPaths() {
    Paths p;
    const std::string model = testing::ReadFile(testing::SharedData("stories260K/tok512.model"));
    p.reference = Check(SentencePieceTokenizer(model, "tok512.model"));

    Result<io::Vocab> bin = io::ReadLlama2cTokenizer(testing::SharedData("stories260K/tok512.bin"));
    EXPECT_TRUE(bin.ok()) << bin.status().ToString();
    p.others.emplace_back("tok512.bin", Check(TokenizerFromVocab(*bin)));

    auto gguf = io::GgufReader::Open(testing::SharedData("stories260K/gguf/stories260K-f32.gguf"));
    EXPECT_TRUE(gguf.ok());
    Result<io::Vocab> gguf_vocab = io::VocabFromGguf((*gguf)->metadata(), "stories260K-f32.gguf");
    EXPECT_TRUE(gguf_vocab.ok()) << gguf_vocab.status().ToString();
    p.others.emplace_back("stories260K-f32.gguf", Check(TokenizerFromVocab(*gguf_vocab)));

    Result<std::string> json = io::WriteTokenizerJson(*gguf_vocab);
    EXPECT_TRUE(json.ok()) << json.status().ToString();
    p.others.emplace_back("tokenizer.json", Check(TokenizerFromJson(*json, "tokenizer.json")));
    return p;
}

std::string Show(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += std::to_string(id) + " ";
    return s;
}

TEST(AgreementTest, KindsAreTheExpectedOnes) {
    const Paths p = AllPaths();
    EXPECT_EQ(p.reference->kind(), "sentencepiece");
    EXPECT_EQ(p.others[0].second->kind(), "spm-bpe");
    EXPECT_EQ(p.others[1].second->kind(), "spm-bpe");
    EXPECT_EQ(p.others[2].second->kind(), "hf-bpe");
    for (const auto& [name, t] : p.others) {
        EXPECT_EQ(t->vocab_size(), 512u) << name;
        EXPECT_EQ(t->bos_id(), std::optional<int32_t>(1)) << name;
    }
}

TEST(AgreementTest, FixedStrings) {
    const Paths p = AllPaths();
    const std::vector<std::string> texts = {
        "Once upon a time, there was a little girl named Lily.",
        "Hello world",
        "",
        " ",
        "   ",
        "\n",
        "\n\n",
        "a\nb\n\nc",
        " leading space",
        "trailing space ",
        "two  spaces and   three",
        "Tom had 3 apples and 12 pears; 2024-01-15, 3.14159, 1,000,000.",
        "It's the dog's bone. They'll say \"Hi!\" (quietly) -- ok?",
        "café",
        "naïve façade",
        "日本語のテキスト",
        "Emoji: 😀🎉👍🏽",
        "Combining: e\xCC\x81 n\xCC\x83",
        "Mixed: Ελληνικά, русский, עברית, العربية",
        "tab\there",
        "\xE2\x96\x81 literal marker \xE2\x96\x81",
        "\xE2\x96\x81",
        "< s > <0x41> <unk",
    };
    for (const std::string& text : texts) {
        for (bool bos : {false, true}) {
            const std::vector<int32_t> want = p.reference->Encode(text, bos);
            for (const auto& [name, t] : p.others) {
                EXPECT_EQ(t->Encode(text, bos), want) << name << " on '" << text << "'\n  reference: " << Show(want)
                                                      << "\n  got:       " << Show(t->Encode(text, bos));
            }
        }
    }
}

void ExpectSameOnFile(const std::string& file, size_t expected_tokens) {
    const Paths p = AllPaths();
    const std::string text = testing::ReadFile(testing::SourcePath("models/text/" + file));
    const std::vector<int32_t> want = p.reference->Encode(text, true);
    EXPECT_EQ(want.size(), expected_tokens) << file;
    for (const auto& [name, t] : p.others) {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<int32_t> got = t->Encode(text, true);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("[ %s ] %s: %zu tokens in %.3f s\n", file.c_str(), name.c_str(), got.size(), seconds);
        ASSERT_EQ(got.size(), want.size()) << name;
        size_t first_difference = 0;
        while (first_difference < got.size() && got[first_difference] == want[first_difference]) ++first_difference;
        EXPECT_EQ(first_difference, got.size()) << name << " differs from the reference at token " << first_difference;
        EXPECT_EQ(p.reference->Decode(got), t->Decode(want)) << name;
    }
}

// Token counts include BOS. The validation sample has 6 runs of two spaces, which SentencePiece
// collapses (tok512.model leaves remove_extra_whitespaces at its default, on); every path follows.
TEST(AgreementTest, WholeValidationSample) {
    ExpectSameOnFile("tinystories_val.txt", 393013);
}
TEST(AgreementTest, WholeTrainHeadSample) {
    ExpectSameOnFile("tinystories_train_head.txt", 100703);
}

// The one place the paths part on purpose: tokenizer.json names <unk>, <s> and </s> as added tokens, and
// transformers' fast tokenizer turns them into BOS / EOS wherever they appear in the text, while
// SentencePiece (and llama.cpp without parse_special) spells them out as characters.
TEST(AgreementTest, OnlyTokenizerJsonMatchesControlTokensInText) {
    const Paths p = AllPaths();
    const std::string text = "<s>Hi</s>";
    const std::vector<int32_t> reference = p.reference->Encode(text, false);
    EXPECT_EQ(p.others[0].second->Encode(text, false), reference);
    EXPECT_EQ(p.others[1].second->Encode(text, false), reference);
    const std::vector<int32_t> json = p.others[2].second->Encode(text, false);
    ASSERT_GE(json.size(), 3u);
    EXPECT_EQ(json.front(), 1);
    EXPECT_EQ(json.back(), 2);
    EXPECT_EQ(std::vector<int32_t>(json.begin() + 1, json.end() - 1), p.reference->Encode("Hi", false));
}

}  // namespace
}  // namespace tenpak::tokenizer
