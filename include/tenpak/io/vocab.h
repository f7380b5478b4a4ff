// A tokenizer vocabulary as model files store it (GGUF `tokenizer.ggml.*`, llama2.c's
// tokenizer .bin). The tokenizer module builds encoders from it; writers copy it between formats.
//
// Token strings follow SentencePiece's convention for model "llama": a space is '▁' (U+2581),
// raw bytes are "<0x0A>" tokens; for "gpt2" (byte-level BPE) they are GPT-2's byte-to-unicode text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/io/gguf.h"

namespace tenpak::io {

// Values fixed by GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6,
};

struct Vocab {
    std::string model = "llama";  // "llama": SentencePiece-style BPE; "gpt2": byte-level BPE
    std::vector<std::string> tokens;
    std::vector<float> scores;        // one per token ("llama"); may be empty for "gpt2"
    std::vector<TokenType> types;     // one per token
    std::vector<std::string> merges;  // "gpt2" only: "a b" pairs in rank order
    std::optional<int32_t> bos_id;
    std::optional<int32_t> eos_id;
    std::optional<int32_t> unk_id;
    std::optional<int32_t> pad_id;
    // How text is prepared before the merges, where the file says (GGUF tokenizer.ggml.pre,
    // .add_space_prefix, .remove_extra_whitespaces, .add_bos_token; SentencePiece's normalizer
    // spec). Unset: the file does not say, and the tokenizer applies its documented default.
    std::string pre;                               // "gpt2": pre-tokenizer regex by llama.cpp's name
    std::optional<bool> add_space_prefix;          // "llama": SentencePiece's add_dummy_prefix
    std::optional<bool> remove_extra_whitespaces;  // "llama": SentencePiece's remove_extra_whitespaces
    std::optional<bool> add_bos;                   // whether encoders put BOS first by default

    size_t size() const { return tokens.size(); }
};

// Reads a llama2.c tokenizer (.bin: i32 max_token_length, then per token f32 score, i32 length,
// bytes) and converts it to SentencePiece conventions as llama.cpp's converter does: ' ' -> '▁',
// "\n<s>\n" / "\n</s>\n" -> "<s>" / "</s>" (BOS 1, EOS 2), "<unk>" is token 0.
Result<Vocab> ReadLlama2cTokenizer(const std::string& path);

// From GGUF metadata (tokenizer.ggml.*). kNotFound when the file carries no vocabulary.
Result<Vocab> VocabFromGguf(const GgufMetadata& metadata, const std::string& origin);
// Appends tokenizer.ggml.* keys in the order llama.cpp's converters write them.
void AppendVocabToGguf(const Vocab& vocab, GgufMetadata& metadata);

}  // namespace tenpak::io

namespace tenpak::io {
// From a SentencePiece model file's bytes (tokenizer.model), read with libsentencepiece: pieces,
// scores and types (normal, unknown, control, unused, byte; libsentencepiece 0.1.97 cannot tell
// user-defined pieces from normal ones), the special ids, and add_space_prefix /
// remove_extra_whitespaces as the model's normalizer applies them.
Result<Vocab> VocabFromSentencePiece(std::string_view serialized_model, const std::string& origin);
}  // namespace tenpak::io
