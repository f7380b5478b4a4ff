// "spm-bpe": SentencePiece's BPE encoding (bpe_model.cc, normalizer.cc), from a vocabulary with
// scores (GGUF "llama", llama2.c tokenizers, or any SentencePiece model's pieces).
//
//   1. normalize: with remove_extra_whitespaces, drop leading spaces and collapse runs of them;
//      with add_space_prefix, put one space in front; spaces become '▁'; with
//      remove_extra_whitespaces, drop trailing '▁'s. Empty (or all-space) text gives no tokens.
//   2. split into characters; user-defined pieces are matched first (longest) and never merged.
//   3. merge (bpe.cpp): any adjacent pair whose concatenation is a normal, user-defined or unused
//      piece, highest piece score first, leftmost among equals.
//   4. unused pieces are split back into the two symbols that made them (SentencePiece's
//      resegmentation); symbols that are no piece become their bytes' <0xNN> tokens (byte fallback),
//      or the unknown token when the vocabulary lacks a byte token.
//
// Where SentencePiece replaces each byte of invalid UTF-8 by U+FFFD before all this, TenPak keeps
// the byte and gives its <0xNN> token (as llama.cpp does), so that such text survives Decode.
#include <unordered_map>

#include "bpe_internal.h"
#include "tokenizers_internal.h"
#include "utf8_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";

class SpmBpeTokenizer final : public Tokenizer {
public:
    explicit SpmBpeTokenizer(const io::Vocab& vocab)
        : tokens_(vocab.tokens),
          scores_(vocab.scores),
          types_(vocab.types),
          bos_id_(vocab.bos_id),
          eos_id_(vocab.eos_id),
          unk_id_(vocab.unk_id),
          add_bos_(vocab.add_bos.value_or(true)),
          add_space_prefix_(vocab.add_space_prefix.value_or(true)),
          remove_extra_whitespaces_(vocab.remove_extra_whitespaces.value_or(true)),
          token_bytes_(SentencePieceTokenBytes(vocab)) {
        types_.resize(tokens_.size(), io::TokenType::kNormal);
        byte_ids_.fill(-1);
        for (size_t id = 0; id < tokens_.size(); ++id) {
            const io::TokenType type = types_[id];
            if (type == io::TokenType::kNormal || type == io::TokenType::kUserDefined ||
                type == io::TokenType::kUnused) {
                pieces_.emplace(tokens_[id], static_cast<int32_t>(id));
            }
            if (type == io::TokenType::kUserDefined && !tokens_[id].empty()) {
                user_defined_[static_cast<unsigned char>(tokens_[id][0])].push_back(tokens_[id]);
            }
            if (const int b = ByteOfBytePiece(tokens_[id]); b >= 0 && byte_ids_[static_cast<size_t>(b)] < 0) {
                byte_ids_[static_cast<size_t>(b)] = static_cast<int32_t>(id);
            }
        }
        for (auto& bucket : user_defined_) {
            std::sort(bucket.begin(), bucket.end(),
                      [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
        }
    }

    std::vector<int32_t> Encode(std::string_view text, bool add_bos) const override {
        std::vector<int32_t> ids;
        if (add_bos && bos_id_) ids.push_back(*bos_id_);
        const std::string normalized = Normalize(text);
        const std::string_view s = normalized;

        std::vector<BpeSymbol> symbols;
        symbols.reserve(s.size());
        for (size_t pos = 0; pos < s.size();) {
            size_t length = UserDefinedAt(s, pos);
            const bool frozen = length > 0;
            if (!frozen) length = Utf8Length(s, pos);
            BpeSymbol symbol;
            symbol.begin = static_cast<uint32_t>(pos);
            symbol.size = static_cast<uint32_t>(length);
            symbol.frozen = frozen;
            symbols.push_back(symbol);
            pos += length;
        }

        // SentencePiece's rev_merge: for each unused piece, the last pair seen to make it.
        std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> unmerge;
        MergeSymbols(symbols, [&](const BpeSymbol& left, const BpeSymbol& right) -> std::optional<BpeMerge> {
            if (left.frozen || right.frozen) return std::nullopt;
            const std::string_view piece = s.substr(left.begin, left.size + right.size);
            const auto it = pieces_.find(piece);
            if (it == pieces_.end()) return std::nullopt;
            const auto id = static_cast<size_t>(it->second);
            if (types_[id] == io::TokenType::kUnused) {
                unmerge[piece] = {s.substr(left.begin, left.size), s.substr(right.begin, right.size)};
            }
            return BpeMerge{-static_cast<double>(id < scores_.size() ? scores_[id] : 0.0f), it->second};
        });
        for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
            const BpeSymbol& symbol = symbols[static_cast<size_t>(i)];
            Resegment(s.substr(symbol.begin, symbol.size), unmerge, ids);
        }
        return ids;
    }

    std::string TokenBytes(int32_t id) const override {
        return id >= 0 && static_cast<size_t>(id) < token_bytes_.size() ? token_bytes_[static_cast<size_t>(id)] : "";
    }
    size_t vocab_size() const override { return tokens_.size(); }
    std::optional<int32_t> bos_id() const override { return bos_id_; }
    std::optional<int32_t> eos_id() const override { return eos_id_; }
    bool add_bos_by_default() const override { return add_bos_; }
    std::string_view kind() const override { return "spm-bpe"; }

protected:
    bool adds_prefix_space() const override { return add_space_prefix_; }

private:
    // SentencePiece's Normalizer::Normalize with the identity rule and escape_whitespaces on.
    std::string Normalize(std::string_view text) const {
        size_t pos = 0;
        if (remove_extra_whitespaces_) {
            while (pos < text.size() && text[pos] == ' ') ++pos;
        }
        std::string out;
        if (pos == text.size()) return out;
        out.reserve((text.size() - pos) * 3 / 2 + kSpaceMarker.size());
        if (add_space_prefix_) out += kSpaceMarker;
        bool previous_space = remove_extra_whitespaces_;
        for (; pos < text.size(); ++pos) {
            if (text[pos] == ' ') {
                if (previous_space && remove_extra_whitespaces_) continue;
                out += kSpaceMarker;
                previous_space = true;
            } else {
                out += text[pos];
                previous_space = false;
            }
        }
        if (remove_extra_whitespaces_) {
            while (out.ends_with(kSpaceMarker)) out.resize(out.size() - kSpaceMarker.size());
        }
        return out;
    }

    // Bytes of the longest user-defined piece at s[pos], or 0.
    size_t UserDefinedAt(std::string_view s, size_t pos) const {
        for (std::string_view piece : user_defined_[static_cast<unsigned char>(s[pos])]) {
            if (s.substr(pos).starts_with(piece)) return piece.size();
        }
        return 0;
    }

    void Resegment(std::string_view piece,
                   const std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>>& unmerge,
                   std::vector<int32_t>& ids) const {
        if (const auto it = pieces_.find(piece); it != pieces_.end()) {
            const auto parts = unmerge.find(piece);
            if (types_[static_cast<size_t>(it->second)] != io::TokenType::kUnused || parts == unmerge.end()) {
                ids.push_back(it->second);
                return;
            }
            Resegment(parts->second.first, unmerge, ids);
            Resegment(parts->second.second, unmerge, ids);
            return;
        }
        bool all_bytes = true;
        for (char c : piece) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
        if (all_bytes) {
            for (char c : piece) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
        } else if (unk_id_) {
            ids.push_back(*unk_id_);
        }
    }

    std::vector<std::string> tokens_;
    std::vector<float> scores_;
    std::vector<io::TokenType> types_;
    std::optional<int32_t> bos_id_;
    std::optional<int32_t> eos_id_;
    std::optional<int32_t> unk_id_;
    bool add_bos_;
    bool add_space_prefix_;
    bool remove_extra_whitespaces_;
    std::vector<std::string> token_bytes_;
    std::unordered_map<std::string_view, int32_t> pieces_;  // views into tokens_
    std::array<std::vector<std::string_view>, 256> user_defined_;
    std::array<int32_t, 256> byte_ids_{};
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> MakeSpmBpeTokenizer(const io::Vocab& vocab) {
    if (vocab.tokens.empty()) return Status::Corruption("the vocabulary has no tokens");
    if (vocab.scores.size() != vocab.tokens.size()) {
        return Status::Corruption("the vocabulary has " + std::to_string(vocab.scores.size()) + " scores for " +
                                  std::to_string(vocab.tokens.size()) +
                                  " tokens; SentencePiece-style BPE merges by score");
    }
    return std::unique_ptr<Tokenizer>(new SpmBpeTokenizer(vocab));
}

}  // namespace tenpak::tokenizer::internal
