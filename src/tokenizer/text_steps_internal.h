// The text preparation of tokenizer.json, run before the BPE model: normalizers rewrite the text
// between added tokens, pre-tokenizers cut it into words. Semantics follow tokenizers'
// normalizers/*.rs and pre_tokenizers/*.rs for the steps io::TokenizerJson can hold.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "regex_internal.h"
#include "tenpak/core/result.h"
#include "tenpak/io/tokenizer_json.h"

namespace tenpak::tokenizer::internal {

// Thread safety: immutable after Create.
class Normalizer {
public:
    static Result<Normalizer> Create(const std::vector<io::NormalizerStep>& steps, const std::string& origin);
    std::string Apply(std::string_view text) const;

private:
    struct Step {
        io::NormalizerStep spec;
        std::unique_ptr<Regex> regex;  // kReplace with a regex pattern
    };
    std::vector<Step> steps_;
};

class PreTokenizer {
public:
    static Result<PreTokenizer> Create(const std::vector<io::PreTokenizerStep>& steps, const std::string& origin);

    // The words of one stretch of normalized text. `at_start`: the stretch begins the input, which
    // Metaspace's prepend_scheme "first" asks. Empty words are dropped, as tokenizers drops them.
    std::vector<std::string> Apply(std::string_view text, bool at_start) const;

    // Whether any step prepends a space (ByteLevel add_prefix_space, Metaspace with a prepend scheme).
    bool adds_prefix_space() const;

private:
    struct Step {
        io::PreTokenizerStep spec;
        std::unique_ptr<Regex> regex;  // kSplit with a regex, kDigits, kByteLevel with use_regex
    };
    std::vector<Step> steps_;
};

}  // namespace tenpak::tokenizer::internal
