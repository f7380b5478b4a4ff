// Tokenizer::Decode, the factories, and choosing a model's tokenizer (LoadTokenizer).
#include "tenpak/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "tenpak/model/model.h"
#include "tokenizers_internal.h"

namespace tenpak::tokenizer {

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
    std::string text;
    for (int32_t id : ids) text += TokenBytes(id);
    if (adds_prefix_space() && text.starts_with(' ')) text.erase(0, 1);
    return text;
}

Result<std::unique_ptr<Tokenizer>> TokenizerFromVocab(const io::Vocab& vocab) {
    if (vocab.model == "llama") return internal::MakeSpmBpeTokenizer(vocab);
    if (vocab.model == "gpt2") {
        TP_ASSIGN_OR_RETURN(io::TokenizerJson spec, internal::ByteLevelSpecFromVocab(vocab));
        return internal::MakeJsonTokenizer(std::move(spec), "vocabulary");
    }
    return Status::Unsupported("tokenizer model '" + vocab.model + "' is not supported (TenPak runs llama, gpt2)");
}

Result<std::unique_ptr<Tokenizer>> TokenizerFromJson(std::string_view tokenizer_json, const std::string& origin,
                                                     std::string_view tokenizer_config_json) {
    TP_ASSIGN_OR_RETURN(io::TokenizerJson spec, io::ParseTokenizerJson(tokenizer_json, origin));
    if (!tokenizer_config_json.empty()) {
        TP_RETURN_IF_ERROR(
            io::ApplyTokenizerConfig(tokenizer_config_json, origin + " (tokenizer_config.json)", spec.vocab));
    }
    return internal::MakeJsonTokenizer(std::move(spec), origin);
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const model::Model& model) {
    auto aux = [&](std::string_view name) -> const io::AuxFile* {
        const auto it = std::find_if(model.aux_files.begin(), model.aux_files.end(),
                                     [&](const io::AuxFile& f) { return f.name == name; });
        return it == model.aux_files.end() ? nullptr : &*it;
    };
    // Aux files of an HF folder live in it; those of other inputs were found beside them.
    auto where = [&](const std::string& name) {
        return model.format == model::SourceFormat::kHfFolder ? (std::filesystem::path(model.origin) / name).string()
                                                              : name + " (with " + model.origin + ")";
    };
    Status unsupported;
    if (const io::AuxFile* json = aux("tokenizer.json")) {
        const std::string origin = where(json->name);
        Result<io::TokenizerJson> spec = io::ParseTokenizerJson(json->content, origin);
        if (spec.ok()) {
            io::Vocab& vocab = spec->vocab;
            if (const io::AuxFile* config = aux("tokenizer_config.json")) {
                TP_RETURN_IF_ERROR(io::ApplyTokenizerConfig(config->content, where(config->name), vocab));
            }
            // config.json's ids, for special tokens tokenizer_config.json does not name.
            auto in_range = [&](const std::optional<int64_t>& id) -> std::optional<int32_t> {
                if (!id || *id < 0 || static_cast<size_t>(*id) >= vocab.size()) return std::nullopt;
                return static_cast<int32_t>(*id);
            };
            if (!vocab.bos_id) vocab.bos_id = in_range(model.config.bos_token_id);
            if (!vocab.eos_id) vocab.eos_id = in_range(model.config.eos_token_id);
            Result<std::unique_ptr<Tokenizer>> tokenizer = internal::MakeJsonTokenizer(std::move(spec).value(), origin);
            if (tokenizer.ok() || tokenizer.status().code() != StatusCode::kUnsupported) return tokenizer;
            unsupported = tokenizer.status();
        } else if (spec.status().code() == StatusCode::kUnsupported) {
            unsupported = spec.status();
        } else {
            return spec.status();
        }
    }
    if (const io::AuxFile* spm = aux("tokenizer.model")) return SentencePieceTokenizer(spm->content, where(spm->name));
    if (model.vocab) {
        Result<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromVocab(*model.vocab);
        if (!tokenizer.ok()) return tokenizer.status().WithContext(model.origin + ": vocabulary");
        return tokenizer;
    }
    if (!unsupported.ok()) return unsupported;
    return Status::NotFound(model.origin +
                            ": no tokenizer: looked for tokenizer.json, tokenizer.model, or a vocabulary in the "
                            "model file");
}

namespace internal {

int ByteOfBytePiece(std::string_view piece) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>') return -1;
    const int high = hex(piece[3]);
    const int low = hex(piece[4]);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
}

std::vector<std::string> SentencePieceTokenBytes(const io::Vocab& vocab) {
    constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";
    std::vector<std::string> out(vocab.size());
    for (size_t id = 0; id < vocab.size(); ++id) {
        const io::TokenType type = id < vocab.types.size() ? vocab.types[id] : io::TokenType::kNormal;
        const std::string& piece = vocab.tokens[id];
        if (type == io::TokenType::kControl) continue;
        if (type == io::TokenType::kUnknown) {
            out[id] = piece;
            continue;
        }
        if (type == io::TokenType::kByte) {
            if (const int b = ByteOfBytePiece(piece); b >= 0) {
                out[id] = std::string(1, static_cast<char>(b));
                continue;
            }
        }
        std::string& bytes = out[id];
        for (size_t pos = 0; pos < piece.size();) {
            if (std::string_view(piece).substr(pos).starts_with(kSpaceMarker)) {
                bytes += ' ';
                pos += kSpaceMarker.size();
            } else {
                bytes += piece[pos++];
            }
        }
    }
    return out;
}

}  // namespace internal
}  // namespace tenpak::tokenizer
