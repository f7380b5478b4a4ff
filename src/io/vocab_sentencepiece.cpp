// tokenizer.model files are SentencePiece ModelProto protobufs; Debian's libsentencepiece (the
// reference implementation) reads them, so TenPak does not parse protobuf itself.
#include <sentencepiece_processor.h>

#include <charconv>
#include <string>

#include "tenpak/io/vocab.h"

namespace tenpak::io {
namespace {

// The text as the model's normalizer leaves it (spaces as U+2581), asked of libsentencepiece
// itself: 0.1.97 has no public accessor for the normalizer spec, but the pieces of an encoding
// spell out the normalized text (byte-fallback pieces stand for their byte).
std::string NormalizedText(const sentencepiece::SentencePieceProcessor& processor, std::string_view text) {
    std::string out;
    const sentencepiece::ImmutableSentencePieceText encoded = processor.EncodeAsImmutableProto(text);
    for (size_t i = 0; i < encoded.pieces_size(); ++i) {
        const auto piece = encoded.pieces(static_cast<int>(i));
        const std::string& p = piece.piece();
        unsigned byte = 0;
        if (processor.IsByte(static_cast<int>(piece.id())) && p.size() == 6 &&
            std::from_chars(p.data() + 3, p.data() + 5, byte, 16).ptr == p.data() + 5) {
            out += static_cast<char>(byte);
        } else {
            out += p;
        }
    }
    return out;
}

}  // namespace

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
    // "x" becomes "▁x" with add_dummy_prefix; "x  x" keeps both spaces unless
    // remove_extra_whitespaces collapses them.
    constexpr std::string_view kMarker = "\xE2\x96\x81";
    vocab.add_space_prefix = NormalizedText(processor, "x").starts_with(kMarker);
    vocab.remove_extra_whitespaces =
        NormalizedText(processor, "x  x").find(std::string(kMarker) + std::string(kMarker)) == std::string::npos;
    return vocab;
}

}  // namespace tenpak::io
