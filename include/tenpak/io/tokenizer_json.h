// tokenizer.json, the file Hugging Face `tokenizers` (and transformers' fast tokenizers) load:
// reading the parts TenPak's encoders run, and writing one from a Vocab as transformers'
// converters would. docs/tokenizers.md says which parts are supported and what was checked.
//
// A tokenizer.json is one JSON object:
//   added_tokens    [{id, content, special, normalized, lstrip, rstrip, single_word}]: matched in the
//                   text before anything else, each becomes its id
//   normalizer      rewrites each stretch of text between added tokens (Prepend, Replace, ...)
//   pre_tokenizer   cuts the normalized text into words (Split by regex, ByteLevel, Metaspace, ...)
//   model           BPE: vocab {piece: id}, merges in rank order, unk_token, byte_fallback, ...
//   post_processor  TemplateProcessing puts BOS (and EOS) around the ids
//   decoder         how pieces turn back into text (ByteLevel, or Replace + ByteFallback + Strip)
// Only BPE models are supported; WordPiece and Unigram files give kUnsupported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/io/vocab.h"

namespace tenpak::io {

// Pre-tokenizer regexes by the names llama.cpp stores in GGUF's tokenizer.ggml.pre, spelled as
// the tokenizer.json files of those models spell them.
// GPT-2's, built into tokenizers' ByteLevel pre-tokenizer (use_regex: true).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3's Split regex ("llama-bpe"): case-insensitive contractions, digits in groups of three.
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2's ("qwen2"): Llama 3's with one digit per word.
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The regex of a pre-tokenizer name ("" and "gpt-2": GPT-2's; "llama-bpe"; "qwen2"); nullopt for
// names TenPak does not know.
std::optional<std::string_view> PreTokenizerPattern(std::string_view pre);
// The name of one of the patterns above; "" for any other regex.
std::string_view PreTokenizerName(std::string_view pattern);

// tokenizers' Pattern: {"String": "..."} (literal) or {"Regex": "..."} (Oniguruma syntax; TenPak
// runs it with PCRE2, which agrees on the constructs tokenizer files use).
struct TextPattern {
    std::string text;
    bool regex = false;
};

struct NormalizerStep {
    enum class Kind : uint8_t {
        kPrepend,  // prepend `content` to non-empty text
        kReplace,  // replace every match of `pattern` by `content`
        kNfc,      // Unicode NFC: run as the identity (text is assumed to be NFC already)
        kStrip,    // strip whitespace on the left and/or right
    };
    Kind kind = Kind::kReplace;
    TextPattern pattern;
    std::string content;
    bool strip_left = false;
    bool strip_right = false;
};

// How a Split keeps what its pattern matched (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior : uint8_t { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

enum class PrependScheme : uint8_t { kAlways, kFirst, kNever };

struct PreTokenizerStep {
    enum class Kind : uint8_t {
        kSplit,      // cut at `pattern` matches
        kByteLevel,  // optional GPT-2 regex split, then bytes -> GPT-2's printable characters
        kMetaspace,  // ' ' -> `replacement`, prepend it per `prepend_scheme`, optionally split before it
        kDigits,     // digits apart from the rest (each alone with `individual_digits`)
    };
    Kind kind = Kind::kSplit;
    TextPattern pattern;
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // kByteLevel
    bool use_regex = true;          // kByteLevel
    std::string replacement;        // kMetaspace
    PrependScheme prepend_scheme = PrependScheme::kAlways;
    bool split = true;  // kMetaspace
    bool individual_digits = false;
};

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool special = false;      // a control token: Decode drops it
    bool normalized = false;   // matched in the normalized text rather than the raw text
    bool lstrip = false;       // swallows whitespace on its left
    bool rstrip = false;       // swallows whitespace on its right
    bool single_word = false;  // only matches as a whole word
};

struct TokenizerJson {
    // Tokens by id (the model's vocab and the added tokens; ids nobody uses become "[PAD<id>]",
    // kUnused, as llama.cpp's converter names them), types (added special -> kControl, added
    // other -> kUserDefined, unk_token -> kUnknown, "<0xNN>" with byte_fallback -> kByte),
    // model "gpt2" for byte-level files (with merges as "a b" strings and `pre`), else "llama"
    // (with scores derived from the merge ranks, see VocabFromTokenizerJson). bos_id / add_bos
    // come from the post_processor's template.
    Vocab vocab;
    std::vector<std::pair<std::string, std::string>> merges;  // rank order
    std::vector<AddedToken> added_tokens;
    std::vector<NormalizerStep> normalizer;       // a Sequence, flattened
    std::vector<PreTokenizerStep> pre_tokenizer;  // a Sequence, flattened
    bool byte_fallback = false;
    bool fuse_unk = false;
    bool ignore_merges = false;
    bool byte_level = false;  // pieces are GPT-2 byte-to-unicode text (ByteLevel pre-tokenizer or decoder)
};

// Parses tokenizer.json. Errors name `origin` and the JSON path of what is wrong; models, normalizers
// and pre-tokenizers TenPak cannot run give kUnsupported.
Result<TokenizerJson> ParseTokenizerJson(std::string_view json, const std::string& origin);

// The Vocab of a tokenizer.json (ParseTokenizerJson's `vocab`), for writers (GGUF). For "llama"
// files, which store ranks instead of scores, a piece's score is minus the rank of the first merge
// that makes it (pieces no merge makes get one less than the lowest), so that merging by score
// picks what merging by rank picks.
Result<Vocab> VocabFromTokenizerJson(std::string_view json, const std::string& origin);

// Sets bos/eos/unk/pad ids and add_bos from tokenizer_config.json ("bos_token": "<s>" or
// {"content": "<s>"}, "add_bos_token": true). Tokens not in the vocabulary are ignored.
Status ApplyTokenizerConfig(std::string_view config_json, const std::string& origin, Vocab& vocab);

// tokenizer.json for a vocabulary.
// "llama" (SentencePiece-style): what transformers' LlamaConverter writes for a tokenizer.model:
//   a BPE model with byte_fallback and fuse_unk, merges derived from the pieces and scores as its
//   SentencePieceExtractor derives them, normalizer Prepend("▁") + Replace(" ", "▁"), no
//   pre-tokenizer, decoder Replace("▁", " ") + ByteFallback + Fuse + Strip(" ", 1, 0), added tokens
//   for the control and unknown pieces, BOS by TemplateProcessing. When the vocabulary removes
//   extra whitespace (remove_extra_whitespaces, unset counting as SentencePiece's default: on), the
//   normalizer also drops leading spaces, collapses runs of spaces and drops trailing ones, as
//   SentencePiece does; transformers' converter leaves that out, so its fast tokenizer disagrees
//   with SentencePiece on such text.
// "gpt2": a byte-level BPE file as transformers' GPT-2 / Llama-3 / Qwen2 converters write it,
//   chosen by `pre`.
// kUnsupported for other models or unknown pre-tokenizer names.
Result<std::string> WriteTokenizerJson(const Vocab& vocab);

}  // namespace tenpak::io
