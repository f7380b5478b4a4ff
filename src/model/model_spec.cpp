#include "tenpak/model/model_spec.h"

#include <charconv>

namespace tenpak::model {

std::string_view TensorRole::pattern(Naming naming) const {
    switch (naming) {
        case Naming::kHuggingFace:
            return hf;
        case Naming::kGguf:
            return gguf;
        case Naming::kMeta:
            return meta;
    }
    return {};
}

const ModelVariant* ModelSpec::FindVariant(std::string_view model_type) const {
    for (const ModelVariant& v : variants) {
        if (v.model_type == model_type) return &v;
    }
    return nullptr;
}

const ModelVariant* ModelSpec::FindGgufVariant(std::string_view gguf_arch) const {
    for (const ModelVariant& v : variants) {
        if (v.gguf_arch == gguf_arch) return &v;  // the first variant of an arch is its canonical one
    }
    return nullptr;
}

const ModelSpec* FindSpecByModelType(std::string_view model_type, const ModelVariant** variant) {
    for (const ModelSpec* spec : AllSpecs()) {
        if (const ModelVariant* v = spec->FindVariant(model_type)) {
            if (variant != nullptr) *variant = v;
            return spec;
        }
    }
    return nullptr;
}

const ModelSpec* FindSpecByGgufArch(std::string_view gguf_arch, const ModelVariant** variant) {
    for (const ModelSpec* spec : AllSpecs()) {
        if (const ModelVariant* v = spec->FindGgufVariant(gguf_arch)) {
            if (variant != nullptr) *variant = v;
            return spec;
        }
    }
    return nullptr;
}

std::string SupportedModelTypes() {
    std::string out;
    for (const ModelSpec* spec : AllSpecs()) {
        for (const ModelVariant& v : spec->variants) {
            if (!out.empty()) out += ", ";
            out += v.model_type;
        }
    }
    return out;
}

namespace {
std::optional<RoleMatch> MatchExact(const ModelSpec& spec, std::string_view name, Naming naming) {
    for (const TensorRole& role : spec.roles) {
        const std::string_view pattern = role.pattern(naming);
        if (pattern.empty()) continue;
        const size_t slot = pattern.find("{i}");
        if (slot == std::string_view::npos) {
            if (pattern == name) return RoleMatch{&role, -1};
            continue;
        }
        const std::string_view prefix = pattern.substr(0, slot);
        const std::string_view suffix = pattern.substr(slot + 3);
        if (name.size() <= prefix.size() + suffix.size()) continue;
        if (name.substr(0, prefix.size()) != prefix || name.substr(name.size() - suffix.size()) != suffix) continue;
        const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
        int layer = -1;
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
        if (ec != std::errc() || ptr != digits.data() + digits.size() || layer < 0) continue;
        if (digits.size() > 1 && digits[0] == '0') continue;  // "01" is not a layer index
        return RoleMatch{&role, layer};
    }
    return std::nullopt;
}
}  // namespace

std::optional<RoleMatch> MatchName(const ModelSpec& spec, std::string_view name, Naming naming) {
    std::optional<RoleMatch> match = MatchExact(spec, name, naming);
    if (!match && naming == Naming::kHuggingFace && !spec.hf_optional_prefix.empty()) {
        match = MatchExact(spec, std::string(spec.hf_optional_prefix) + std::string(name), naming);
    }
    return match;
}

std::string RoleName(const TensorRole& role, Naming naming, int layer) {
    std::string out(role.pattern(naming));
    const size_t slot = out.find("{i}");
    if (slot != std::string::npos) out.replace(slot, 3, std::to_string(layer));
    return out;
}

std::optional<std::vector<int64_t>> ExpectedShape(const TensorRole& role, const ModelConfig& config) {
    switch (role.presence) {
        case Presence::kAlways:
            break;
        case Presence::kWhenUntied:
            if (config.tie_word_embeddings) return std::nullopt;
            break;
        case Presence::kWhenQkvBias:
            if (!config.qkv_bias) return std::nullopt;
            break;
        case Presence::kBuffer:
            return std::nullopt;
    }
    std::vector<int64_t> shape;
    for (Dim dim : role.dims) {
        switch (dim) {
            case Dim::kVocab:
                shape.push_back(config.vocab_size);
                break;
            case Dim::kHidden:
                shape.push_back(config.hidden_size);
                break;
            case Dim::kIntermediate:
                shape.push_back(config.intermediate_size);
                break;
            case Dim::kQueryDim:
                shape.push_back(config.num_heads * config.head_dim);
                break;
            case Dim::kKeyValueDim:
                shape.push_back(config.num_kv_heads * config.head_dim);
                break;
            case Dim::kPositions:
                shape.push_back(config.max_position_embeddings);
                break;
            case Dim::kFusedQkv:
                shape.push_back(3 * config.hidden_size);
                break;
        }
    }
    return shape;
}

uint64_t ExpectedParameterCount(const ModelSpec& spec, const ModelConfig& config) {
    uint64_t total = 0;
    for (const TensorRole& role : spec.roles) {
        const std::optional<std::vector<int64_t>> shape = ExpectedShape(role, config);
        if (!shape) continue;
        uint64_t n = 1;
        for (int64_t d : *shape) n *= static_cast<uint64_t>(d);
        total += role.per_layer() ? n * static_cast<uint64_t>(config.num_layers) : n;
    }
    return total;
}

}  // namespace tenpak::model
