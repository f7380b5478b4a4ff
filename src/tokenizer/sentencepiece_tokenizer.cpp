// "sentencepiece": Debian's libsentencepiece running a tokenizer.model, the reference the other
// SentencePiece-style encoders are checked against (tests/tokenizer/agreement_test.cpp).
#include <sentencepiece_processor.h>

#include "tokenizers_internal.h"

namespace tenpak::tokenizer {
namespace {

class SentencePieceWrapper final : public Tokenizer {
public:
    SentencePieceWrapper(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor, const io::Vocab& vocab)
        : processor_(std::move(processor)),
          bos_id_(vocab.bos_id),
          eos_id_(vocab.eos_id),
          add_bos_(vocab.add_bos.value_or(true)),
          add_space_prefix_(vocab.add_space_prefix.value_or(true)),
          token_bytes_(internal::SentencePieceTokenBytes(vocab)) {}

    std::vector<int32_t> Encode(std::string_view text, bool add_bos) const override {
        std::vector<int> pieces;
        // Encode fails only when no model is loaded, which the factory rules out.
        processor_->Encode(text, &pieces).IgnoreError();
        std::vector<int32_t> ids;
        ids.reserve(pieces.size() + 1);
        if (add_bos && bos_id_) ids.push_back(*bos_id_);
        ids.insert(ids.end(), pieces.begin(), pieces.end());
        return ids;
    }

    std::string TokenBytes(int32_t id) const override {
        return id >= 0 && static_cast<size_t>(id) < token_bytes_.size() ? token_bytes_[static_cast<size_t>(id)] : "";
    }
    size_t vocab_size() const override { return token_bytes_.size(); }
    std::optional<int32_t> bos_id() const override { return bos_id_; }
    std::optional<int32_t> eos_id() const override { return eos_id_; }
    bool add_bos_by_default() const override { return add_bos_; }
    std::string_view kind() const override { return "sentencepiece"; }

protected:
    bool adds_prefix_space() const override { return add_space_prefix_; }

private:
    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
    std::optional<int32_t> bos_id_;
    std::optional<int32_t> eos_id_;
    bool add_bos_;
    bool add_space_prefix_;
    std::vector<std::string> token_bytes_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> SentencePieceTokenizer(std::string_view serialized_model,
                                                          const std::string& origin) {
    auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const sentencepiece::util::Status status = processor->LoadFromSerializedProto(serialized_model);
    if (!status.ok()) {
        return Status::Corruption(origin + ": not a readable SentencePiece model: " + status.ToString());
    }
    TP_ASSIGN_OR_RETURN(const io::Vocab vocab, io::VocabFromSentencePiece(serialized_model, origin));
    return std::unique_ptr<Tokenizer>(new SentencePieceWrapper(std::move(processor), vocab));
}

}  // namespace tenpak::tokenizer
