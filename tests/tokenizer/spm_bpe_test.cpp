// "spm-bpe" on hand-made vocabularies whose answers can be worked out by hand: merge order by
// score, ties, byte fallback, SentencePiece's whitespace rules, user-defined and unused pieces.
#include <gtest/gtest.h>

#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::tokenizer {
namespace {

constexpr const char* kMarker = "\xE2\x96\x81";

// <unk> 0, <s> 1, </s> 2, <0x00>..<0xFF> 3..258, then `pieces` from 259 with falling scores.
io::Vocab SmallVocab(const std::vector<std::pair<std::string, io::TokenType>>& pieces, bool byte_tokens = true) {
    io::Vocab v;
    auto add = [&](std::string piece, float score, io::TokenType type) {
        v.tokens.push_back(std::move(piece));
        v.scores.push_back(score);
        v.types.push_back(type);
    };
    add("<unk>", 0, io::TokenType::kUnknown);
    add("<s>", 0, io::TokenType::kControl);
    add("</s>", 0, io::TokenType::kControl);
    if (byte_tokens) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (int b = 0; b < 256; ++b)
            add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", 0, io::TokenType::kByte);
    }
    float score = 0;
    for (const auto& [piece, type] : pieces) add(piece, score--, type);
    v.unk_id = 0;
    v.bos_id = 1;
    v.eos_id = 2;
    return v;
}

std::string M(const std::string& s) {  // spaces as the marker
    std::string out;
    for (char c : s) out += c == ' ' ? std::string(kMarker) : std::string(1, c);
    return out;
}

std::unique_ptr<Tokenizer> Make(const io::Vocab& v) {
    Result<std::unique_ptr<Tokenizer>> t = TokenizerFromVocab(v);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t).value();
}

constexpr int32_t kFirst = 259;  // id of the first piece when byte tokens are present
int32_t Byte(int b) {
    return 3 + b;
}

TEST(SpmBpeTest, MergesHighestScoreFirstAndLeftmostOnTies) {
    using T = io::TokenType;
    // "bc" scores above "ab", so "abc" becomes "a" + "bc", not "ab" + "c".
    const io::Vocab v = SmallVocab({{"bc", T::kNormal},
                                    {"ab", T::kNormal},
                                    {M(" "), T::kNormal},
                                    {"a", T::kNormal},
                                    {"b", T::kNormal},
                                    {"c", T::kNormal}});
    auto t = Make(v);
    EXPECT_EQ(t->kind(), "spm-bpe");
    const int32_t bc = kFirst, ab = kFirst + 1, sp = kFirst + 2, a = kFirst + 3, b = kFirst + 4;
    EXPECT_EQ(t->Encode("abc", false), (std::vector<int32_t>{sp, a, bc}));
    EXPECT_EQ(t->Encode("ab", true), (std::vector<int32_t>{1, sp, ab}));
    // Two equal-score candidates ("ab" at 0 and at 2 in "abab"): both merge, leftmost first.
    EXPECT_EQ(t->Encode("abab", false), (std::vector<int32_t>{sp, ab, ab}));
    // "bcb": candidates "bc" (score 0) at 0 and "cb" (not a piece); then nothing.
    EXPECT_EQ(t->Encode("bcb", false), (std::vector<int32_t>{sp, bc, b}));
    // Equal scores for two overlapping pairs: with "ab" and "ba" scored alike, "aba" merges the left one.
    io::Vocab tie = SmallVocab({{"ab", T::kNormal}, {"ba", T::kNormal}, {"a", T::kNormal}, {"b", T::kNormal}});
    tie.scores[kFirst + 1] = tie.scores[kFirst];
    tie.add_space_prefix = false;
    EXPECT_EQ(Make(tie)->Encode("aba", false), (std::vector<int32_t>{kFirst, kFirst + 2}));
    EXPECT_EQ(Make(tie)->Encode("bab", false), (std::vector<int32_t>{kFirst + 1, kFirst + 3}));
}

TEST(SpmBpeTest, ByteFallbackForCharactersAndInvalidUtf8) {
    using T = io::TokenType;
    auto t = Make(SmallVocab({{M(" a"), T::kNormal}, {M(" "), T::kNormal}, {"a", T::kNormal}}));
    // 'é' is not a piece: its two UTF-8 bytes.
    EXPECT_EQ(t->Encode("a\xC3\xA9", false), (std::vector<int32_t>{kFirst, Byte(0xC3), Byte(0xA9)}));
    // A stray byte, an overlong '/', a surrogate and a cut-off sequence: each byte on its own.
    for (const std::string bad : {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xE6\x97"}) {
        std::vector<int32_t> want{kFirst + 1};
        for (unsigned char ch : bad) want.push_back(Byte(ch));
        EXPECT_EQ(t->Encode(bad, false), want) << bad.size();
        EXPECT_EQ(t->Decode(t->Encode(bad, false)), bad);
    }
}

TEST(SpmBpeTest, WithoutByteTokensUnknownCharactersBecomeUnk) {
    using T = io::TokenType;
    io::Vocab v = SmallVocab({{M(" a"), T::kNormal}, {"a", T::kNormal}}, /*byte_tokens=*/false);
    v.add_space_prefix = false;
    auto t = Make(v);
    EXPECT_EQ(t->Encode("a\xC3\xA9"
                        "a",
                        false),
              (std::vector<int32_t>{3 + 1, 0, 3 + 1}));
}

TEST(SpmBpeTest, WhitespaceFollowsSentencePieceRules) {
    using T = io::TokenType;
    const io::Vocab base = SmallVocab({{M(" "), T::kNormal}, {"a", T::kNormal}, {"\n", T::kNormal}});
    const int32_t sp = kFirst, a = kFirst + 1, nl = kFirst + 2;
    auto collapse = Make(base);  // unset: SentencePiece's defaults, dummy prefix + remove extra whitespace
    EXPECT_EQ(collapse->Encode("", false), std::vector<int32_t>{});
    EXPECT_EQ(collapse->Encode("   ", false), std::vector<int32_t>{});
    EXPECT_EQ(collapse->Encode("  a   a  ", false), (std::vector<int32_t>{sp, a, sp, a}));
    EXPECT_EQ(collapse->Encode("\n", false), (std::vector<int32_t>{sp, nl}));
    EXPECT_EQ(collapse->Encode("a \n a", false), (std::vector<int32_t>{sp, a, sp, nl, sp, a}));
    // Trailing markers go, even a literal '▁' in the text.
    EXPECT_EQ(collapse->Encode(M("a  "), false), (std::vector<int32_t>{sp, a}));

    io::Vocab keep = base;
    keep.remove_extra_whitespaces = false;
    auto t = Make(keep);  // Llama 2's setting
    EXPECT_EQ(t->Encode("   ", false), (std::vector<int32_t>{sp, sp, sp, sp}));
    EXPECT_EQ(t->Encode(" a ", false), (std::vector<int32_t>{sp, sp, a, sp}));
    EXPECT_EQ(t->Decode(t->Encode(" a ", true)), " a ");

    keep.add_space_prefix = false;
    EXPECT_EQ(Make(keep)->Encode("a a", false), (std::vector<int32_t>{a, sp, a}));
    EXPECT_EQ(Make(keep)->Decode(std::vector<int32_t>{sp, a}), " a");
}

TEST(SpmBpeTest, UserDefinedPiecesAreMatchedWholeAndNeverMerged) {
    using T = io::TokenType;
    io::Vocab v = SmallVocab({{"<tag>", T::kUserDefined}, {"a<", T::kNormal}, {"a", T::kNormal}, {"<", T::kNormal}});
    v.add_space_prefix = false;
    auto t = Make(v);
    const int32_t tag = kFirst, a_lt = kFirst + 1, a = kFirst + 2;
    EXPECT_EQ(t->Encode("a<tag>a", false), (std::vector<int32_t>{a, tag, a}));
    EXPECT_EQ(t->Encode("a<", false), (std::vector<int32_t>{a_lt}));
}

TEST(SpmBpeTest, UnusedPiecesAreSplitBackIntoWhatMadeThem) {
    using T = io::TokenType;
    io::Vocab v = SmallVocab({{"abc", T::kNormal},
                              {"ab", T::kUnused},
                              {"a", T::kNormal},
                              {"b", T::kNormal},
                              {"c", T::kNormal},
                              {"d", T::kNormal}});
    v.add_space_prefix = false;
    auto t = Make(v);
    const int32_t abc = kFirst, a = kFirst + 2, b = kFirst + 3, d = kFirst + 5;
    EXPECT_EQ(t->Encode("abc", false), (std::vector<int32_t>{abc}));  // "ab" is a step on the way
    EXPECT_EQ(t->Encode("abd", false), (std::vector<int32_t>{a, b, d}));
}

TEST(SpmBpeTest, TokenBytesAndDecode) {
    using T = io::TokenType;
    auto t = Make(SmallVocab({{M(" a"), T::kNormal}, {M(" "), T::kNormal}, {"a", T::kNormal}}));
    EXPECT_EQ(t->TokenBytes(kFirst), " a");
    EXPECT_EQ(t->TokenBytes(Byte('\n')), "\n");
    EXPECT_EQ(t->TokenBytes(1), "");
    EXPECT_EQ(t->TokenBytes(0), "<unk>");
    EXPECT_EQ(t->TokenBytes(-1), "");
    EXPECT_EQ(t->TokenBytes(100000), "");
    EXPECT_EQ(t->Decode(std::vector<int32_t>{1, kFirst, kFirst, 2}), "a a");
    EXPECT_TRUE(t->add_bos_by_default());
}

TEST(SpmBpeTest, RejectsVocabulariesItCannotRun) {
    io::Vocab v = SmallVocab({});
    v.scores.pop_back();
    Result<std::unique_ptr<Tokenizer>> t = TokenizerFromVocab(v);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kCorruption);
    EXPECT_NE(t.status().message().find("scores"), std::string::npos) << t.status().message();
    v.model = "bert";
    EXPECT_EQ(TokenizerFromVocab(v).status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(TokenizerFromVocab(io::Vocab{}).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace tenpak::tokenizer
