// "hf-bpe" and "byte-level-bpe": the tokenizer.json pipeline of Hugging Face tokenizers, for the
// parts io::TokenizerJson holds.
//
//   text -> added tokens cut out (raw text; those with normalized=true after normalizing)
//        -> each stretch between them: normalizer -> pre-tokenizer -> words
//        -> each word: RankedBpe (merges by rank, byte fallback or unknown token) -> ids
//
// The same class runs byte-level vocabularies read from GGUF (model "gpt2"): they are turned into
// the tokenizer.json they stand for (ByteLevelSpecFromVocab).
#include <unordered_map>

#include "added_tokens_internal.h"
#include "bpe_internal.h"
#include "byte_level_internal.h"
#include "text_steps_internal.h"
#include "tokenizers_internal.h"
#include "utf8_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

// Words longer than this are not worth caching (a whole text when there is no pre-tokenizer).
constexpr size_t kMaxCachedWord = 256;

std::vector<io::AddedToken> AddedTokensWhere(const std::vector<io::AddedToken>& tokens, bool normalized) {
    std::vector<io::AddedToken> out;
    for (const io::AddedToken& t : tokens) {
        if (t.normalized == normalized) out.push_back(t);
    }
    return out;
}

class JsonTokenizer final : public Tokenizer {
public:
    JsonTokenizer(io::TokenizerJson spec, Normalizer normalizer, PreTokenizer pre_tokenizer, RankedBpe bpe)
        : byte_level_(spec.byte_level),
          bos_id_(spec.vocab.bos_id),
          eos_id_(spec.vocab.eos_id),
          add_bos_(spec.vocab.add_bos.value_or(!spec.byte_level)),
          raw_added_(AddedTokensWhere(spec.added_tokens, false)),
          normalized_added_(AddedTokensWhere(spec.added_tokens, true)),
          normalizer_(std::move(normalizer)),
          pre_tokenizer_(std::move(pre_tokenizer)),
          bpe_(std::move(bpe)) {
        for (const io::NormalizerStep& step : spec.normalizer) {
            adds_prefix_space_ |= step.kind == io::NormalizerStep::Kind::kPrepend && !step.content.empty() &&
                                  (step.content == "\xE2\x96\x81" || step.content == " ");
        }
        adds_prefix_space_ |= pre_tokenizer_.adds_prefix_space();
        token_bytes_ = ComputeTokenBytes(spec);
    }

    std::vector<int32_t> Encode(std::string_view text, bool add_bos) const override {
        std::vector<int32_t> ids;
        if (add_bos && bos_id_) ids.push_back(*bos_id_);
        std::unordered_map<std::string, std::vector<int32_t>> cache;
        for (const AddedTokenMatcher::Piece& piece : Cut(raw_added_, text)) {
            if (piece.id >= 0) {
                ids.push_back(piece.id);
                continue;
            }
            const std::string normalized = normalizer_.Apply(text.substr(piece.begin, piece.end - piece.begin));
            for (const AddedTokenMatcher::Piece& part : Cut(normalized_added_, normalized)) {
                if (part.id >= 0) {
                    ids.push_back(part.id);
                    continue;
                }
                const bool at_start = piece.begin == 0 && part.begin == 0;
                const std::string_view stretch = std::string_view(normalized).substr(part.begin, part.end - part.begin);
                for (const std::string& word : pre_tokenizer_.Apply(stretch, at_start)) {
                    if (word.size() > kMaxCachedWord) {
                        bpe_.Encode(word, ids);
                        continue;
                    }
                    auto [it, fresh] = cache.try_emplace(word);
                    if (fresh) bpe_.Encode(word, it->second);
                    ids.insert(ids.end(), it->second.begin(), it->second.end());
                }
            }
        }
        return ids;
    }

    std::string TokenBytes(int32_t id) const override {
        return id >= 0 && static_cast<size_t>(id) < token_bytes_.size() ? token_bytes_[static_cast<size_t>(id)] : "";
    }
    size_t vocab_size() const override { return token_bytes_.size(); }
    std::optional<int32_t> bos_id() const override { return bos_id_; }
    std::optional<int32_t> eos_id() const override { return eos_id_; }
    bool add_bos_by_default() const override { return add_bos_; }
    std::string_view kind() const override { return byte_level_ ? "byte-level-bpe" : "hf-bpe"; }

protected:
    bool adds_prefix_space() const override { return adds_prefix_space_; }

private:
    static std::vector<AddedTokenMatcher::Piece> Cut(const AddedTokenMatcher& matcher, std::string_view text) {
        if (text.empty()) return {};
        if (matcher.empty()) return {{0, text.size(), -1}};
        return matcher.Split(text);
    }

    // What each id decodes to: the inverse of ByteLevel for byte-level files; otherwise '▁' -> ' '
    // and <0xNN> -> the byte (with byte_fallback). Added tokens decode to their content, control
    // ones to nothing.
    std::vector<std::string> ComputeTokenBytes(const io::TokenizerJson& spec) const {
        if (!byte_level_) {
            io::Vocab v = spec.vocab;
            if (!spec.byte_fallback) {  // then "<0x41>" is just text
                for (io::TokenType& t : v.types) {
                    if (t == io::TokenType::kByte) t = io::TokenType::kNormal;
                }
            }
            std::vector<std::string> out = SentencePieceTokenBytes(v);
            for (size_t id = 0; id < out.size() && id < v.types.size(); ++id) {
                if (v.types[id] == io::TokenType::kUnused) out[id].clear();  // "[PAD<id>]" fillers
            }
            return out;
        }
        const std::vector<std::string>& tokens = bpe_.tokens();
        std::vector<std::string> out(tokens.size());
        for (size_t id = 0; id < tokens.size(); ++id) {
            const io::TokenType type = id < spec.vocab.types.size() ? spec.vocab.types[id] : io::TokenType::kNormal;
            if (type == io::TokenType::kControl || type == io::TokenType::kUnused) continue;
            const std::string& piece = tokens[id];
            if (type == io::TokenType::kUserDefined) {
                out[id] = piece;
                continue;
            }
            std::string bytes;
            bool mapped = true;
            for (size_t pos = 0; pos < piece.size() && mapped;) {
                const size_t length = Utf8Length(piece, pos);
                const bool invalid_byte = length == 1 && (static_cast<unsigned char>(piece[pos]) & 0x80) != 0;
                const int b = invalid_byte ? -1 : ByteOfByteLevelChar(Utf8Decode(piece, pos, length));
                mapped = b >= 0;
                if (mapped) bytes += static_cast<char>(b);
                pos += length;
            }
            // tokenizers' ByteLevel decoder passes a piece with unmapped characters through as is.
            out[id] = mapped ? bytes : piece;
        }
        return out;
    }

    bool byte_level_;
    std::optional<int32_t> bos_id_;
    std::optional<int32_t> eos_id_;
    bool add_bos_;
    bool adds_prefix_space_ = false;
    AddedTokenMatcher raw_added_;
    AddedTokenMatcher normalized_added_;
    Normalizer normalizer_;
    PreTokenizer pre_tokenizer_;
    RankedBpe bpe_;
    std::vector<std::string> token_bytes_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> MakeJsonTokenizer(io::TokenizerJson spec, const std::string& origin) {
    TP_ASSIGN_OR_RETURN(Normalizer normalizer, Normalizer::Create(spec.normalizer, origin));
    TP_ASSIGN_OR_RETURN(PreTokenizer pre_tokenizer, PreTokenizer::Create(spec.pre_tokenizer, origin));
    RankedBpe::Options options;
    options.byte_fallback = spec.byte_fallback;
    options.fuse_unk = spec.fuse_unk;
    options.ignore_merges = spec.ignore_merges;
    options.unk_id = spec.vocab.unk_id;
    TP_ASSIGN_OR_RETURN(RankedBpe bpe,
                        RankedBpe::Create(spec.vocab.tokens, spec.vocab.types, spec.merges, options, origin));
    return std::unique_ptr<Tokenizer>(
        new JsonTokenizer(std::move(spec), std::move(normalizer), std::move(pre_tokenizer), std::move(bpe)));
}

Result<io::TokenizerJson> ByteLevelSpecFromVocab(const io::Vocab& vocab) {
    const std::optional<std::string_view> pattern = io::PreTokenizerPattern(vocab.pre);
    if (!pattern) {
        return Status::Unsupported("pre-tokenizer '" + vocab.pre +
                                   "' is not supported (TenPak knows gpt-2, llama-bpe, qwen2)");
    }
    io::TokenizerJson spec;
    spec.vocab = vocab;
    spec.byte_level = true;
    spec.ignore_merges = vocab.pre == "llama-bpe";
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        const std::string& m = vocab.merges[rank];
        const size_t space = m.find(' ');
        if (space == std::string::npos) {
            return Status::Corruption("merge " + std::to_string(rank) + " '" + m + "' is not two pieces");
        }
        spec.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
    io::PreTokenizerStep byte_level;
    byte_level.kind = io::PreTokenizerStep::Kind::kByteLevel;
    byte_level.use_regex = *pattern == io::kGpt2Pattern;
    if (!byte_level.use_regex) {
        io::PreTokenizerStep split;
        split.kind = io::PreTokenizerStep::Kind::kSplit;
        split.pattern = {std::string(*pattern), true};
        split.behavior = io::SplitBehavior::kIsolated;
        spec.pre_tokenizer.push_back(split);
    }
    spec.pre_tokenizer.push_back(byte_level);
    for (size_t id = 0; id < vocab.size(); ++id) {
        const io::TokenType type = id < vocab.types.size() ? vocab.types[id] : io::TokenType::kNormal;
        if (type != io::TokenType::kControl && type != io::TokenType::kUserDefined) continue;
        if (vocab.tokens[id].empty()) continue;
        io::AddedToken token;
        token.id = static_cast<int32_t>(id);
        token.content = vocab.tokens[id];
        token.special = type == io::TokenType::kControl;
        spec.added_tokens.push_back(std::move(token));
    }
    return spec;
}

}  // namespace tenpak::tokenizer::internal
