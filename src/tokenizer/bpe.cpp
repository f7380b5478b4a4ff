#include <queue>

#include "bpe_internal.h"
#include "utf8_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

struct Candidate {
    double priority;
    int32_t left;
    int32_t right;
    uint32_t size;  // bytes of the merged symbol when the candidate was made
    int32_t id;
};

// The queue's top is the lowest priority, then the leftmost pair.
struct LaterCandidate {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.priority != b.priority ? a.priority > b.priority : a.left > b.left;
    }
};

uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

void MergeSymbols(std::vector<BpeSymbol>& symbols, const BpeRule& rule) {
    const auto n = static_cast<int32_t>(symbols.size());
    for (int32_t i = 0; i < n; ++i) {
        symbols[static_cast<size_t>(i)].prev = i - 1;
        symbols[static_cast<size_t>(i)].next = i + 1 < n ? i + 1 : -1;
    }
    std::priority_queue<Candidate, std::vector<Candidate>, LaterCandidate> queue;
    auto consider = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const BpeSymbol& l = symbols[static_cast<size_t>(left)];
        const BpeSymbol& r = symbols[static_cast<size_t>(right)];
        if (const std::optional<BpeMerge> merge = rule(l, r)) {
            queue.push({merge->priority, left, right, l.size + r.size, merge->id});
        }
    };
    for (int32_t i = 1; i < n; ++i) consider(i - 1, i);

    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        BpeSymbol& left = symbols[static_cast<size_t>(top.left)];
        BpeSymbol& right = symbols[static_cast<size_t>(top.right)];
        // Symbols only grow, so a pair whose sizes still add up to the candidate's is unchanged.
        if (left.size == 0 || right.size == 0 || left.next != top.right || left.size + right.size != top.size) {
            continue;
        }
        left.size += right.size;
        left.id = top.id;
        left.next = right.next;
        if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.left;
        right.size = 0;
        consider(left.prev, top.left);
        consider(top.left, left.next);
    }
}

void AppendSymbolIds(const std::vector<BpeSymbol>& symbols, std::vector<int32_t>& out) {
    for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
        out.push_back(symbols[static_cast<size_t>(i)].id);
    }
}

Result<RankedBpe> RankedBpe::Create(std::vector<std::string> tokens, const std::vector<io::TokenType>& types,
                                    const std::vector<std::pair<std::string, std::string>>& merges,
                                    const Options& options, const std::string& origin) {
    RankedBpe bpe;
    bpe.options_ = options;
    bpe.tokens_ = std::make_unique<std::vector<std::string>>(std::move(tokens));
    const std::vector<std::string>& all = *bpe.tokens_;
    bpe.piece_ids_.reserve(all.size());
    for (size_t id = 0; id < all.size(); ++id) {
        if (id < types.size() && types[id] == io::TokenType::kUnused) continue;
        bpe.piece_ids_.emplace(all[id], static_cast<int32_t>(id));
    }
    bpe.byte_ids_.fill(-1);
    if (options.byte_fallback) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (int b = 0; b < 256; ++b) {
            const std::string piece = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
            const auto it = bpe.piece_ids_.find(piece);
            if (it != bpe.piece_ids_.end()) bpe.byte_ids_[static_cast<size_t>(b)] = it->second;
        }
    }
    bpe.merges_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [left, right] = merges[rank];
        const auto l = bpe.piece_ids_.find(left);
        const auto r = bpe.piece_ids_.find(right);
        const auto made = bpe.piece_ids_.find(left + right);
        if (l == bpe.piece_ids_.end() || r == bpe.piece_ids_.end() || made == bpe.piece_ids_.end()) {
            return Status::Corruption(origin + ": merge " + std::to_string(rank) + " '" + left + " " + right +
                                      "' names pieces that are not in the vocabulary");
        }
        // A pair listed twice keeps its later rank, as tokenizers' HashMap collect does.
        bpe.merges_[PairKey(l->second, r->second)] = {static_cast<int32_t>(rank), made->second};
    }
    return bpe;
}

void RankedBpe::Encode(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (options_.ignore_merges) {
        if (const auto it = piece_ids_.find(word); it != piece_ids_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    std::vector<BpeSymbol> symbols;
    symbols.reserve(word.size());
    std::optional<BpeSymbol> unknown;  // a pending (possibly fused) unknown symbol
    auto flush_unknown = [&] {
        if (unknown) symbols.push_back(*unknown);
        unknown.reset();
    };
    for (size_t pos = 0; pos < word.size();) {
        const size_t length = Utf8Length(word, pos);
        const auto begin = static_cast<uint32_t>(pos);
        if (const auto it = piece_ids_.find(word.substr(pos, length)); it != piece_ids_.end()) {
            flush_unknown();
            symbols.push_back({begin, static_cast<uint32_t>(length), it->second});
        } else {
            bool all_bytes = options_.byte_fallback;
            for (size_t k = 0; k < length && all_bytes; ++k) {
                all_bytes = byte_ids_[static_cast<unsigned char>(word[pos + k])] >= 0;
            }
            if (all_bytes) {
                flush_unknown();
                for (size_t k = 0; k < length; ++k) {
                    symbols.push_back(
                        {static_cast<uint32_t>(pos + k), 1, byte_ids_[static_cast<unsigned char>(word[pos + k])]});
                }
            } else if (options_.unk_id) {
                if (unknown && options_.fuse_unk) {
                    unknown->size += static_cast<uint32_t>(length);
                } else {
                    flush_unknown();
                    unknown = BpeSymbol{begin, static_cast<uint32_t>(length), *options_.unk_id};
                }
            }
        }
        pos += length;
    }
    flush_unknown();
    MergeSymbols(symbols, [this](const BpeSymbol& left, const BpeSymbol& right) -> std::optional<BpeMerge> {
        const auto it = merges_.find(PairKey(left.id, right.id));
        if (it == merges_.end()) return std::nullopt;
        return BpeMerge{static_cast<double>(it->second.first), it->second.second};
    });
    AppendSymbolIds(symbols, out);
}

}  // namespace tenpak::tokenizer::internal
