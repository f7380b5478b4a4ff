// Writes tokenizer.json for a Vocab (tenpak/io/tokenizer_json.h), so that an HF folder converted
// from a llama2.c or GGUF file opens with transformers' AutoTokenizer.
//
// For SentencePiece-style vocabularies the file is what transformers' LlamaConverter builds from a
// tokenizer.model (convert_slow_tokenizer.py): same merges, normalizer, decoder and added tokens,
// so that the fast tokenizer gives SentencePiece's ids. The one addition is the whitespace
// cleanup SentencePiece applies when remove_extra_whitespaces is on, which LlamaConverter drops.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tenpak/io/tokenizer_json.h"
#include "tokenizer_json_internal.h"

namespace tenpak::io {
namespace {

using OJson = nlohmann::ordered_json;

OJson Pattern(std::string_view text, bool regex) {
    return OJson{{regex ? "Regex" : "String", text}};
}

OJson Replace(std::string_view pattern, bool regex, std::string_view content) {
    return OJson{{"type", "Replace"}, {"pattern", Pattern(pattern, regex)}, {"content", content}};
}

OJson AddedTokens(const Vocab& vocab, bool with_unknown) {
    OJson list = OJson::array();
    for (size_t id = 0; id < vocab.size(); ++id) {
        const TokenType type = id < vocab.types.size() ? vocab.types[id] : TokenType::kNormal;
        const bool special = type == TokenType::kControl || (with_unknown && type == TokenType::kUnknown);
        if (!special && type != TokenType::kUserDefined) continue;
        list.push_back(OJson{{"id", id},
                             {"content", vocab.tokens[id]},
                             {"single_word", false},
                             {"lstrip", false},
                             {"rstrip", false},
                             {"normalized", !special},
                             {"special", special}});
    }
    return list;
}

// {piece: id} in id order. Appended to ordered_map's vector directly: its operator[] searches
// linearly, which is quadratic for a 128k-token vocabulary. Pieces are unique (checked).
OJson VocabObject(const Vocab& vocab) {
    OJson object = OJson::object();
    auto& entries = static_cast<OJson::object_t::Container&>(object.get_ref<OJson::object_t&>());
    entries.reserve(vocab.size());
    for (size_t id = 0; id < vocab.size(); ++id) entries.emplace_back(vocab.tokens[id], OJson(id));
    return object;
}

// "a b" strings, as transformers writes them, unless a piece holds a space; then ["a", "b"] pairs,
// which tokenizers >= 0.20 reads and which cannot be misread.
OJson MergesArray(const std::vector<std::pair<std::string, std::string>>& merges) {
    const bool pairs = std::any_of(merges.begin(), merges.end(), [](const auto& m) {
        return m.first.find(' ') != std::string::npos || m.second.find(' ') != std::string::npos;
    });
    OJson list = OJson::array();
    for (const auto& [left, right] : merges) {
        if (pairs) {
            list.push_back(OJson::array({left, right}));
        } else {
            list.push_back(left + " " + right);
        }
    }
    return list;
}

// TemplateProcessing that puts BOS first, as LlamaTokenizerFast.update_post_processor writes it.
OJson BosTemplate(const std::string& bos, int32_t bos_id) {
    auto special = [&](int type_id) { return OJson{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}}; };
    auto sequence = [](const char* name, int type_id) {
        return OJson{{"Sequence", {{"id", name}, {"type_id", type_id}}}};
    };
    return OJson{{"type", "TemplateProcessing"},
                 {"single", OJson::array({special(0), sequence("A", 0)})},
                 {"pair", OJson::array({special(0), sequence("A", 0), special(1), sequence("B", 1)})},
                 {"special_tokens", {{bos, {{"id", bos}, {"ids", {bos_id}}, {"tokens", {bos}}}}}}};
}

std::optional<std::string> BosToAdd(const Vocab& vocab, bool default_add) {
    if (!vocab.bos_id || !vocab.add_bos.value_or(default_add)) return std::nullopt;
    return vocab.tokens[static_cast<size_t>(*vocab.bos_id)];
}

// transformers' SentencePieceExtractor.extract(vocab_scores): for each piece (in id order), every
// split into two pieces of the vocabulary, at character boundaries, ordered by the ids of the two
// parts; then all of them stably sorted by the score of the whole piece, highest first.
// LlamaConverter scores the first three pieces (<unk>, <s>, </s>) 0.
std::vector<std::pair<std::string, std::string>> SentencePieceMerges(const Vocab& vocab) {
    std::unordered_map<std::string_view, int32_t> ids;
    for (size_t id = 0; id < vocab.size(); ++id) ids.emplace(vocab.tokens[id], static_cast<int32_t>(id));
    auto score = [&](size_t id) {
        constexpr size_t kZeroScored = 3;
        return id < kZeroScored || id >= vocab.scores.size() ? 0.0f : vocab.scores[id];
    };
    struct Merge {
        int32_t left;
        int32_t right;
        float score;
    };
    std::vector<Merge> merges;
    std::vector<Merge> local;
    for (size_t id = 0; id < vocab.size(); ++id) {
        const std::string_view piece = vocab.tokens[id];
        local.clear();
        for (size_t cut = 1; cut < piece.size(); ++cut) {
            if ((static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) continue;  // inside a character
            const auto left = ids.find(piece.substr(0, cut));
            const auto right = ids.find(piece.substr(cut));
            if (left != ids.end() && right != ids.end()) local.push_back({left->second, right->second, score(id)});
        }
        std::sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
            return a.left != b.left ? a.left < b.left : a.right < b.right;
        });
        merges.insert(merges.end(), local.begin(), local.end());
    }
    std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(merges.size());
    for (const Merge& m : merges) {
        out.emplace_back(vocab.tokens[static_cast<size_t>(m.left)], vocab.tokens[static_cast<size_t>(m.right)]);
    }
    return out;
}

OJson SentencePieceStyle(const Vocab& vocab) {
    const std::string marker(internal::kSpaceMarker);
    const bool add_prefix = vocab.add_space_prefix.value_or(true);
    const bool remove_extra = vocab.remove_extra_whitespaces.value_or(true);
    OJson normalizers = OJson::array();
    if (remove_extra) {
        // SentencePiece's remove_extra_whitespaces: no leading spaces, runs of spaces become one,
        // and no trailing space markers (checked after escaping, so a literal trailing '▁' goes too).
        normalizers.push_back(Replace(R"(\A +)", true, ""));
        normalizers.push_back(Replace(" {2,}", true, " "));
    }
    if (add_prefix) normalizers.push_back(OJson{{"type", "Prepend"}, {"prepend", marker}});
    normalizers.push_back(Replace(" ", false, marker));
    if (remove_extra) normalizers.push_back(Replace(marker + R"(+\z)", true, ""));

    OJson decoders =
        OJson::array({Replace(marker, false, " "), OJson{{"type", "ByteFallback"}}, OJson{{"type", "Fuse"}}});
    if (add_prefix) decoders.push_back(OJson{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});

    OJson unk = nullptr;
    if (vocab.unk_id) unk = vocab.tokens[static_cast<size_t>(*vocab.unk_id)];
    const std::optional<std::string> bos = BosToAdd(vocab, true);

    OJson root;
    root["version"] = "1.0";
    root["truncation"] = nullptr;
    root["padding"] = nullptr;
    root["added_tokens"] = AddedTokens(vocab, /*with_unknown=*/true);
    root["normalizer"] = OJson{{"type", "Sequence"}, {"normalizers", normalizers}};
    root["pre_tokenizer"] = nullptr;
    root["post_processor"] = bos ? BosTemplate(*bos, *vocab.bos_id) : OJson(nullptr);
    root["decoder"] = OJson{{"type", "Sequence"}, {"decoders", decoders}};
    root["model"] = OJson{{"type", "BPE"},
                          {"dropout", nullptr},
                          {"unk_token", unk},
                          {"continuing_subword_prefix", nullptr},
                          {"end_of_word_suffix", nullptr},
                          {"fuse_unk", true},
                          {"byte_fallback", true},
                          {"ignore_merges", false},
                          {"vocab", VocabObject(vocab)},
                          {"merges", MergesArray(SentencePieceMerges(vocab))}};
    return root;
}

Result<OJson> ByteLevelStyle(const Vocab& vocab) {
    const std::optional<std::string_view> pattern = PreTokenizerPattern(vocab.pre);
    if (!pattern) {
        return Status::Unsupported("pre-tokenizer '" + vocab.pre +
                                   "' has no known regex (TenPak knows gpt-2, llama-bpe, qwen2)");
    }
    std::vector<std::pair<std::string, std::string>> merges;
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        const std::string& m = vocab.merges[rank];
        const size_t space = m.find(' ');
        if (space == std::string::npos) {
            return Status::Corruption("merge " + std::to_string(rank) + " '" + m + "' is not two pieces");
        }
        merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
    auto byte_level = [](bool add_prefix_space, bool trim_offsets, bool use_regex) {
        return OJson{{"type", "ByteLevel"},
                     {"add_prefix_space", add_prefix_space},
                     {"trim_offsets", trim_offsets},
                     {"use_regex", use_regex}};
    };
    const bool gpt2 = *pattern == kGpt2Pattern;
    OJson pre_tokenizer = byte_level(false, true, true);
    if (!gpt2) {
        const OJson split{
            {"type", "Split"}, {"pattern", Pattern(*pattern, true)}, {"behavior", "Isolated"}, {"invert", false}};
        pre_tokenizer =
            OJson{{"type", "Sequence"}, {"pretokenizers", OJson::array({split, byte_level(false, true, false)})}};
    }
    OJson post_processor = byte_level(true, false, true);
    if (const std::optional<std::string> bos = BosToAdd(vocab, false)) {
        post_processor = OJson{{"type", "Sequence"},
                               {"processors", OJson::array({post_processor, BosTemplate(*bos, *vocab.bos_id)})}};
    }
    OJson root;
    root["version"] = "1.0";
    root["truncation"] = nullptr;
    root["padding"] = nullptr;
    root["added_tokens"] = AddedTokens(vocab, /*with_unknown=*/false);
    root["normalizer"] = vocab.pre == "qwen2" ? OJson{{"type", "NFC"}} : OJson(nullptr);
    root["pre_tokenizer"] = pre_tokenizer;
    root["post_processor"] = post_processor;
    root["decoder"] = byte_level(true, true, true);
    root["model"] = OJson{{"type", "BPE"},
                          {"dropout", nullptr},
                          {"unk_token", nullptr},
                          {"continuing_subword_prefix", ""},
                          {"end_of_word_suffix", ""},
                          {"fuse_unk", false},
                          {"byte_fallback", false},
                          {"ignore_merges", vocab.pre == "llama-bpe"},
                          {"vocab", VocabObject(vocab)},
                          {"merges", MergesArray(merges)}};
    return root;
}

}  // namespace

Result<std::string> WriteTokenizerJson(const Vocab& vocab) {
    std::unordered_map<std::string_view, size_t> seen;
    for (size_t id = 0; id < vocab.size(); ++id) {
        const std::string& token = vocab.tokens[id];
        if (!internal::IsValidUtf8(token)) {
            return Status::Unsupported("token " + std::to_string(id) +
                                       " is not UTF-8, which tokenizer.json cannot hold");
        }
        const auto [it, fresh] = seen.emplace(token, id);
        if (!fresh) {
            return Status::Unsupported("tokens " + std::to_string(it->second) + " and " + std::to_string(id) +
                                       " are both '" + token + "'; tokenizer.json maps each piece to one id");
        }
    }
    for (const std::string& merge : vocab.merges) {
        if (!internal::IsValidUtf8(merge)) return Status::Corruption("a merge is not UTF-8");
    }
    for (const std::optional<int32_t>& id : {vocab.bos_id, vocab.unk_id}) {
        if (id && (*id < 0 || static_cast<size_t>(*id) >= vocab.size())) {
            return Status::Corruption("special token id " + std::to_string(*id) + " is outside the vocabulary");
        }
    }
    OJson root;
    if (vocab.model == "llama") {
        root = SentencePieceStyle(vocab);
    } else if (vocab.model == "gpt2") {
        TP_ASSIGN_OR_RETURN(root, ByteLevelStyle(vocab));
    } else {
        return Status::Unsupported("tokenizer model '" + vocab.model + "' cannot be written as tokenizer.json");
    }
    return root.dump(2) + "\n";
}

}  // namespace tenpak::io
