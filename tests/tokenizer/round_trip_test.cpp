// Decode(Encode(s)) == s on Unicode text, for every kind of tokenizer; and, for SentencePiece
// models that remove extra whitespace (tok512.model does), exactly which whitespace comes back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tenpak/io/tokenizer_json.h"
#include "tenpak/tokenizer/tokenizer.h"
#include "test_util.h"
#include "tokenizer/byte_level_internal.h"

namespace tenpak::tokenizer {
namespace {

const std::vector<std::string>& Texts() {
    static const std::vector<std::string> texts = {
        "Once upon a time",
        "",
        "\n",
        "\n\n",
        "line one\nline two\n\nline four\n",
        " leading",
        "trailing ",
        "   ",
        "many   spaces  here",
        "tab\tand\r\ncarriage",
        "café naïve façade",
        "日本語のテキストと中文",
        "emoji 😀🎉 family 👨‍👩‍👧 skin 👍🏽 flag 🇫🇷",
        "combining e\xCC\x81 a\xCC\x8A n\xCC\x83 (NFD)",
        "Ελληνικά русский עברית العربية हिन्दी",
        "math ∑∫√∞ ≠ ≤",
    };
    return texts;
}

std::unique_ptr<Tokenizer> Unwrap(Result<std::unique_ptr<Tokenizer>> t) {
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t).value();
}

io::Vocab Tok512Vocab() {
    Result<io::Vocab> v = io::ReadLlama2cTokenizer(testing::SharedData("stories260K/tok512.bin"));
    EXPECT_TRUE(v.ok());
    return *v;
}

// SentencePiece's remove_extra_whitespaces, as Decode shows it: no leading or trailing spaces,
// runs of spaces as one. (The dummy prefix is removed again by Decode.)
std::string CleanedSpaces(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    // A trailing literal '▁' is removed as well; no test text ends with one.
    return out;
}

TEST(RoundTripTest, TokenizersThatKeepWhitespaceGiveTheTextBack) {
    io::Vocab keep = Tok512Vocab();
    keep.remove_extra_whitespaces = false;
    std::vector<std::pair<std::string, std::unique_ptr<Tokenizer>>> tokenizers;
    tokenizers.emplace_back("spm-bpe, whitespace kept", Unwrap(TokenizerFromVocab(keep)));
    Result<std::string> json = io::WriteTokenizerJson(keep);
    ASSERT_TRUE(json.ok());
    tokenizers.emplace_back("hf-bpe, whitespace kept", Unwrap(TokenizerFromJson(*json, "tokenizer.json")));
    // A byte-level vocabulary with no merges at all: every byte is a token.
    io::Vocab bytes;
    bytes.model = "gpt2";
    for (int b = 0; b < 256; ++b) bytes.tokens.emplace_back(internal::ByteLevelChar(static_cast<uint8_t>(b)));
    bytes.types.assign(256, io::TokenType::kNormal);
    bytes.tokens.push_back("<|endoftext|>");
    bytes.types.push_back(io::TokenType::kControl);
    for (const std::string pre : {"gpt-2", "llama-bpe"}) {
        bytes.pre = pre;
        tokenizers.emplace_back("byte-level " + pre, Unwrap(TokenizerFromVocab(bytes)));
    }
    for (const auto& [name, t] : tokenizers) {
        for (const std::string& text : Texts()) {
            for (bool bos : {false, true}) {
                EXPECT_EQ(t->Decode(t->Encode(text, bos)), text) << name << ": '" << text << "'";
            }
        }
        const std::string zero("a\0b", 3);
        EXPECT_EQ(t->Decode(t->Encode(zero, false)), zero) << name;
        const std::string invalid = "bad \xFF\xFE utf-8 \xC3 end \xE6\x97";
        EXPECT_EQ(t->Decode(t->Encode(invalid, false)), invalid) << name;
    }
    // SentencePiece-style pieces spell a space as '▁', so a '▁' in the text comes back as a space
    // (SentencePiece's own decoder does the same); byte-level tokenizers keep it.
    const std::string marker = "\xE2\x96\x81 a literal marker";
    EXPECT_EQ(tokenizers[0].second->Decode(tokenizers[0].second->Encode(marker, false)), "  a literal marker");
    EXPECT_EQ(tokenizers[1].second->Decode(tokenizers[1].second->Encode(marker, false)), "  a literal marker");
    EXPECT_EQ(tokenizers[2].second->Decode(tokenizers[2].second->Encode(marker, false)), marker);
}

TEST(RoundTripTest, SentencePieceWithRemoveExtraWhitespacesCleansSpacesOnly) {
    std::vector<std::pair<std::string, std::unique_ptr<Tokenizer>>> tokenizers;
    tokenizers.emplace_back("sentencepiece",
                            Unwrap(SentencePieceTokenizer(
                                testing::ReadFile(testing::SharedData("stories260K/tok512.model")), "tok512.model")));
    tokenizers.emplace_back("spm-bpe", Unwrap(TokenizerFromVocab(Tok512Vocab())));
    Result<std::string> json = io::WriteTokenizerJson(Tok512Vocab());
    ASSERT_TRUE(json.ok());
    tokenizers.emplace_back("hf-bpe", Unwrap(TokenizerFromJson(*json, "tokenizer.json")));
    for (const auto& [name, t] : tokenizers) {
        for (const std::string& text : Texts()) {
            EXPECT_EQ(t->Decode(t->Encode(text, true)), CleanedSpaces(text)) << name << ": '" << text << "'";
        }
        EXPECT_EQ(t->Decode(t->Encode("  two  spaces \n two ", false)), "two spaces \n two") << name;
    }
    // Invalid UTF-8: SentencePiece replaces each bad byte by U+FFFD before encoding; TenPak's own
    // encoders keep the byte (llama.cpp does the same), so only they give it back.
    const std::string invalid =
        "a\xFF"
        "b";
    EXPECT_EQ(tokenizers[0].second->Decode(tokenizers[0].second->Encode(invalid, false)),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(tokenizers[1].second->Decode(tokenizers[1].second->Encode(invalid, false)), invalid);
    EXPECT_EQ(tokenizers[2].second->Decode(tokenizers[2].second->Encode(invalid, false)), invalid);
}

}  // namespace
}  // namespace tenpak::tokenizer
