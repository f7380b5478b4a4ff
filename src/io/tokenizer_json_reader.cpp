// Reads tokenizer.json into the facts TenPak's encoders run (tenpak/io/tokenizer_json.h).
//
// The file is outside input: every member is checked for its JSON type before use (nlohmann's
// accessors would throw), ids must be in range and dense enough to allocate, merges must name
// pieces of the vocabulary, and anything TenPak cannot run exactly is kUnsupported rather than
// silently approximated.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tenpak/io/tokenizer_json.h"
#include "tokenizer_json_internal.h"

namespace tenpak::io {
namespace {

using Json = nlohmann::json;

// No tokenizer.json nests deeper than about 6 levels; 64 leaves room for Sequences of Sequences.
constexpr int kMaxNesting = 64;
// Ids are dense in real files. Holes are allowed (they become "[PAD<id>]" tokens) but the table
// may be at most this many times larger than the ids it holds, plus some slack, so that a single
// huge id cannot make us allocate gigabytes.
constexpr int64_t kMaxIdSpread = 2;
constexpr int64_t kIdSlack = 1024;
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

// Member `key` of `object`; nullptr when absent, null, or when `object` is not an object.
const Json* Member(const Json& object, const char* key) {
    if (!object.is_object()) return nullptr;
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

class Reader {
public:
    explicit Reader(const std::string& origin) : origin_(origin) {}

    Status Corrupt(const std::string& path, const std::string& what) const {
        return Status::Corruption(origin_ + ": " + path + " " + what);
    }
    Status Unsupported(const std::string& what) const { return Status::Unsupported(origin_ + ": " + what); }

    Result<bool> Bool(const Json& object, const char* key, const std::string& path, bool fallback) const {
        const Json* v = Member(object, key);
        if (v == nullptr) return fallback;
        if (!v->is_boolean()) return Corrupt(path + "." + key, "must be true or false");
        return v->get<bool>();
    }

    Result<std::string> String(const Json& object, const char* key, const std::string& path) const {
        const Json* v = Member(object, key);
        if (v == nullptr || !v->is_string()) return Corrupt(path + "." + key, "must be a string");
        return v->get<std::string>();
    }

    Result<int32_t> Id(const Json& value, const std::string& path) const {
        if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxTokenId) {
            return Corrupt(path, "must be a token id (an integer from 0 to " + std::to_string(kMaxTokenId) + ")");
        }
        return static_cast<int32_t>(value.get<int64_t>());
    }

    // {"String": "..."} or {"Regex": "..."}.
    Result<TextPattern> Pattern(const Json& object, const std::string& path) const {
        const Json* p = Member(object, "pattern");
        if (p != nullptr && p->is_object()) {
            if (const Json* s = Member(*p, "String"); s && s->is_string())
                return TextPattern{s->get<std::string>(), false};
            if (const Json* r = Member(*p, "Regex"); r && r->is_string())
                return TextPattern{r->get<std::string>(), true};
        }
        return Corrupt(path + ".pattern", "must be {\"String\": ...} or {\"Regex\": ...}");
    }

    Status Normalizer(const Json& n, const std::string& path, std::vector<NormalizerStep>& out) const {
        const Json* type = Member(n, "type");
        if (type == nullptr || !type->is_string()) return Corrupt(path + ".type", "must be a string");
        const std::string t = type->get<std::string>();
        NormalizerStep step;
        if (t == "Sequence") {
            const Json* list = Member(n, "normalizers");
            if (list == nullptr || !list->is_array()) return Corrupt(path + ".normalizers", "must be an array");
            for (size_t i = 0; i < list->size(); ++i) {
                TP_RETURN_IF_ERROR(Normalizer((*list)[i], path + ".normalizers[" + std::to_string(i) + "]", out));
            }
            return Status::Ok();
        } else if (t == "Prepend") {
            step.kind = NormalizerStep::Kind::kPrepend;
            TP_ASSIGN_OR_RETURN(step.content, String(n, "prepend", path));
        } else if (t == "Replace") {
            step.kind = NormalizerStep::Kind::kReplace;
            TP_ASSIGN_OR_RETURN(step.pattern, Pattern(n, path));
            TP_ASSIGN_OR_RETURN(step.content, String(n, "content", path));
        } else if (t == "NFC") {
            step.kind = NormalizerStep::Kind::kNfc;
        } else if (t == "Strip") {
            step.kind = NormalizerStep::Kind::kStrip;
            TP_ASSIGN_OR_RETURN(step.strip_left, Bool(n, "strip_left", path, false));
            TP_ASSIGN_OR_RETURN(step.strip_right, Bool(n, "strip_right", path, false));
        } else {
            return Unsupported("normalizer '" + t + "' (" + path +
                               ") is not supported (TenPak runs Sequence, Prepend, Replace, NFC, Strip)");
        }
        out.push_back(std::move(step));
        return Status::Ok();
    }

    Status PreTokenizer(const Json& p, const std::string& path, std::vector<PreTokenizerStep>& out) const {
        const Json* type = Member(p, "type");
        if (type == nullptr || !type->is_string()) return Corrupt(path + ".type", "must be a string");
        const std::string t = type->get<std::string>();
        PreTokenizerStep step;
        if (t == "Sequence") {
            const Json* list = Member(p, "pretokenizers");
            if (list == nullptr || !list->is_array()) return Corrupt(path + ".pretokenizers", "must be an array");
            for (size_t i = 0; i < list->size(); ++i) {
                TP_RETURN_IF_ERROR(PreTokenizer((*list)[i], path + ".pretokenizers[" + std::to_string(i) + "]", out));
            }
            return Status::Ok();
        } else if (t == "ByteLevel") {
            step.kind = PreTokenizerStep::Kind::kByteLevel;
            TP_ASSIGN_OR_RETURN(step.add_prefix_space, Bool(p, "add_prefix_space", path, false));
            TP_ASSIGN_OR_RETURN(step.use_regex, Bool(p, "use_regex", path, true));
        } else if (t == "Split") {
            step.kind = PreTokenizerStep::Kind::kSplit;
            TP_ASSIGN_OR_RETURN(step.pattern, Pattern(p, path));
            TP_ASSIGN_OR_RETURN(const std::string behavior, String(p, "behavior", path));
            static constexpr std::pair<std::string_view, SplitBehavior> kBehaviors[] = {
                {"Removed", SplitBehavior::kRemoved},
                {"Isolated", SplitBehavior::kIsolated},
                {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
                {"MergedWithNext", SplitBehavior::kMergedWithNext},
                {"Contiguous", SplitBehavior::kContiguous},
            };
            const auto* found = std::find_if(std::begin(kBehaviors), std::end(kBehaviors),
                                             [&](const auto& b) { return b.first == behavior; });
            if (found == std::end(kBehaviors)) return Corrupt(path + ".behavior", "'" + behavior + "' is unknown");
            step.behavior = found->second;
            TP_ASSIGN_OR_RETURN(step.invert, Bool(p, "invert", path, false));
        } else if (t == "Metaspace") {
            step.kind = PreTokenizerStep::Kind::kMetaspace;
            step.replacement = std::string(internal::kSpaceMarker);
            if (const Json* r = Member(p, "replacement")) {
                if (!r->is_string() || r->get<std::string>().empty()) {
                    return Corrupt(path + ".replacement", "must be a one-character string");
                }
                step.replacement = r->get<std::string>();
            }
            if (const Json* scheme = Member(p, "prepend_scheme")) {
                const std::string s = scheme->is_string() ? scheme->get<std::string>() : "";
                if (s == "always") {
                    step.prepend_scheme = PrependScheme::kAlways;
                } else if (s == "first") {
                    step.prepend_scheme = PrependScheme::kFirst;
                } else if (s == "never") {
                    step.prepend_scheme = PrependScheme::kNever;
                } else {
                    return Corrupt(path + ".prepend_scheme", "must be \"always\", \"first\" or \"never\"");
                }
            } else {  // tokenizers < 0.19 wrote add_prefix_space instead
                TP_ASSIGN_OR_RETURN(const bool add, Bool(p, "add_prefix_space", path, true));
                step.prepend_scheme = add ? PrependScheme::kAlways : PrependScheme::kNever;
            }
            TP_ASSIGN_OR_RETURN(step.split, Bool(p, "split", path, true));
        } else if (t == "Digits") {
            step.kind = PreTokenizerStep::Kind::kDigits;
            TP_ASSIGN_OR_RETURN(step.individual_digits, Bool(p, "individual_digits", path, false));
        } else {
            return Unsupported("pre-tokenizer '" + t + "' (" + path +
                               ") is not supported (TenPak runs Sequence, Split, ByteLevel, Metaspace, Digits)");
        }
        out.push_back(std::move(step));
        return Status::Ok();
    }

private:
    const std::string& origin_;
};

// True when a decoder (or one inside a Sequence) has `type`.
bool HasType(const Json* node, std::string_view type, const char* list_key) {
    if (node == nullptr) return false;
    if (const Json* t = Member(*node, "type"); t && t->is_string() && t->get<std::string>() == type) return true;
    if (const Json* list = Member(*node, list_key); list && list->is_array()) {
        for (const Json& item : *list) {
            if (HasType(&item, type, list_key)) return true;
        }
    }
    return false;
}

// The TemplateProcessing of a post_processor (itself, or inside a Sequence).
const Json* FindTemplate(const Json* node) {
    if (node == nullptr) return nullptr;
    if (const Json* t = Member(*node, "type"); t && t->is_string() && t->get<std::string>() == "TemplateProcessing") {
        return node;
    }
    if (const Json* list = Member(*node, "processors"); list && list->is_array()) {
        for (const Json& item : *list) {
            if (const Json* found = FindTemplate(&item)) return found;
        }
    }
    return nullptr;
}

bool IsByteToken(std::string_view piece) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    return piece.size() == 6 && piece.starts_with("<0x") && hex(piece[3]) && hex(piece[4]) && piece[5] == '>';
}

}  // namespace

std::optional<std::string_view> PreTokenizerPattern(std::string_view pre) {
    if (pre.empty() || pre == "gpt-2") return kGpt2Pattern;
    if (pre == "llama-bpe") return kLlama3Pattern;
    if (pre == "qwen2") return kQwen2Pattern;
    return std::nullopt;
}

std::string_view PreTokenizerName(std::string_view pattern) {
    if (pattern == kGpt2Pattern) return "gpt-2";
    if (pattern == kLlama3Pattern) return "llama-bpe";
    if (pattern == kQwen2Pattern) return "qwen2";
    return "";
}

Result<TokenizerJson> ParseTokenizerJson(std::string_view text, const std::string& origin) {
    TP_RETURN_IF_ERROR(internal::CheckJsonNesting(text, kMaxNesting, origin));
    const Json root = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return Status::Corruption(origin + ": not valid JSON");
    if (!root.is_object()) return Status::Corruption(origin + ": not a JSON object");
    const Reader reader(origin);
    TokenizerJson out;

    // The model: vocab and merges.
    const Json* model = Member(root, "model");
    if (model == nullptr || !model->is_object()) return reader.Corrupt("model", "is missing");
    const Json* type = Member(*model, "type");
    if (type != nullptr && (!type->is_string() || type->get<std::string>() != "BPE")) {
        return reader.Unsupported("model type " + type->dump() + " is not supported (TenPak runs BPE tokenizers)");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const Json* v = Member(*model, key);
        if (v != nullptr && (!v->is_string() || !v->get<std::string>().empty())) {
            return reader.Unsupported(std::string("model.") + key + " is not supported");
        }
    }
    TP_ASSIGN_OR_RETURN(out.byte_fallback, reader.Bool(*model, "byte_fallback", "model", false));
    TP_ASSIGN_OR_RETURN(out.fuse_unk, reader.Bool(*model, "fuse_unk", "model", false));
    TP_ASSIGN_OR_RETURN(out.ignore_merges, reader.Bool(*model, "ignore_merges", "model", false));

    const Json* vocab_json = Member(*model, "vocab");
    if (vocab_json == nullptr || !vocab_json->is_object()) return reader.Corrupt("model.vocab", "must be an object");
    std::unordered_map<std::string, int32_t> piece_ids;
    piece_ids.reserve(vocab_json->size());
    int64_t max_id = -1;
    for (const auto& [piece, id_json] : vocab_json->items()) {
        TP_ASSIGN_OR_RETURN(const int32_t id, reader.Id(id_json, "model.vocab[\"" + piece + "\"]"));
        piece_ids.emplace(piece, id);
        max_id = std::max<int64_t>(max_id, id);
    }

    const Json* added = Member(root, "added_tokens");
    if (added != nullptr && !added->is_array()) return reader.Corrupt("added_tokens", "must be an array");
    if (added != nullptr) {
        for (size_t i = 0; i < added->size(); ++i) {
            const Json& a = (*added)[i];
            const std::string path = "added_tokens[" + std::to_string(i) + "]";
            const Json* id = Member(a, "id");
            if (id == nullptr) return reader.Corrupt(path + ".id", "is missing");
            AddedToken token;
            TP_ASSIGN_OR_RETURN(token.id, reader.Id(*id, path + ".id"));
            TP_ASSIGN_OR_RETURN(token.content, reader.String(a, "content", path));
            if (token.content.empty()) return reader.Corrupt(path + ".content", "is empty");
            TP_ASSIGN_OR_RETURN(token.special, reader.Bool(a, "special", path, false));
            TP_ASSIGN_OR_RETURN(token.normalized, reader.Bool(a, "normalized", path, !token.special));
            TP_ASSIGN_OR_RETURN(token.lstrip, reader.Bool(a, "lstrip", path, false));
            TP_ASSIGN_OR_RETURN(token.rstrip, reader.Bool(a, "rstrip", path, false));
            TP_ASSIGN_OR_RETURN(token.single_word, reader.Bool(a, "single_word", path, false));
            max_id = std::max<int64_t>(max_id, token.id);
            out.added_tokens.push_back(std::move(token));
        }
    }
    const int64_t entries = static_cast<int64_t>(piece_ids.size() + out.added_tokens.size());
    if (max_id < 0) return reader.Corrupt("model.vocab", "is empty");
    if (max_id + 1 > kMaxIdSpread * entries + kIdSlack) {
        return reader.Corrupt("model.vocab", "uses ids up to " + std::to_string(max_id) + " for only " +
                                                 std::to_string(entries) + " tokens");
    }

    Vocab& vocab = out.vocab;
    const size_t n = static_cast<size_t>(max_id + 1);
    vocab.tokens.assign(n, std::string());
    vocab.types.assign(n, TokenType::kUnused);
    std::vector<bool> used(n, false);
    for (const auto& [piece, id] : piece_ids) {
        if (used[static_cast<size_t>(id)]) {
            return reader.Corrupt("model.vocab", "gives id " + std::to_string(id) + " to two pieces ('" +
                                                     vocab.tokens[static_cast<size_t>(id)] + "' and '" + piece + "')");
        }
        used[static_cast<size_t>(id)] = true;
        vocab.tokens[static_cast<size_t>(id)] = piece;
        vocab.types[static_cast<size_t>(id)] =
            out.byte_fallback && IsByteToken(piece) ? TokenType::kByte : TokenType::kNormal;
    }
    for (size_t i = 0; i < out.added_tokens.size(); ++i) {
        const AddedToken& token = out.added_tokens[i];
        const std::string& piece = vocab.tokens[static_cast<size_t>(token.id)];
        // An added token may repeat a piece of the vocab (Llama's <s>), under the same id only.
        if (used[static_cast<size_t>(token.id)] && piece != token.content) {
            return reader.Corrupt("added_tokens[" + std::to_string(i) + "]",
                                  "gives id " + std::to_string(token.id) + " to '" + token.content + "', which is '" +
                                      piece + "' in model.vocab or an earlier added token");
        }
        const auto in_vocab = piece_ids.find(token.content);
        if (in_vocab != piece_ids.end() && in_vocab->second != token.id) {
            return reader.Corrupt("added_tokens[" + std::to_string(i) + "]",
                                  "'" + token.content + "' has id " + std::to_string(token.id) +
                                      " but model.vocab says " + std::to_string(in_vocab->second));
        }
        vocab.tokens[static_cast<size_t>(token.id)] = token.content;
        vocab.types[static_cast<size_t>(token.id)] = token.special ? TokenType::kControl : TokenType::kUserDefined;
        used[static_cast<size_t>(token.id)] = true;
    }
    for (size_t id = 0; id < n; ++id) {
        if (!used[id]) vocab.tokens[id] = "[PAD" + std::to_string(id) + "]";
    }
    if (const Json* unk = Member(*model, "unk_token")) {
        if (!unk->is_string()) return reader.Corrupt("model.unk_token", "must be a string or null");
        const auto it = piece_ids.find(unk->get<std::string>());
        if (it != piece_ids.end()) {
            vocab.unk_id = it->second;
            vocab.types[static_cast<size_t>(it->second)] = TokenType::kUnknown;
        }
    }

    const Json* merges = Member(*model, "merges");
    if (merges != nullptr && !merges->is_array()) return reader.Corrupt("model.merges", "must be an array");
    if (merges != nullptr) {
        out.merges.reserve(merges->size());
        for (size_t rank = 0; rank < merges->size(); ++rank) {
            const Json& m = (*merges)[rank];
            const std::string path = "model.merges[" + std::to_string(rank) + "]";
            std::string left, right;
            if (m.is_string()) {  // "a b", as tokenizers < 0.20 writes them
                const std::string s = m.get<std::string>();
                const size_t space = s.find(' ');
                if (space == std::string::npos) return reader.Corrupt(path, "'" + s + "' is not two pieces");
                left = s.substr(0, space);
                right = s.substr(space + 1);
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                left = m[0].get<std::string>();
                right = m[1].get<std::string>();
            } else {
                return reader.Corrupt(path, "must be \"a b\" or [\"a\", \"b\"]");
            }
            for (const std::string* piece : {&left, &right}) {
                if (piece_ids.count(*piece) == 0)
                    return reader.Corrupt(path, "names '" + *piece + "', not in the vocab");
            }
            if (piece_ids.count(left + right) == 0) {
                return reader.Corrupt(path, "makes '" + left + right + "', not in the vocab");
            }
            out.merges.emplace_back(std::move(left), std::move(right));
        }
    }

    if (const Json* normalizer = Member(root, "normalizer")) {
        TP_RETURN_IF_ERROR(reader.Normalizer(*normalizer, "normalizer", out.normalizer));
    }
    if (const Json* pre = Member(root, "pre_tokenizer")) {
        TP_RETURN_IF_ERROR(reader.PreTokenizer(*pre, "pre_tokenizer", out.pre_tokenizer));
    }
    out.byte_level = HasType(Member(root, "decoder"), "ByteLevel", "decoders") ||
                     std::any_of(out.pre_tokenizer.begin(), out.pre_tokenizer.end(), [](const PreTokenizerStep& s) {
                         return s.kind == PreTokenizerStep::Kind::kByteLevel;
                     });

    // BOS from the template: "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}].
    if (const Json* tmpl = FindTemplate(Member(root, "post_processor"))) {
        vocab.add_bos = false;
        const Json* single = Member(*tmpl, "single");
        if (single != nullptr && single->is_array() && !single->empty()) {
            const Json* special = Member((*single)[0], "SpecialToken");
            const Json* name = special ? Member(*special, "id") : nullptr;
            if (name != nullptr && name->is_string()) {
                const std::string bos = name->get<std::string>();
                const Json* specials = Member(*tmpl, "special_tokens");
                const Json* entry = specials ? Member(*specials, bos.c_str()) : nullptr;
                const Json* ids = entry ? Member(*entry, "ids") : nullptr;
                if (ids != nullptr && ids->is_array() && ids->size() == 1) {
                    TP_ASSIGN_OR_RETURN(const int32_t id, reader.Id((*ids)[0], "post_processor.special_tokens"));
                    if (static_cast<size_t>(id) < n) {
                        vocab.bos_id = id;
                        vocab.add_bos = true;
                    }
                }
            }
        }
    }

    // What a GGUF writer needs to know about the encoder.
    if (out.byte_level) {
        vocab.model = "gpt2";
        for (const auto& [left, right] : out.merges) vocab.merges.push_back(left + " " + right);
        for (const PreTokenizerStep& step : out.pre_tokenizer) {
            if (step.kind == PreTokenizerStep::Kind::kSplit && step.pattern.regex) {
                vocab.pre = std::string(PreTokenizerName(step.pattern.text));
                break;
            }
            if (step.kind == PreTokenizerStep::Kind::kByteLevel && step.use_regex) {
                vocab.pre = "gpt-2";
                break;
            }
        }
    } else {
        vocab.model = "llama";
        bool prepends = false;
        bool collapses = false;
        for (const NormalizerStep& step : out.normalizer) {
            prepends |= step.kind == NormalizerStep::Kind::kPrepend && step.content == internal::kSpaceMarker;
            collapses |=
                step.kind == NormalizerStep::Kind::kReplace && step.pattern.regex && step.pattern.text == " {2,}";
        }
        for (const PreTokenizerStep& step : out.pre_tokenizer) {
            prepends |= step.kind == PreTokenizerStep::Kind::kMetaspace && step.prepend_scheme != PrependScheme::kNever;
        }
        vocab.add_space_prefix = prepends;
        vocab.remove_extra_whitespaces = collapses;
        // Scores that order merges as the ranks do: minus the first rank that makes each piece.
        const float unmerged = -static_cast<float>(out.merges.size());
        vocab.scores.assign(n, unmerged);
        for (size_t rank = out.merges.size(); rank-- > 0;) {
            const auto& [left, right] = out.merges[rank];
            const auto made = piece_ids.find(left + right);  // present: checked with the merges above
            if (made != piece_ids.end()) vocab.scores[static_cast<size_t>(made->second)] = -static_cast<float>(rank);
        }
    }
    return out;
}

Result<Vocab> VocabFromTokenizerJson(std::string_view json, const std::string& origin) {
    TP_ASSIGN_OR_RETURN(TokenizerJson parsed, ParseTokenizerJson(json, origin));
    return std::move(parsed.vocab);
}

Status ApplyTokenizerConfig(std::string_view config_json, const std::string& origin, Vocab& vocab) {
    TP_RETURN_IF_ERROR(internal::CheckJsonNesting(config_json, kMaxNesting, origin));
    const Json root = Json::parse(config_json.begin(), config_json.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object()) return Status::Corruption(origin + ": not a JSON object");
    auto id_of = [&](const char* key) -> std::optional<int32_t> {
        const Json* v = Member(root, key);
        if (v != nullptr && v->is_object()) v = Member(*v, "content");  // {"content": "<s>", "lstrip": ...}
        if (v == nullptr || !v->is_string()) return std::nullopt;
        const std::string token = v->get<std::string>();
        for (size_t id = 0; id < vocab.tokens.size(); ++id) {
            if (vocab.tokens[id] == token) return static_cast<int32_t>(id);
        }
        return std::nullopt;
    };
    if (auto id = id_of("bos_token")) vocab.bos_id = id;
    if (auto id = id_of("eos_token")) vocab.eos_id = id;
    if (auto id = id_of("unk_token")) vocab.unk_id = id;
    if (auto id = id_of("pad_token")) vocab.pad_id = id;
    if (const Json* add = Member(root, "add_bos_token"); add && add->is_boolean()) vocab.add_bos = add->get<bool>();
    return Status::Ok();
}

namespace internal {

Status CheckJsonNesting(std::string_view text, int max_depth, const std::string& origin) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                return Status::Corruption(origin + ": JSON nested deeper than " + std::to_string(max_depth) +
                                          " levels at byte " + std::to_string(i));
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return Status::Ok();
}

}  // namespace internal
}  // namespace tenpak::io
