#include "tenpak/io/vocab.h"

#include <cstring>

#include "tenpak/io/mapped_file.h"

namespace tenpak::io {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 '▁'

bool IsByteToken(const std::string& token) {
    return token.size() == 6 && token.rfind("<0x", 0) == 0 && token.back() == '>';
}

std::string SpacesToMarker(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == ' ') {
            out += kSpaceMarker;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

Result<Vocab> ReadLlama2cTokenizer(const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
    const std::span<const std::byte> bytes = file->bytes();
    if (bytes.size() < 4) return Status::Corruption(path + ": too short for a llama2.c tokenizer");
    size_t pos = 4;  // max_token_length: informational
    Vocab vocab;
    vocab.model = "llama";
    while (pos < bytes.size()) {
        const size_t id = vocab.tokens.size();
        if (bytes.size() - pos < 8) {
            return Status::Corruption(path + ": token " + std::to_string(id) + " is cut off at byte " +
                                      std::to_string(pos));
        }
        float score = 0;
        int32_t len = 0;
        std::memcpy(&score, bytes.data() + pos, 4);
        std::memcpy(&len, bytes.data() + pos + 4, 4);
        pos += 8;
        if (len < 0 || static_cast<size_t>(len) > bytes.size() - pos) {
            return Status::Corruption(path + ": token " + std::to_string(id) + " claims " + std::to_string(len) +
                                      " bytes, past the end of the file");
        }
        std::string text(reinterpret_cast<const char*>(bytes.data() + pos), static_cast<size_t>(len));
        pos += static_cast<size_t>(len);

        TokenType type = TokenType::kNormal;
        if (id == 0 && text == "<unk>") {
            type = TokenType::kUnknown;
            vocab.unk_id = 0;
        } else if (text == "\n<s>\n" || text == "<s>") {
            text = "<s>";
            type = TokenType::kControl;
            vocab.bos_id = static_cast<int32_t>(id);
        } else if (text == "\n</s>\n" || text == "</s>") {
            text = "</s>";
            type = TokenType::kControl;
            vocab.eos_id = static_cast<int32_t>(id);
        } else if (IsByteToken(text)) {
            type = TokenType::kByte;
        } else {
            text = SpacesToMarker(text);
        }
        vocab.tokens.push_back(std::move(text));
        vocab.scores.push_back(score);
        vocab.types.push_back(type);
    }
    if (vocab.tokens.empty()) return Status::Corruption(path + ": tokenizer holds no tokens");
    return vocab;
}

Result<Vocab> VocabFromGguf(const GgufMetadata& metadata, const std::string& origin) {
    const GgufValue* model = FindGgufKey(metadata, "tokenizer.ggml.model");
    const GgufValue* tokens = FindGgufKey(metadata, "tokenizer.ggml.tokens");
    if (model == nullptr || tokens == nullptr) {
        return Status::NotFound(origin + ": no tokenizer.ggml.model / tokenizer.ggml.tokens (file has no vocabulary)");
    }
    Vocab vocab;
    if (model->AsString() == nullptr) return Status::Corruption(origin + ": tokenizer.ggml.model must be a string");
    vocab.model = *model->AsString();
    const GgufValue::Array* token_array = tokens->AsArray();
    if (token_array == nullptr || token_array->element_type != GgufType::kString) {
        return Status::Corruption(origin + ": tokenizer.ggml.tokens must be an array of strings");
    }
    for (const GgufValue& t : token_array->items) vocab.tokens.push_back(*t.AsString());
    const size_t n = vocab.tokens.size();

    if (const GgufValue* scores = FindGgufKey(metadata, "tokenizer.ggml.scores")) {
        const GgufValue::Array* arr = scores->AsArray();
        if (arr == nullptr || arr->items.size() != n || arr->element_type != GgufType::kF32) {
            return Status::Corruption(origin + ": tokenizer.ggml.scores must be " + std::to_string(n) + " f32 values");
        }
        for (const GgufValue& s : arr->items) vocab.scores.push_back(static_cast<float>(*s.AsFloat()));
    }
    if (const GgufValue* types = FindGgufKey(metadata, "tokenizer.ggml.token_type")) {
        const GgufValue::Array* arr = types->AsArray();
        if (arr == nullptr || arr->items.size() != n || (!arr->items.empty() && !arr->items[0].AsInt())) {
            return Status::Corruption(origin + ": tokenizer.ggml.token_type must be " + std::to_string(n) +
                                      " integers");
        }
        for (const GgufValue& t : arr->items) vocab.types.push_back(static_cast<TokenType>(t.AsInt().value_or(1)));
    } else {
        vocab.types.assign(n, TokenType::kNormal);
    }
    if (const GgufValue* merges = FindGgufKey(metadata, "tokenizer.ggml.merges")) {
        const GgufValue::Array* arr = merges->AsArray();
        if (arr == nullptr || arr->element_type != GgufType::kString) {
            return Status::Corruption(origin + ": tokenizer.ggml.merges must be an array of strings");
        }
        for (const GgufValue& m : arr->items) vocab.merges.push_back(*m.AsString());
    }
    auto id_key = [&](const char* key) -> std::optional<int32_t> {
        const GgufValue* v = FindGgufKey(metadata, key);
        if (v == nullptr || !v->AsUInt() || *v->AsUInt() >= n) return std::nullopt;  // absent or "none" (0xFFFFFFFF)
        return static_cast<int32_t>(*v->AsUInt());
    };
    vocab.bos_id = id_key("tokenizer.ggml.bos_token_id");
    vocab.eos_id = id_key("tokenizer.ggml.eos_token_id");
    vocab.unk_id = id_key("tokenizer.ggml.unknown_token_id");
    vocab.pad_id = id_key("tokenizer.ggml.padding_token_id");
    if (const GgufValue* pre = FindGgufKey(metadata, "tokenizer.ggml.pre"); pre && pre->AsString()) {
        vocab.pre = *pre->AsString();
    }
    auto bool_key = [&](const char* key) -> std::optional<bool> {
        const GgufValue* v = FindGgufKey(metadata, key);
        return v == nullptr ? std::nullopt : v->AsBool();
    };
    vocab.add_space_prefix = bool_key("tokenizer.ggml.add_space_prefix");
    vocab.remove_extra_whitespaces = bool_key("tokenizer.ggml.remove_extra_whitespaces");
    vocab.add_bos = bool_key("tokenizer.ggml.add_bos_token");
    return vocab;
}

void AppendVocabToGguf(const Vocab& vocab, GgufMetadata& metadata) {
    metadata.emplace_back("tokenizer.ggml.model", GgufValue::String(vocab.model));
    if (!vocab.pre.empty()) metadata.emplace_back("tokenizer.ggml.pre", GgufValue::String(vocab.pre));
    metadata.emplace_back("tokenizer.ggml.tokens", GgufValue::StringArray(vocab.tokens));
    if (!vocab.scores.empty()) metadata.emplace_back("tokenizer.ggml.scores", GgufValue::F32Array(vocab.scores));
    std::vector<int32_t> types;
    for (TokenType t : vocab.types) types.push_back(static_cast<int32_t>(t));
    metadata.emplace_back("tokenizer.ggml.token_type", GgufValue::I32Array(types));
    if (!vocab.merges.empty()) metadata.emplace_back("tokenizer.ggml.merges", GgufValue::StringArray(vocab.merges));
    auto add_id = [&](const char* key, const std::optional<int32_t>& id) {
        if (id) metadata.emplace_back(key, GgufValue::U32(static_cast<uint32_t>(*id)));
    };
    add_id("tokenizer.ggml.bos_token_id", vocab.bos_id);
    add_id("tokenizer.ggml.eos_token_id", vocab.eos_id);
    add_id("tokenizer.ggml.unknown_token_id", vocab.unk_id);
    add_id("tokenizer.ggml.padding_token_id", vocab.pad_id);
    auto add_bool = [&](const char* key, const std::optional<bool>& value) {
        if (value) metadata.emplace_back(key, GgufValue::Bool(*value));
    };
    add_bool("tokenizer.ggml.add_bos_token", vocab.add_bos);
    add_bool("tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);
    add_bool("tokenizer.ggml.remove_extra_whitespaces", vocab.remove_extra_whitespaces);
}

}  // namespace tenpak::io
