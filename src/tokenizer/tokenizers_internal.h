// The concrete tokenizers behind tenpak/tokenizer/tokenizer.h, and what they share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/io/tokenizer_json.h"
#include "tenpak/io/vocab.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::tokenizer::internal {

// "spm-bpe" from a vocabulary of model "llama" (spm_bpe.cpp).
Result<std::unique_ptr<Tokenizer>> MakeSpmBpeTokenizer(const io::Vocab& vocab);

// "hf-bpe" / "byte-level-bpe" from a parsed tokenizer.json (json_tokenizer.cpp). `spec.vocab`'s
// special ids are final (tokenizer_config.json already applied).
Result<std::unique_ptr<Tokenizer>> MakeJsonTokenizer(io::TokenizerJson spec, const std::string& origin);

// The tokenizer.json a byte-level vocabulary (model "gpt2", from GGUF) stands for: its merges, the
// pre-tokenizer regex its `pre` names, control and user-defined tokens as added tokens.
Result<io::TokenizerJson> ByteLevelSpecFromVocab(const io::Vocab& vocab);

// TokenBytes of every token of a SentencePiece-style vocabulary: control -> "", byte pieces
// <0xNN> -> the byte, unknown -> its piece, others with '▁' -> ' '.
std::vector<std::string> SentencePieceTokenBytes(const io::Vocab& vocab);

// The byte of a "<0xNN>" piece (upper-case hex, as SentencePiece writes them), or -1.
int ByteOfBytePiece(std::string_view piece);

}  // namespace tenpak::tokenizer::internal
