// tokenizer.json reading and writing (tenpak/io/tokenizer_json.h): the layout transformers writes
// for a SentencePiece model, the merges its SentencePieceExtractor derives, round trips, and the
// errors hostile or unsupported files give. Also the Vocab keys that carry the same facts in GGUF.
#include "tenpak/io/tokenizer_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tenpak/io/gguf.h"
#include "test_util.h"

namespace tenpak::io {
namespace {

constexpr const char* kMarker = "\xE2\x96\x81";

Vocab Tok512() {
    Result<Vocab> v = ReadLlama2cTokenizer(testing::SharedData("stories260K/tok512.bin"));
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
}

nlohmann::ordered_json Written(const Vocab& v) {
    Result<std::string> json = WriteTokenizerJson(v);
    EXPECT_TRUE(json.ok()) << json.status().ToString();
    return nlohmann::ordered_json::parse(*json);
}

TEST(TokenizerJsonTest, SentencePieceVocabularyGetsTransformersLlamaLayout) {
    const nlohmann::ordered_json j = Written(Tok512());
    std::vector<std::string> keys;
    for (const auto& [key, value] : j.items()) keys.push_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"version", "truncation", "padding", "added_tokens", "normalizer",
                                              "pre_tokenizer", "post_processor", "decoder", "model"}));
    ASSERT_EQ(j["added_tokens"].size(), 3u);
    for (int id = 0; id < 3; ++id) {
        EXPECT_EQ(j["added_tokens"][id]["id"], id);
        EXPECT_EQ(j["added_tokens"][id]["special"], true);
        EXPECT_EQ(j["added_tokens"][id]["normalized"], false);
    }
    EXPECT_EQ(j["added_tokens"][1]["content"], "<s>");
    EXPECT_TRUE(j["pre_tokenizer"].is_null());
    const std::string m = kMarker;
    // remove_extra_whitespaces (unset: SentencePiece's default, on) adds the cleanup around
    // LlamaConverter's Prepend + Replace.
    EXPECT_EQ(j["normalizer"], nlohmann::ordered_json::parse(R"({"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"Regex": "\\A +"}, "content": ""},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Prepend", "prepend": ")" + m + R"("},
        {"type": "Replace", "pattern": {"String": " "}, "content": ")" +
                                                             m + R"("},
        {"type": "Replace", "pattern": {"Regex": ")" + m + R"(+\\z"}, "content": ""}]})"));
    EXPECT_EQ(j["decoder"], nlohmann::ordered_json::parse(R"({"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": ")" + m +
                                                          R"("}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})"));
    EXPECT_EQ(j["post_processor"]["type"], "TemplateProcessing");
    EXPECT_EQ(j["post_processor"]["special_tokens"]["<s>"]["ids"], nlohmann::json::array({1}));
    const auto& model = j["model"];
    EXPECT_EQ(model["type"], "BPE");
    EXPECT_EQ(model["unk_token"], "<unk>");
    EXPECT_EQ(model["fuse_unk"], true);
    EXPECT_EQ(model["byte_fallback"], true);
    EXPECT_EQ(model["vocab"].size(), 512u);
    EXPECT_EQ(model["vocab"]["<0x0A>"], 13);
    EXPECT_EQ(model["vocab"][m + "t"], 259);
    EXPECT_EQ(model["merges"][0], m + " t");  // the best-scored piece, "▁t", made of "▁" and "t"

    Vocab keep = Tok512();
    keep.remove_extra_whitespaces = false;
    EXPECT_EQ(Written(keep)["normalizer"], nlohmann::ordered_json::parse(R"({"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": ")" + m + R"("},
        {"type": "Replace", "pattern": {"String": " "}, "content": ")" + m +
                                                                         R"("}]})"));
}

TEST(TokenizerJsonTest, MergesFollowTransformersSentencePieceExtractor) {
    Vocab v;
    auto add = [&](std::string piece, float score) {
        v.tokens.push_back(std::move(piece));
        v.scores.push_back(score);
        v.types.push_back(TokenType::kNormal);
    };
    add("<unk>", -100);  // the first three are scored 0 by LlamaConverter whatever the file says
    add("<s>", -100);
    add("</s>", -100);
    add("a", -5);
    add("b", -6);
    add("c", -7);
    add("ab", -1);
    add("bc", -2);
    add("abc", -0.5f);
    add("\xC3\xA9", -8);  // 'é': two bytes, one character, never split
    add("a\xC3\xA9", -3);
    add("ca", -2);  // the same score as "bc": id order decides
    v.types[0] = TokenType::kUnknown;
    v.unk_id = 0;
    const nlohmann::ordered_json j = Written(v);
    // Per piece, splits in (left id, right id) order: "abc" -> "a bc" (3, 7) before "ab c" (6, 5);
    // then stably by score: abc, ab, bc, ca, aé.
    EXPECT_EQ(j["model"]["merges"], nlohmann::ordered_json::parse(R"(["a bc", "ab c", "a b", "b c", "c a", "a é"])"));
}

TEST(TokenizerJsonTest, WrittenFileReadsBackToTheSameVocabulary) {
    const Vocab v = Tok512();
    Result<std::string> json = WriteTokenizerJson(v);
    ASSERT_TRUE(json.ok());
    Result<TokenizerJson> parsed = ParseTokenizerJson(*json, "tokenizer.json");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    const Vocab& back = parsed->vocab;
    EXPECT_EQ(back.model, "llama");
    EXPECT_EQ(back.tokens, v.tokens);
    EXPECT_EQ(back.types, v.types);
    EXPECT_EQ(back.unk_id, std::optional<int32_t>(0));
    EXPECT_EQ(back.bos_id, std::optional<int32_t>(1));
    EXPECT_EQ(back.add_bos, std::optional<bool>(true));
    EXPECT_EQ(back.add_space_prefix, std::optional<bool>(true));
    EXPECT_EQ(back.remove_extra_whitespaces, std::optional<bool>(true));
    EXPECT_TRUE(parsed->byte_fallback);
    EXPECT_TRUE(parsed->fuse_unk);
    EXPECT_FALSE(parsed->byte_level);
    // Scores come back as minus the first rank making each piece: the same order as the originals.
    for (size_t a = 259; a < v.size(); ++a) {
        for (size_t b = a + 1; b < v.size(); ++b) {
            if (back.scores[a] == back.scores[b]) continue;  // pieces no merge makes (single characters)
            EXPECT_EQ(v.scores[a] > v.scores[b], back.scores[a] > back.scores[b]) << v.tokens[a] << " " << v.tokens[b];
        }
    }
}

struct BadFile {
    std::string json;
    StatusCode code;
    std::string message;
};

TEST(TokenizerJsonTest, BadFilesNameWhatIsWrong) {
    const std::string model_ok = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
    const std::vector<BadFile> cases = {
        {"", StatusCode::kCorruption, "not valid JSON"},
        {"[1, 2]", StatusCode::kCorruption, "not a JSON object"},
        {"{}", StatusCode::kCorruption, "model is missing"},
        {std::string(100, '[') + std::string(100, ']'), StatusCode::kCorruption, "nested deeper than 64 levels"},
        {R"({"model": {"vocab": {"a": -1}}})", StatusCode::kCorruption, "model.vocab[\"a\"] must be a token id"},
        {R"({"model": {"vocab": {"a": 1e9}}})", StatusCode::kCorruption, "must be a token id"},
        {R"({"model": {"vocab": {"a": 99999999}}})", StatusCode::kCorruption, "must be a token id"},
        {R"({"model": {"vocab": {"a": 5000000}}})", StatusCode::kCorruption, "uses ids up to 5000000 for only 1"},
        {R"({"model": {"vocab": {"a": 0, "b": 0}}})", StatusCode::kCorruption, "gives id 0 to two pieces"},
        {R"({"model": {"vocab": {}}})", StatusCode::kCorruption, "model.vocab is empty"},
        {R"({"model": {"vocab": {"a": 0}, "merges": ["a"]}})", StatusCode::kCorruption,
         "model.merges[0] 'a' is not two pieces"},
        {R"({"model": {"vocab": {"a": 0}, "merges": ["a z"]}})", StatusCode::kCorruption,
         "names 'z', not in the vocab"},
        {R"({"model": {"vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}})", StatusCode::kCorruption,
         "makes 'ab', not in the vocab"},
        {R"({"model": {"vocab": {"a": 0}, "merges": [7]}})", StatusCode::kCorruption, "must be \"a b\" or"},
        {R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", StatusCode::kUnsupported,
         "model type \"WordPiece\" is not supported"},
        {R"({"model": {"vocab": {"a": 0}, "continuing_subword_prefix": "##"}})", StatusCode::kUnsupported,
         "model.continuing_subword_prefix"},
        {R"({"model": {"vocab": {"a": 0}, "byte_fallback": "yes"}})", StatusCode::kCorruption,
         "model.byte_fallback must be true or false"},
        {"{" + model_ok + R"(, "added_tokens": {}})", StatusCode::kCorruption, "added_tokens must be an array"},
        {"{" + model_ok + R"(, "added_tokens": [{"id": 3}]})", StatusCode::kCorruption,
         "added_tokens[0].content must be a string"},
        {"{" + model_ok + R"(, "added_tokens": [{"id": 0, "content": "<x>"}]})", StatusCode::kCorruption,
         "added_tokens[0] gives id 0 to '<x>', which is 'a'"},
        {"{" + model_ok + R"(, "added_tokens": [{"id": 3, "content": "ab"}]})", StatusCode::kCorruption,
         "'ab' has id 3 but model.vocab says 2"},
        {"{" + model_ok + R"(, "pre_tokenizer": {"type": "Whitespace"}})", StatusCode::kUnsupported,
         "pre-tokenizer 'Whitespace' (pre_tokenizer) is not supported"},
        {"{" + model_ok + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "x"}, "behavior": "Bogus"}})",
         StatusCode::kCorruption, "pre_tokenizer.behavior 'Bogus' is unknown"},
        {"{" + model_ok + R"(, "pre_tokenizer": {"type": "Split", "pattern": "x", "behavior": "Isolated"}})",
         StatusCode::kCorruption, "pre_tokenizer.pattern must be"},
        {"{" + model_ok + R"(, "normalizer": {"type": "Sequence", "normalizers": [{"type": "Lowercase"}]}})",
         StatusCode::kUnsupported, "normalizer 'Lowercase' (normalizer.normalizers[0])"},
        {"{" + model_ok + R"(, "normalizer": {"type": "Replace", "content": "x"}})", StatusCode::kCorruption,
         "normalizer.pattern must be"},
    };
    for (const BadFile& c : cases) {
        Result<TokenizerJson> r = ParseTokenizerJson(c.json, "/m/tokenizer.json");
        ASSERT_FALSE(r.ok()) << c.json;
        EXPECT_EQ(r.status().code(), c.code) << c.json << ": " << r.status().ToString();
        EXPECT_NE(r.status().message().find("/m/tokenizer.json: "), std::string::npos) << r.status().message();
        EXPECT_NE(r.status().message().find(c.message), std::string::npos) << c.json << ": " << r.status().message();
    }
    Result<TokenizerJson> ok = ParseTokenizerJson("{" + model_ok + "}", "/m/tokenizer.json");
    EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST(TokenizerJsonTest, HolesInIdsBecomePadTokens) {
    Result<TokenizerJson> r = ParseTokenizerJson(
        R"({"model": {"vocab": {"a": 0, "b": 3}}, "added_tokens": [{"id": 5, "content": "<x>", "special": true}]})",
        "t");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->vocab.tokens, (std::vector<std::string>{"a", "[PAD1]", "[PAD2]", "b", "[PAD4]", "<x>"}));
    EXPECT_EQ(r->vocab.types[1], TokenType::kUnused);
    EXPECT_EQ(r->vocab.types[5], TokenType::kControl);
    EXPECT_EQ(r->added_tokens.size(), 1u);
    EXPECT_FALSE(r->added_tokens[0].normalized);  // special tokens default to raw-text matching
}

TEST(TokenizerJsonTest, TokenizerConfigSuppliesSpecialTokens) {
    Vocab v = Tok512();
    v.bos_id.reset();
    v.eos_id.reset();
    ASSERT_TRUE(ApplyTokenizerConfig(R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
                                          "pad_token": "<nope>", "add_bos_token": false})",
                                     "tokenizer_config.json", v)
                    .ok());
    EXPECT_EQ(v.bos_id, std::optional<int32_t>(1));
    EXPECT_EQ(v.eos_id, std::optional<int32_t>(2));
    EXPECT_FALSE(v.pad_id.has_value());
    EXPECT_EQ(v.add_bos, std::optional<bool>(false));
    const Status bad = ApplyTokenizerConfig("not json", "/m/tokenizer_config.json", v);
    EXPECT_EQ(bad.code(), StatusCode::kCorruption);
    EXPECT_NE(bad.message().find("/m/tokenizer_config.json"), std::string::npos);
}

TEST(TokenizerJsonTest, WriterRefusesWhatTokenizerJsonCannotHold) {
    Vocab v = Tok512();
    v.tokens[300] = "\xFF";
    Result<std::string> r = WriteTokenizerJson(v);
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r.status().message().find("token 300 is not UTF-8"), std::string::npos) << r.status().message();
    v = Tok512();
    v.tokens[300] = v.tokens[301];
    r = WriteTokenizerJson(v);
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r.status().message().find("tokens 300 and 301"), std::string::npos) << r.status().message();
    v = Tok512();
    v.model = "t5";
    EXPECT_EQ(WriteTokenizerJson(v).status().code(), StatusCode::kUnsupported);
}

TEST(TokenizerJsonTest, GgufCarriesPreTokenizerAndWhitespaceKeys) {
    Vocab v = Tok512();
    v.pre = "default";
    v.add_space_prefix = false;
    v.remove_extra_whitespaces = true;
    v.add_bos = true;
    GgufMetadata metadata;
    AppendVocabToGguf(v, metadata);
    ASSERT_NE(FindGgufKey(metadata, "tokenizer.ggml.pre"), nullptr);
    Result<Vocab> back = VocabFromGguf(metadata, "m.gguf");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->pre, "default");
    EXPECT_EQ(back->add_space_prefix, std::optional<bool>(false));
    EXPECT_EQ(back->remove_extra_whitespaces, std::optional<bool>(true));
    EXPECT_EQ(back->add_bos, std::optional<bool>(true));
    // Unset facts write no key (llama.cpp's converter for llama2.c models writes none of them).
    GgufMetadata plain;
    AppendVocabToGguf(Tok512(), plain);
    EXPECT_EQ(FindGgufKey(plain, "tokenizer.ggml.add_space_prefix"), nullptr);
    EXPECT_FALSE(VocabFromGguf(plain, "m.gguf")->remove_extra_whitespaces.has_value());
}

TEST(TokenizerJsonTest, SentencePieceModelReportsItsWhitespaceRules) {
    Result<Vocab> v =
        VocabFromSentencePiece(testing::ReadFile(testing::SharedData("stories260K/tok512.model")), "tok512.model");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    // llama2.c trains tok512 with SentencePiece's defaults: dummy prefix and whitespace cleanup on.
    EXPECT_EQ(v->add_space_prefix, std::optional<bool>(true));
    EXPECT_EQ(v->remove_extra_whitespaces, std::optional<bool>(true));
}

}  // namespace
}  // namespace tenpak::io
