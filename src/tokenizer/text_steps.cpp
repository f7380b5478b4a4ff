#include <algorithm>

#include "byte_level_internal.h"
#include "text_steps_internal.h"
#include "utf8_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

using Range = std::pair<size_t, size_t>;

// Where a literal occurs in text, left to right, not overlapping. An empty literal never matches
// (tokenizers treats it as matching nothing).
std::vector<Range> FindLiteral(std::string_view text, std::string_view literal) {
    std::vector<Range> out;
    if (literal.empty()) return out;
    for (size_t pos = text.find(literal); pos != std::string_view::npos;
         pos = text.find(literal, pos + literal.size())) {
        out.emplace_back(pos, pos + literal.size());
    }
    return out;
}

std::vector<Range> FindPattern(std::string_view text, const io::TextPattern& pattern, const Regex* regex) {
    return regex != nullptr ? regex->FindAll(text) : FindLiteral(text, pattern.text);
}

std::string ReplaceAll(std::string_view text, const std::vector<Range>& matches, std::string_view content) {
    std::string out;
    size_t done = 0;
    for (const auto& [begin, end] : matches) {
        out.append(text.substr(done, begin - done));
        out.append(content);
        done = end;
    }
    out.append(text.substr(done));
    return out;
}

// tokenizers' NormalizedString::split: the text as alternating gaps and matches (matches flagged,
// flags swapped by `invert`), then grouped by the behaviour; empty pieces dropped.
std::vector<Range> SplitRanges(size_t length, const std::vector<Range>& matches, io::SplitBehavior behavior,
                               bool invert) {
    struct Part {
        Range range;
        bool is_match;
    };
    std::vector<Part> parts;
    size_t done = 0;
    for (const Range& m : matches) {
        if (m.first > done) parts.push_back({{done, m.first}, invert});
        parts.push_back({m, !invert});
        done = m.second;
    }
    if (done < length) parts.push_back({{done, length}, invert});

    std::vector<Range> out;
    bool previous_match = false;
    switch (behavior) {
        case io::SplitBehavior::kRemoved:
            for (const Part& p : parts) {
                if (!p.is_match) out.push_back(p.range);
            }
            break;
        case io::SplitBehavior::kIsolated:
            for (const Part& p : parts) out.push_back(p.range);
            break;
        case io::SplitBehavior::kMergedWithPrevious:
            for (const Part& p : parts) {
                if (p.is_match && !previous_match && !out.empty()) {
                    out.back().second = p.range.second;
                } else {
                    out.push_back(p.range);
                }
                previous_match = p.is_match;
            }
            break;
        case io::SplitBehavior::kMergedWithNext:
            for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
                if (it->is_match && !previous_match && !out.empty()) {
                    out.back().first = it->range.first;
                } else {
                    out.push_back(it->range);
                }
                previous_match = it->is_match;
            }
            std::reverse(out.begin(), out.end());
            break;
        case io::SplitBehavior::kContiguous:
            for (size_t i = 0; i < parts.size(); ++i) {
                if (i > 0 && parts[i].is_match == previous_match) {
                    out.back().second = parts[i].range.second;
                } else {
                    out.push_back(parts[i].range);
                }
                previous_match = parts[i].is_match;
            }
            break;
    }
    std::erase_if(out, [](const Range& r) { return r.first == r.second; });
    return out;
}

std::string Strip(std::string_view text, bool left, bool right) {
    size_t begin = 0;
    size_t end = text.size();
    size_t last_kept_end = 0;  // end of the last non-whitespace character
    bool seen = false;
    for (size_t pos = 0; pos < text.size();) {
        const size_t length = Utf8Length(text, pos);
        const bool space = IsUnicodeWhitespace(Utf8Decode(text, pos, length));
        if (!space) {
            if (!seen) begin = pos;
            seen = true;
            last_kept_end = pos + length;
        }
        pos += length;
    }
    if (!seen) return (left || right) ? std::string() : std::string(text);
    if (!left) begin = 0;
    if (right) end = last_kept_end;
    return std::string(text.substr(begin, end - begin));
}

struct Word {
    std::string text;
    bool at_start;
};

}  // namespace

Result<Normalizer> Normalizer::Create(const std::vector<io::NormalizerStep>& steps, const std::string& origin) {
    Normalizer normalizer;
    for (const io::NormalizerStep& spec : steps) {
        Step step{spec, nullptr};
        if (spec.kind == io::NormalizerStep::Kind::kReplace && spec.pattern.regex) {
            TP_ASSIGN_OR_RETURN(step.regex, Regex::Compile(spec.pattern.text, origin + ": normalizer Replace"));
        }
        normalizer.steps_.push_back(std::move(step));
    }
    return normalizer;
}

std::string Normalizer::Apply(std::string_view text) const {
    std::string s(text);
    for (const Step& step : steps_) {
        switch (step.spec.kind) {
            case io::NormalizerStep::Kind::kPrepend:
                if (!s.empty()) s.insert(0, step.spec.content);
                break;
            case io::NormalizerStep::Kind::kReplace:
                s = ReplaceAll(s, FindPattern(s, step.spec.pattern, step.regex.get()), step.spec.content);
                break;
            case io::NormalizerStep::Kind::kNfc:
                break;  // documented: text is taken to be NFC already
            case io::NormalizerStep::Kind::kStrip:
                s = Strip(s, step.spec.strip_left, step.spec.strip_right);
                break;
        }
    }
    return s;
}

Result<PreTokenizer> PreTokenizer::Create(const std::vector<io::PreTokenizerStep>& steps, const std::string& origin) {
    PreTokenizer pre;
    for (const io::PreTokenizerStep& spec : steps) {
        Step step{spec, nullptr};
        using Kind = io::PreTokenizerStep::Kind;
        if (spec.kind == Kind::kSplit && spec.pattern.regex) {
            TP_ASSIGN_OR_RETURN(step.regex, Regex::Compile(spec.pattern.text, origin + ": pre_tokenizer Split"));
        } else if (spec.kind == Kind::kDigits) {
            TP_ASSIGN_OR_RETURN(step.regex, Regex::Compile(spec.individual_digits ? R"(\p{N})" : R"(\p{N}+)",
                                                           origin + ": pre_tokenizer Digits"));
        } else if (spec.kind == Kind::kByteLevel && spec.use_regex) {
            TP_ASSIGN_OR_RETURN(step.regex, Regex::Compile(io::kGpt2Pattern, origin + ": pre_tokenizer ByteLevel"));
        }
        pre.steps_.push_back(std::move(step));
    }
    return pre;
}

bool PreTokenizer::adds_prefix_space() const {
    return std::any_of(steps_.begin(), steps_.end(), [](const Step& s) {
        return (s.spec.kind == io::PreTokenizerStep::Kind::kByteLevel && s.spec.add_prefix_space) ||
               (s.spec.kind == io::PreTokenizerStep::Kind::kMetaspace &&
                s.spec.prepend_scheme != io::PrependScheme::kNever);
    });
}

std::vector<std::string> PreTokenizer::Apply(std::string_view text, bool at_start) const {
    std::vector<Word> words{{std::string(text), at_start}};
    for (const Step& step : steps_) {
        const io::PreTokenizerStep& spec = step.spec;
        std::vector<Word> next;
        for (Word& word : words) {
            // Cuts `word` at the matches, keeping at_start on the piece that begins it.
            auto cut = [&](const std::vector<Range>& matches, io::SplitBehavior behavior, bool invert) {
                for (const Range& r : SplitRanges(word.text.size(), matches, behavior, invert)) {
                    next.push_back({word.text.substr(r.first, r.second - r.first), word.at_start && r.first == 0});
                }
            };
            switch (spec.kind) {
                case io::PreTokenizerStep::Kind::kSplit:
                    cut(FindPattern(word.text, spec.pattern, step.regex.get()), spec.behavior, spec.invert);
                    break;
                case io::PreTokenizerStep::Kind::kDigits:
                    cut(step.regex->FindAll(word.text), io::SplitBehavior::kIsolated, false);
                    break;
                case io::PreTokenizerStep::Kind::kByteLevel: {
                    if (spec.add_prefix_space && !word.text.starts_with(' ')) word.text.insert(0, " ");
                    const size_t first = next.size();
                    if (step.regex) {
                        cut(step.regex->FindAll(word.text), io::SplitBehavior::kIsolated, false);
                    } else if (!word.text.empty()) {
                        next.push_back(std::move(word));
                    }
                    for (size_t i = first; i < next.size(); ++i) next[i].text = ToByteLevel(next[i].text);
                    break;
                }
                case io::PreTokenizerStep::Kind::kMetaspace: {
                    std::string s = ReplaceAll(word.text, FindLiteral(word.text, " "), spec.replacement);
                    const bool prepend = spec.prepend_scheme == io::PrependScheme::kAlways ||
                                         (spec.prepend_scheme == io::PrependScheme::kFirst && word.at_start);
                    if (prepend && !s.starts_with(spec.replacement)) s.insert(0, spec.replacement);
                    word.text = std::move(s);
                    if (spec.split) {
                        cut(FindLiteral(word.text, spec.replacement), io::SplitBehavior::kMergedWithNext, false);
                    } else if (!word.text.empty()) {
                        next.push_back(std::move(word));
                    }
                    break;
                }
            }
        }
        words = std::move(next);
    }
    std::vector<std::string> out;
    out.reserve(words.size());
    for (Word& w : words) {
        if (!w.text.empty()) out.push_back(std::move(w.text));
    }
    return out;
}

}  // namespace tenpak::tokenizer::internal
