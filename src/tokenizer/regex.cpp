#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "regex_internal.h"
#include "utf8_internal.h"

namespace tenpak::tokenizer::internal {
namespace {

// Backtracking budget per match attempt: real tokenizer patterns need a few hundred steps per
// word; this only stops patterns that backtrack exponentially.
constexpr uint32_t kMatchLimit = 10'000'000;

struct MatchDataDeleter {
    void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
struct MatchContextDeleter {
    void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};

}  // namespace

Result<std::unique_ptr<Regex>> Regex::Compile(std::string_view pattern, const std::string& what) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof(message));
        return Status::Unsupported(what + ": regex '" + std::string(pattern) + "' does not compile at offset " +
                                   std::to_string(offset) + ": " + reinterpret_cast<const char*>(message));
    }
    return std::unique_ptr<Regex>(new Regex(code));
}

Regex::~Regex() {
    pcre2_code_free(code_);
}

std::vector<std::pair<size_t, size_t>> Regex::FindAll(std::string_view text) const {
    std::vector<std::pair<size_t, size_t>> matches;
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(pcre2_match_data_create_from_pattern(code_, nullptr));
    std::unique_ptr<pcre2_match_context, MatchContextDeleter> context(pcre2_match_context_create(nullptr));
    if (!data || !context) return matches;
    pcre2_set_match_limit(context.get(), kMatchLimit);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t start = 0;
    while (start <= text.size()) {
        const int rc = pcre2_match(code_, subject, text.size(), start, 0, data.get(), context.get());
        if (rc < 0) break;  // no more matches, or PCRE2 gave up
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
        const size_t begin = ovector[0];
        const size_t end = ovector[1];
        if (begin < start || end < begin) break;  // \K tricks; tokenizer patterns have none
        matches.emplace_back(begin, end);
        if (end > begin) {
            start = end;
        } else if (end < text.size()) {
            start = end + Utf8Length(text, end);
        } else {
            break;
        }
    }
    return matches;
}

}  // namespace tenpak::tokenizer::internal
