// "byte-level-bpe": GPT-2's byte-to-unicode mapping, the GPT-2 and Llama 3 pre-tokenizer regexes on
// tricky text, merges by rank, ignore_merges and added tokens, on a hand-made vocabulary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tenpak/io/tokenizer_json.h"
#include "tenpak/tokenizer/tokenizer.h"
#include "tokenizer/byte_level_internal.h"
#include "tokenizer/text_steps_internal.h"

namespace tenpak::tokenizer {
namespace {

using internal::ByteLevelChar;

TEST(ByteLevelTest, MapsEveryByteToOnePrintableCharacter) {
    EXPECT_EQ(ByteLevelChar(' '), "\xC4\xA0");   // 'Ġ' U+0120
    EXPECT_EQ(ByteLevelChar('\n'), "\xC4\x8A");  // 'Ċ' U+010A
    EXPECT_EQ(ByteLevelChar('A'), "A");
    EXPECT_EQ(ByteLevelChar(0xE9), "\xC3\xA9");  // 'é' stands for itself
    EXPECT_EQ(ByteLevelChar(0xAD), "\xC5\x83");  // the soft hyphen is the last remapped byte: U+0143
    std::set<std::string> seen;
    for (int b = 0; b < 256; ++b) {
        seen.insert(std::string(ByteLevelChar(static_cast<uint8_t>(b))));
    }
    EXPECT_EQ(seen.size(), 256u);
}

std::vector<std::string> Words(std::string_view pattern, bool byte_level_regex, std::string_view text) {
    std::vector<io::PreTokenizerStep> steps(1);
    if (byte_level_regex) {
        steps[0].kind = io::PreTokenizerStep::Kind::kByteLevel;
        steps[0].use_regex = true;
    } else {
        steps[0].kind = io::PreTokenizerStep::Kind::kSplit;
        steps[0].pattern = {std::string(pattern), true};
        steps[0].behavior = io::SplitBehavior::kIsolated;
    }
    Result<internal::PreTokenizer> pre = internal::PreTokenizer::Create(steps, "test");
    EXPECT_TRUE(pre.ok()) << pre.status().ToString();
    std::vector<std::string> words = pre->Apply(text, true);
    if (byte_level_regex) {  // back from byte-level characters, to compare with plain text
        for (std::string& w : words) {
            std::string plain;
            for (size_t i = 0; i < w.size();) {
                bool found = false;
                for (int b = 0; b < 256 && !found; ++b) {
                    const std::string_view c = ByteLevelChar(static_cast<uint8_t>(b));
                    if (std::string_view(w).substr(i).starts_with(c)) {
                        plain += static_cast<char>(b);
                        i += c.size();
                        found = true;
                    }
                }
                if (!found) return {"<unmapped>"};
            }
            w = plain;
        }
    }
    return words;
}

using V = std::vector<std::string>;

TEST(ByteLevelTest, Gpt2RegexSplitsTrickyText) {
    auto gpt2 = [](std::string_view text) { return Words("", true, text); };
    EXPECT_EQ(gpt2("Hello world"), (V{"Hello", " world"}));
    EXPECT_EQ(gpt2("I'm sure you're right, it's John's."),
              (V{"I", "'m", " sure", " you", "'re", " right", ",", " it", "'s", " John", "'s", "."}));
    EXPECT_EQ(gpt2("DON'T"), (V{"DON", "'", "T"}));  // contractions are lower-case only here
    EXPECT_EQ(gpt2("In 2024 I had 12345 apples"), (V{"In", " 2024", " I", " had", " 12345", " apples"}));
    EXPECT_EQ(gpt2("a   b"), (V{"a", "  ", " b"}));  // the last space of a run goes with the next word
    // "\s+(?!\S)" cannot end right before 'b', so a run of newlines before a word splits in two.
    EXPECT_EQ(gpt2("a\n\nb  "), (V{"a", "\n", "\n", "b", "  "}));
    EXPECT_EQ(gpt2("Привет мир 日本語"), (V{"Привет", " мир", " 日本語"}));
    EXPECT_EQ(gpt2("e\xCC\x81t\xC3\xA9"), (V{"e", "\xCC\x81", "t\xC3\xA9"}));  // a combining mark is no letter
    EXPECT_EQ(gpt2("hi!!! ??"), (V{"hi", "!!!", " ??"}));
    EXPECT_EQ(gpt2("a\xFF"
                   "b"),
              (V{"a", "\xFF", "b"}));  // invalid UTF-8 stays, in a word of its own
}

TEST(ByteLevelTest, Llama3RegexSplitsTrickyText) {
    auto llama3 = [](std::string_view text) { return Words(io::kLlama3Pattern, false, text); };
    EXPECT_EQ(llama3("DON'T you're"), (V{"DON", "'T", " you", "'re"}));
    EXPECT_EQ(llama3("12345678"), (V{"123", "456", "78"}));
    EXPECT_EQ(llama3("in 2024"), (V{"in", " ", "202", "4"}));
    EXPECT_EQ(llama3("a   b"), (V{"a", "  ", " b"}));
    EXPECT_EQ(llama3("Hello\n\nworld"), (V{"Hello", "\n\n", "world"}));
    EXPECT_EQ(llama3("end.\n\nNext"), (V{"end", ".\n\n", "Next"}));
    EXPECT_EQ(llama3("$hello"), (V{"$hello"}));  // one non-letter may lead a word
    EXPECT_EQ(llama3("Привет, мир"), (V{"Привет", ",", " мир"}));
    auto qwen2 = [](std::string_view text) { return Words(io::kQwen2Pattern, false, text); };
    EXPECT_EQ(qwen2("x 123"), (V{"x", " ", "1", "2", "3"}));
}

// A byte-level vocabulary: the 256 byte characters as ids 0..255 (by byte value), then a few merges.
nlohmann::json HandMadeJson(bool ignore_merges, bool with_cat_merge) {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[std::string(ByteLevelChar(static_cast<uint8_t>(b)))] = b;
    const std::vector<std::string> pieces = {"Ġt", "he", "Ġthe", "in", "Ġc", "at", "Ġcat"};
    for (size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = 256 + i;
    vocab["<|endoftext|>"] = 263;
    nlohmann::json merges = {"Ġ t", "h e", "Ġt he", "i n", "a t", "Ġ c"};
    if (with_cat_merge) merges.push_back("Ġc at");
    return {
        {"version", "1.0"},
        {"added_tokens", {{{"id", 263}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}}}},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"post_processor", {{"type", "ByteLevel"}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"ignore_merges", ignore_merges},
          {"vocab", vocab},
          {"merges", merges}}},
    };
}

std::unique_ptr<Tokenizer> FromJson(const nlohmann::json& j) {
    Result<std::unique_ptr<Tokenizer>> t = TokenizerFromJson(j.dump(), "hand-made tokenizer.json");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t).value();
}

TEST(ByteLevelTest, HandMadeVocabularyGivesKnownIds) {
    auto t = FromJson(HandMadeJson(false, true));
    EXPECT_EQ(t->kind(), "byte-level-bpe");
    EXPECT_FALSE(t->add_bos_by_default());
    // "the": only "h e" applies -> t, he. " cat": "a t" (rank 4) before "Ġ c" (rank 5), then "Ġc at".
    // " the": "Ġ t" (rank 0), "h e", then "Ġt he".
    const std::string text = "the cat<|endoftext|> the";
    EXPECT_EQ(t->Encode(text, false), (std::vector<int32_t>{'t', 257, 262, 263, 258}));
    EXPECT_EQ(t->Decode(t->Encode(text, false)), "the cat the");  // the control token decodes to nothing
    EXPECT_EQ(t->TokenBytes(256), " t");
    EXPECT_EQ(t->TokenBytes(263), "");
    // Any bytes: each becomes its byte token.
    const std::string bytes("\xFF\x00\xC3(\n\t", 6);
    EXPECT_EQ(t->Encode(bytes, false), (std::vector<int32_t>{0xFF, 0, 0xC3, '(', '\n', '\t'}));
    EXPECT_EQ(t->Decode(t->Encode(bytes, false)), bytes);
}

TEST(ByteLevelTest, MergesByRankNotLength) {
    // Without the "Ġc at" merge, " cat" stops at Ġc + at; with ignore_merges a word that is a piece
    // is taken whole, whatever the merges say (Llama 3's setting).
    EXPECT_EQ(FromJson(HandMadeJson(false, false))->Encode(" cat", false), (std::vector<int32_t>{260, 261}));
    EXPECT_EQ(FromJson(HandMadeJson(true, false))->Encode(" cat", false), (std::vector<int32_t>{262}));
}

TEST(ByteLevelTest, GgufStyleVocabularyEncodesLikeItsTokenizerJson) {
    const nlohmann::json j = HandMadeJson(false, true);
    Result<io::Vocab> vocab = io::VocabFromTokenizerJson(j.dump(), "hand-made");
    ASSERT_TRUE(vocab.ok()) << vocab.status().ToString();
    EXPECT_EQ(vocab->model, "gpt2");
    EXPECT_EQ(vocab->pre, "gpt-2");
    EXPECT_EQ(vocab->merges.size(), 7u);
    EXPECT_EQ(vocab->types[263], io::TokenType::kControl);
    Result<std::unique_ptr<Tokenizer>> from_vocab = TokenizerFromVocab(*vocab);
    ASSERT_TRUE(from_vocab.ok()) << from_vocab.status().ToString();
    EXPECT_EQ((*from_vocab)->kind(), "byte-level-bpe");
    for (const std::string text : {"the cat<|endoftext|> the", "  cat\n\nthe 123 ", "naïve 日本"}) {
        EXPECT_EQ((*from_vocab)->Encode(text, false), FromJson(j)->Encode(text, false)) << text;
    }
    // And written back out as tokenizer.json, for the llama.cpp pre-tokenizer names TenPak knows.
    for (const std::string pre : {"gpt-2", "llama-bpe", "qwen2"}) {
        io::Vocab v = *vocab;
        v.pre = pre;
        Result<std::string> json = io::WriteTokenizerJson(v);
        ASSERT_TRUE(json.ok()) << json.status().ToString();
        Result<io::Vocab> back = io::VocabFromTokenizerJson(*json, "written");
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        EXPECT_EQ(back->pre, pre);
        EXPECT_EQ(back->merges, v.merges);
        EXPECT_EQ(back->tokens, v.tokens);
        Result<std::unique_ptr<Tokenizer>> a = TokenizerFromVocab(v);
        Result<std::unique_ptr<Tokenizer>> b = TokenizerFromJson(*json, "written");
        ASSERT_TRUE(a.ok() && b.ok());
        for (const std::string text : {"the cat 2024 DON'T", "a\n\n  b"}) {
            EXPECT_EQ((*a)->Encode(text, false), (*b)->Encode(text, false)) << pre << ": " << text;
        }
    }
    io::Vocab unknown = *vocab;
    unknown.pre = "deepseek-llm";
    EXPECT_EQ(TokenizerFromVocab(unknown).status().code(), StatusCode::kUnsupported);
    EXPECT_EQ(io::WriteTokenizerJson(unknown).status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace tenpak::tokenizer
