// Finding tokenizer.json's added tokens ("<|endoftext|>", "<s>") in text before it is normalized
// and pre-tokenized, as tokenizers' AddedVocabulary does: the leftmost match wins, the longest
// token among those starting there; lstrip / rstrip swallow the whitespace beside a match;
// single_word tokens only match between non-word characters.
//
// Approximations (docs/tokenizers.md): lstrip / rstrip swallow ASCII whitespace only, and
// single_word counts ASCII letters, digits, '_' and every non-ASCII character as word characters.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tenpak/io/tokenizer_json.h"

namespace tenpak::tokenizer::internal {

class AddedTokenMatcher {
public:
    explicit AddedTokenMatcher(std::vector<io::AddedToken> tokens);

    struct Piece {
        size_t begin = 0;
        size_t end = 0;
        int32_t id = -1;  // the added token, or -1 for plain text between tokens
    };
    // `text` cut into plain stretches (never empty) and added tokens, in order.
    std::vector<Piece> Split(std::string_view text) const;
    bool empty() const { return tokens_.empty(); }

private:
    std::vector<io::AddedToken> tokens_;
    // Indices into tokens_ by first byte, longest content first.
    std::array<std::vector<size_t>, 256> by_first_byte_;
};

}  // namespace tenpak::tokenizer::internal
