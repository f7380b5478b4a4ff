// Tokenizers: text <-> token ids, for every vocabulary TenPak reads. docs/tokenizers.md says which
// one is used when, and what each was checked against.
//
//   kind              built from                                      algorithm
//   "spm-bpe"         io::Vocab with scores (GGUF "llama", llama2.c)   SentencePiece-style BPE: merge the adjacent
//                                                                      pair whose merged piece scores highest; byte
//                                                                      fallback to <0xNN>; dummy-prefix space
//   "sentencepiece"   tokenizer.model                                 libsentencepiece itself (the reference)
//   "hf-bpe"          tokenizer.json, model BPE without ByteLevel     merges by rank (Llama-2 style HF files), byte
//                                                                      fallback
//   "byte-level-bpe"  tokenizer.json with a ByteLevel pre-tokenizer,   GPT-2 / Llama-3: regex pre-tokenization
//                     or io::Vocab of model "gpt2"                     (PCRE2), bytes -> unicode, merges by rank
//
// The BPE kinds share one merge loop (src/tokenizer/bpe.cpp); they differ in what a merge's
// priority is (a piece's score, or a merge's rank) and in how text is prepared first.
//
// Thread safety: a Tokenizer is immutable once built; Encode/Decode may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/io/vocab.h"

namespace tenpak::model {
struct Model;
}

namespace tenpak::tokenizer {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Token ids of `text`; with `add_bos`, the BOS id first when the vocabulary has one.
    // SentencePiece-style tokenizers add the dummy-prefix space as SentencePiece does. Any bytes are
    // accepted: invalid UTF-8 is carried by byte tokens (<0xNN> or byte-level pieces), never dropped.
    // tokenizer.json kinds match the file's added tokens ("<|endoftext|>", "<s>") in the text, as
    // transformers does; "spm-bpe" and "sentencepiece" treat such text as plain text, as
    // SentencePiece and llama.cpp (without parse_special) do.
    virtual std::vector<int32_t> Encode(std::string_view text, bool add_bos) const = 0;
    // The bytes one token stands for: '▁' becomes ' ', <0x0A> becomes "\n", byte-level tokens are
    // mapped back to raw bytes; control tokens (BOS, EOS) give ""; the unknown token gives its piece
    // ("<unk>"). Pieces of a UTF-8 character may be split across tokens, so a streaming caller must
    // buffer incomplete sequences. Ids outside the vocabulary give "".
    virtual std::string TokenBytes(int32_t id) const = 0;
    virtual size_t vocab_size() const = 0;
    virtual std::optional<int32_t> bos_id() const = 0;
    virtual std::optional<int32_t> eos_id() const = 0;
    // Whether the model expects BOS in front of a text (Llama: yes; GPT-2: no), from the file
    // (GGUF tokenizer.ggml.add_bos_token, tokenizer.json's post_processor, tokenizer_config.json).
    virtual bool add_bos_by_default() const = 0;
    virtual std::string_view kind() const = 0;

    // The text of a sequence of ids: concatenated TokenBytes, minus the dummy-prefix space that
    // Encode added in front of the first piece, so that Decode(Encode(s)) == s wherever the
    // tokenizer keeps s's whitespace (docs/tokenizers.md lists where SentencePiece does not).
    std::string Decode(std::span<const int32_t> ids) const;

protected:
    // Whether Encode puts a space in front of the text (Decode then removes one).
    virtual bool adds_prefix_space() const { return false; }
};

// The tokenizer of a model: tokenizer.json when the model carries one (with tokenizer_config.json's
// special tokens), else tokenizer.model (libsentencepiece), else the vocabulary read from the model
// file (GGUF, llama2.c tokenizer). A tokenizer.json TenPak cannot run (kUnsupported) falls through
// to the next source. kNotFound names what was looked for.
Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const model::Model& model);

// "spm-bpe" for model "llama", "byte-level-bpe" for "gpt2" (pre-tokenizer regex by vocab.pre).
// Where the vocabulary does not say, SentencePiece's defaults apply: add_space_prefix and
// remove_extra_whitespaces both on (docs/tokenizers.md explains the choice). kUnsupported for
// other models; kCorruption for a vocabulary that cannot be run (no scores, bad merges).
Result<std::unique_ptr<Tokenizer>> TokenizerFromVocab(const io::Vocab& vocab);

// libsentencepiece on a tokenizer.model's bytes. `origin` names the file in errors.
Result<std::unique_ptr<Tokenizer>> SentencePieceTokenizer(std::string_view serialized_model, const std::string& origin);

// A tokenizer.json ("hf-bpe" or "byte-level-bpe"). `tokenizer_config_json`, when given, supplies
// the special tokens tokenizer.json does not name (EOS) and add_bos_token.
Result<std::unique_ptr<Tokenizer>> TokenizerFromJson(std::string_view tokenizer_json, const std::string& origin,
                                                     std::string_view tokenizer_config_json = {});

}  // namespace tenpak::tokenizer
