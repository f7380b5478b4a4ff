// The tokenizer.json pipeline beyond the two files the other tests use: Split behaviours, Metaspace,
// Digits, added-token options, unknown tokens, and transformers' own Llama file layout.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tenpak/io/tokenizer_json.h"
#include "tenpak/tokenizer/tokenizer.h"
#include "test_util.h"
#include "tokenizer/text_steps_internal.h"

namespace tenpak::tokenizer {
namespace {

using V = std::vector<std::string>;
constexpr const char* kMarker = "\xE2\x96\x81";

V Split(std::string_view pattern, bool regex, io::SplitBehavior behavior, bool invert, std::string_view text) {
    io::PreTokenizerStep step;
    step.kind = io::PreTokenizerStep::Kind::kSplit;
    step.pattern = {std::string(pattern), regex};
    step.behavior = behavior;
    step.invert = invert;
    Result<internal::PreTokenizer> pre = internal::PreTokenizer::Create({step}, "test");
    EXPECT_TRUE(pre.ok()) << pre.status().ToString();
    return pre->Apply(text, true);
}

// The examples of tokenizers' SplitDelimiterBehavior documentation.
TEST(JsonTokenizerTest, SplitBehaviours) {
    using B = io::SplitBehavior;
    const std::string text = "the-final--countdown";
    EXPECT_EQ(Split("-", false, B::kRemoved, false, text), (V{"the", "final", "countdown"}));
    EXPECT_EQ(Split("-", false, B::kIsolated, false, text), (V{"the", "-", "final", "-", "-", "countdown"}));
    EXPECT_EQ(Split("-", false, B::kMergedWithPrevious, false, text), (V{"the-", "final-", "-", "countdown"}));
    EXPECT_EQ(Split("-", false, B::kMergedWithNext, false, text), (V{"the", "-final", "-", "-countdown"}));
    EXPECT_EQ(Split("-", false, B::kContiguous, false, text), (V{"the", "-", "final", "--", "countdown"}));
    // Inverted: the matches are what is kept apart ("Removed" keeps only the matches).
    EXPECT_EQ(Split(R"(\p{L}+)", true, B::kRemoved, true, "ab, cd!"), (V{"ab", "cd"}));
}

TEST(JsonTokenizerTest, DigitsAndMetaspace) {
    io::PreTokenizerStep digits;
    digits.kind = io::PreTokenizerStep::Kind::kDigits;
    digits.individual_digits = true;
    Result<internal::PreTokenizer> pre = internal::PreTokenizer::Create({digits}, "test");
    ASSERT_TRUE(pre.ok());
    EXPECT_EQ(pre->Apply("ab12c٣", true), (V{"ab", "1", "2", "c", "٣"}));

    io::PreTokenizerStep meta;
    meta.kind = io::PreTokenizerStep::Kind::kMetaspace;
    meta.replacement = kMarker;
    meta.prepend_scheme = io::PrependScheme::kFirst;
    meta.split = true;
    pre = internal::PreTokenizer::Create({meta}, "test");
    ASSERT_TRUE(pre.ok());
    const std::string m = kMarker;
    EXPECT_EQ(pre->Apply("Hey friend", true), (V{m + "Hey", m + "friend"}));
    EXPECT_EQ(pre->Apply("Hey friend", false), (V{"Hey", m + "friend"}));  // not at the start: no prefix
    EXPECT_EQ(pre->Apply(" Hey", true), (V{m + "Hey"}));                   // already starts with the marker
}

// A tiny SentencePiece-like tokenizer.json ("~" stands for the marker '▁').
nlohmann::json TinyJson() {
    std::string text = R"({
      "added_tokens": [
        {"id": 0, "content": "<unk>", "special": true, "normalized": false},
        {"id": 1, "content": "<s>", "special": true, "normalized": false}],
      "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "~"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "~"}]},
      "pre_tokenizer": null,
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
      "decoder": null,
      "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": false,
        "vocab": {"<unk>": 0, "<s>": 1, "~": 2, "a": 3, "b": 4, "~a": 5, "ab": 6},
        "merges": ["~ a", "a b"]}
    })";
    std::string out;
    for (char c : text) out += c == '~' ? std::string(kMarker) : std::string(1, c);
    return nlohmann::json::parse(out);
}

std::unique_ptr<Tokenizer> FromJson(const nlohmann::json& j) {
    Result<std::unique_ptr<Tokenizer>> t = TokenizerFromJson(j.dump(), "tiny tokenizer.json");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
}

TEST(JsonTokenizerTest, UnknownCharactersFuseIntoOneUnk) {
    auto t = FromJson(TinyJson());
    EXPECT_EQ(t->kind(), "hf-bpe");
    EXPECT_EQ(t->bos_id(), std::optional<int32_t>(1));
    EXPECT_TRUE(t->add_bos_by_default());
    // "▁a" (rank 0) wins over "a b" (rank 1); "xy" are not in the vocab: one fused <unk>.
    EXPECT_EQ(t->Encode("abxyb", true), (std::vector<int32_t>{1, 5, 4, 0, 4}));
    nlohmann::json j = TinyJson();
    j["model"]["fuse_unk"] = false;
    EXPECT_EQ(FromJson(j)->Encode("abxyb", false), (std::vector<int32_t>{5, 4, 0, 0, 4}));
    j["model"]["unk_token"] = nullptr;  // then unknown characters are dropped, as tokenizers drops them
    EXPECT_EQ(FromJson(j)->Encode("abxyb", false), (std::vector<int32_t>{5, 4, 4}));
}

TEST(JsonTokenizerTest, AddedTokenOptions) {
    const std::string m = kMarker;
    nlohmann::json j = TinyJson();
    j["added_tokens"].push_back(nlohmann::json::parse(
        R"({"id": 7, "content": "[X]", "special": false, "normalized": false, "lstrip": true, "rstrip": true})"));
    j["added_tokens"].push_back(nlohmann::json::parse(
        R"({"id": 8, "content": "[W]", "special": false, "normalized": false, "single_word": true})"));
    // Normalized added tokens are looked for after the normalizer ran: "▁b" only exists then.
    nlohmann::json normalized = nlohmann::json::parse(R"({"id": 9, "special": false, "normalized": true})");
    normalized["content"] = m + "b";
    j["added_tokens"].push_back(normalized);
    auto t = FromJson(j);
    // [X] swallows the spaces around it; [W] matches as a word of its own but not after "a"
    // (then its three characters are one fused <unk>).
    EXPECT_EQ(t->Encode("a  [X]  ab", false), (std::vector<int32_t>{5, 7, 5, 4}));
    EXPECT_EQ(t->Encode("[W]", false), (std::vector<int32_t>{8}));
    EXPECT_EQ(t->Encode("a[W]", false), (std::vector<int32_t>{5, 0}));
    EXPECT_EQ(t->Encode("b", false), (std::vector<int32_t>{9}));
    EXPECT_EQ(t->TokenBytes(7), "[X]");  // not special: decodes to its text
    EXPECT_EQ(t->TokenBytes(1), "");
}

TEST(JsonTokenizerTest, StripAndRegexReplaceNormalizers) {
    nlohmann::json j = TinyJson();
    nlohmann::json& steps = j["normalizer"]["normalizers"];
    steps.insert(steps.begin(), nlohmann::json::parse(R"({"type": "Strip", "strip_left": true, "strip_right": true})"));
    steps.insert(steps.begin() + 1,
                 nlohmann::json::parse(R"({"type": "Replace", "pattern": {"Regex": "b+"}, "content": "b"})"));
    EXPECT_EQ(FromJson(j)->Encode(" \t abbb\n", false), (std::vector<int32_t>{5, 4}));
}

// transformers' tokenizer.json for a tokenizer.model (LlamaConverter: Prepend + Replace, no
// whitespace cleanup) encodes like llama.cpp's SPM tokenizer, i.e. "spm-bpe" told not to remove
// extra whitespace, also on the spaces SentencePiece itself would collapse for tok512.
TEST(JsonTokenizerTest, TransformersLlamaLayoutAgreesWithSpmBpeWithoutWhitespaceCleanup) {
    Result<io::Vocab> vocab = io::ReadLlama2cTokenizer(testing::SharedData("stories260K/tok512.bin"));
    ASSERT_TRUE(vocab.ok());
    vocab->remove_extra_whitespaces = false;
    Result<std::string> json = io::WriteTokenizerJson(*vocab);
    ASSERT_TRUE(json.ok());
    const nlohmann::json parsed = nlohmann::json::parse(*json);
    EXPECT_EQ(parsed["normalizer"]["normalizers"].size(), 2u);  // exactly LlamaConverter's
    auto spm = TokenizerFromVocab(*vocab);
    auto hf = TokenizerFromJson(*json, "tokenizer.json");
    ASSERT_TRUE(spm.ok() && hf.ok());
    for (const std::string text : {"  two  spaces  ", " x", "x ", "a\n \n b", "naïve 😀"}) {
        EXPECT_EQ((*hf)->Encode(text, true), (*spm)->Encode(text, true)) << text;
        EXPECT_EQ((*hf)->Decode((*hf)->Encode(text, true)), text);
    }
    const std::string sample = testing::ReadFile(testing::SourcePath("models/text/tinystories_val.txt"));
    EXPECT_EQ((*hf)->Encode(sample, true), (*spm)->Encode(sample, true));
    EXPECT_EQ((*spm)->Encode(sample, true).size(), 393013u + 6);  // the 6 double spaces kept
}

TEST(JsonTokenizerTest, FilesItCannotRunAreNamedAndUnsupported) {
    nlohmann::json j = TinyJson();
    j["model"]["type"] = "Unigram";
    Result<std::unique_ptr<Tokenizer>> t = TokenizerFromJson(j.dump(), "/m/tokenizer.json");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(t.status().message().find("/m/tokenizer.json: model type \"Unigram\""), std::string::npos)
        << t.status().message();
    j = TinyJson();
    j["normalizer"] = {{"type", "NFKC"}};
    t = TokenizerFromJson(j.dump(), "/m/tokenizer.json");
    EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(t.status().message().find("normalizer 'NFKC'"), std::string::npos) << t.status().message();
    j = TinyJson();
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
    t = TokenizerFromJson(j.dump(), "/m/tokenizer.json");
    EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(t.status().message().find("(unclosed"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace tenpak::tokenizer
