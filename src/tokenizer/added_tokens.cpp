#include <algorithm>
#include <cctype>

#include "added_tokens_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

bool IsAsciiSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool IsWordByte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u) || c == '_';
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<io::AddedToken> tokens) : tokens_(std::move(tokens)) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (tokens_[i].content.empty()) continue;
        by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
    }
    for (std::vector<size_t>& bucket : by_first_byte_) {
        std::stable_sort(bucket.begin(), bucket.end(),
                         [&](size_t a, size_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
    }
}

std::vector<AddedTokenMatcher::Piece> AddedTokenMatcher::Split(std::string_view text) const {
    std::vector<Piece> out;
    size_t plain_begin = 0;
    for (size_t pos = 0; pos < text.size();) {
        const io::AddedToken* found = nullptr;
        for (size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
            const io::AddedToken& token = tokens_[index];
            if (text.substr(pos).starts_with(token.content)) {
                const size_t end = pos + token.content.size();
                if (token.single_word &&
                    ((pos > 0 && IsWordByte(text[pos - 1])) || (end < text.size() && IsWordByte(text[end])))) {
                    continue;
                }
                found = &token;
                break;
            }
        }
        if (found == nullptr) {
            ++pos;
            continue;
        }
        size_t begin = pos;
        size_t end = pos + found->content.size();
        if (found->lstrip) {
            while (begin > plain_begin && IsAsciiSpace(text[begin - 1])) --begin;
        }
        if (found->rstrip) {
            while (end < text.size() && IsAsciiSpace(text[end])) ++end;
        }
        if (begin > plain_begin) out.push_back({plain_begin, begin, -1});
        out.push_back({begin, end, found->id});
        plain_begin = end;
        pos = end;
    }
    if (plain_begin < text.size()) out.push_back({plain_begin, text.size(), -1});
    return out;
}

}  // namespace tenpak::tokenizer::internal
