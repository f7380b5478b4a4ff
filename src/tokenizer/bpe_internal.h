// The merge loop every BPE tokenizer in TenPak runs, and the rank-based BPE model of tokenizer.json.
//
// A text (or one pre-tokenized word) starts as a list of symbols, one per character or byte. The
// loop repeatedly merges the adjacent pair with the best priority, the leftmost among equals,
// until no pair merges. What "best" means is the caller's rule:
//   SentencePiece / llama.cpp "SPM": any pair whose concatenation is a piece; priority = -score
//                                    of that piece (src/tokenizer/spm_bpe.cpp)
//   tokenizers' BPE model:           a pair listed in the merges; priority = its rank (RankedBpe)
// Both run in O(n log n) with a priority queue of candidate pairs; candidates made stale by an
// earlier merge are recognised by their size and skipped, as SentencePiece does.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/io/vocab.h"

namespace tenpak::tokenizer::internal {

struct BpeSymbol {
    uint32_t begin = 0;  // byte offset in the text being merged
    uint32_t size = 0;   // bytes; 0 once merged into the symbol on its left
    int32_t id = -1;     // the token the symbol is, or -1 when its text is no piece
    int32_t prev = -1;   // neighbours in the list, -1 at the ends
    int32_t next = -1;
    bool frozen = false;  // never merged (SentencePiece's user-defined pieces)
};

// The token two adjacent symbols merge into, and how early that merge happens (lower first).
struct BpeMerge {
    double priority = 0;
    int32_t id = -1;
};

// nullopt: the pair does not merge.
using BpeRule = std::function<std::optional<BpeMerge>(const BpeSymbol& left, const BpeSymbol& right)>;

// Links `symbols` (in text order, contiguous) into a list and merges them by `rule`. Afterwards the
// surviving symbols are those with size > 0, in order from index 0 along `next`.
void MergeSymbols(std::vector<BpeSymbol>& symbols, const BpeRule& rule);

// Appends `id` of every surviving symbol to `out`.
void AppendSymbolIds(const std::vector<BpeSymbol>& symbols, std::vector<int32_t>& out);

// tokenizers' BPE model (models/bpe/model.rs): a word's characters are looked up in the vocab; one
// that is missing becomes its <0xNN> byte tokens (byte_fallback, when all exist) or the unknown
// token (consecutive ones fused with fuse_unk) or nothing; then merges by rank. With
// ignore_merges, a word that is itself a piece is that piece.
class RankedBpe {
public:
    struct Options {
        bool byte_fallback = false;
        bool fuse_unk = false;
        bool ignore_merges = false;
        std::optional<int32_t> unk_id;
    };

    // `tokens` by id; pieces of type kUnused are left out of the lookups (they fill id holes).
    // `merges` in rank order; each must name pieces whose concatenation is a piece.
    static Result<RankedBpe> Create(std::vector<std::string> tokens, const std::vector<io::TokenType>& types,
                                    const std::vector<std::pair<std::string, std::string>>& merges,
                                    const Options& options, const std::string& origin);

    RankedBpe(RankedBpe&&) = default;
    RankedBpe& operator=(RankedBpe&&) = default;

    // Appends the ids of one word.
    void Encode(std::string_view word, std::vector<int32_t>& out) const;

    const std::vector<std::string>& tokens() const { return *tokens_; }

private:
    RankedBpe() = default;

    // Owned through a pointer so that the string_views in `piece_ids_` survive moves of this object.
    std::unique_ptr<std::vector<std::string>> tokens_;
    std::unordered_map<std::string_view, int32_t> piece_ids_;
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left id, right id) -> (rank, id)
    std::array<int32_t, 256> byte_ids_{};
    Options options_;
};

}  // namespace tenpak::tokenizer::internal
