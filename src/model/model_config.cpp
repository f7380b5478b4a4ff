#include "tenpak/model/model_config.h"

namespace tenpak::model {

Status ValidateConfig(const ModelConfig& config) {
    const std::pair<const char*, int64_t> sizes[] = {
        {"vocab_size", config.vocab_size},
        {"hidden_size", config.hidden_size},
        {"intermediate_size", config.intermediate_size},
        {"num_hidden_layers", config.num_layers},
        {"num_attention_heads", config.num_heads},
        {"num_key_value_heads", config.num_kv_heads},
        {"head_dim", config.head_dim},
        {"max_position_embeddings", config.max_position_embeddings},
    };
    for (const auto& [key, value] : sizes) {
        if (value <= 0)
            return Status::InvalidArgument(std::string(key) + " must be positive, is " + std::to_string(value));
    }
    if (config.num_heads % config.num_kv_heads != 0) {
        return Status::InvalidArgument("num_attention_heads " + std::to_string(config.num_heads) +
                                       " is not a multiple of num_key_value_heads " +
                                       std::to_string(config.num_kv_heads));
    }
    if (config.architecture == "llama" && config.head_dim % 2 != 0) {
        return Status::InvalidArgument("head_dim " + std::to_string(config.head_dim) +
                                       " must be even for rotary embeddings");
    }
    if (!(config.norm_eps > 0)) return Status::InvalidArgument("the norm epsilon must be positive");
    return Status::Ok();
}

}  // namespace tenpak::model
