// PCRE2 regexes for tokenizer.json patterns. tokenizers compiles them with Oniguruma; PCRE2 in UTF
// mode with Unicode properties (UCP) agrees on what tokenizer files use: \p{L}, \p{N}, \s, (?i:...),
// (?!...), \A, \z. (Oniguruma's \h is a hex digit where PCRE2's is horizontal space; no known
// tokenizer file uses it.)
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenpak/core/result.h"

struct pcre2_real_code_8;

namespace tenpak::tokenizer::internal {

// Thread safety: immutable after Compile; FindAll may run concurrently.
class Regex {
public:
    // `what` names the pattern in errors ("tokenizer.json: pre_tokenizer Split pattern").
    static Result<std::unique_ptr<Regex>> Compile(std::string_view pattern, const std::string& what);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // [begin, end) of each match, left to right, not overlapping. After an empty match the search
    // goes on one character later, as Oniguruma's find_iter does. Invalid UTF-8 in `text` is never
    // part of a match. Should PCRE2 give up on a match (its backtracking limit, which only a
    // pathological pattern reaches), the rest of the text counts as unmatched.
    std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

private:
    explicit Regex(pcre2_real_code_8* code) : code_(code) {}
    pcre2_real_code_8* code_;
};

}  // namespace tenpak::tokenizer::internal
