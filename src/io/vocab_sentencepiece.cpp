// tokenizer.model files are SentencePiece ModelProto protobufs; Debian's libsentencepiece (the
// reference implementation) reads them, so TenPak does not parse protobuf itself.
#include <sentencepiece_processor.h>

#include "tenpak/io/vocab.h"

namespace tenpak::io {

Result<Vocab> VocabFromSentencePiece(std::string_view serialized_model, const std::string& origin) {
    sentencepiece::SentencePieceProcessor processor;
    const sentencepiece::util::Status status = processor.LoadFromSerializedProto(serialized_model);
    if (!status.ok()) {
        return Status::Corruption(origin + ": not a readable SentencePiece model: " + status.ToString());
    }
    Vocab vocab;
    vocab.model = "llama";
    const int n = processor.GetPieceSize();
    for (int id = 0; id < n; ++id) {
        vocab.tokens.push_back(processor.IdToPiece(id));
        vocab.scores.push_back(processor.GetScore(id));
        TokenType type = TokenType::kNormal;
        if (processor.IsUnknown(id)) {
            type = TokenType::kUnknown;
        } else if (processor.IsControl(id)) {
            type = TokenType::kControl;
        } else if (processor.IsByte(id)) {
            type = TokenType::kByte;
        } else if (processor.IsUnused(id)) {
            type = TokenType::kUnused;
        }
        vocab.types.push_back(type);
    }
    auto id_or_none = [n](int id) -> std::optional<int32_t> {
        if (id < 0 || id >= n) return std::nullopt;
        return id;
    };
    vocab.bos_id = id_or_none(processor.bos_id());
    vocab.eos_id = id_or_none(processor.eos_id());
    vocab.unk_id = id_or_none(processor.unk_id());
    vocab.pad_id = id_or_none(processor.pad_id());
    return vocab;
}

}  // namespace tenpak::io
