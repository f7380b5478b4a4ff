#include "delta_format.h"

namespace tenpak::delta {

std::string_view ModeName(Mode mode) {
    switch (mode) {
        case Mode::kReference:
            return "ref";
        case Mode::kDifference:
            return "diff";
        case Mode::kWhole:
            return "whole";
        case Mode::kApprox:
            return "approx";
    }
    return "whole";
}

nlohmann::json TensorDeltaToJson(const TensorDelta& tensor, HashAlgorithm algorithm) {
    (void)algorithm;  // the artifact's hash algorithm, named once in its manifest
    nlohmann::json json = {{"mode", std::string(ModeName(tensor.mode))},
                           {"dtype", std::string(DTypeName(tensor.info.dtype))},
                           {"shape", tensor.info.shape},
                           {"nbytes", tensor.info.nbytes},
                           {"hash", ToHex(tensor.hash)}};
    if (tensor.mode != Mode::kWhole) json["base_hash"] = ToHex(tensor.base_hash);
    if (tensor.mode == Mode::kDifference) {
        json["word"] = tensor.word;
        json["difference"] = std::string(DifferenceName(tensor.difference));
    }
    if (tensor.mode == Mode::kApprox) {
        json["encoder"] = tensor.encoder;
        json["params"] = tensor.params;
        json["relative_error"] = tensor.relative_error;
    }
    return json;
}

Result<TensorDelta> TensorDeltaFromJson(const std::string& name, const nlohmann::json& json, const std::string& where) {
    const auto bad = [&](const std::string& what) {
        return Status::Corruption(where + ": delta entry of tensor '" + name + "': " + what);
    };
    if (!json.is_object()) return bad("not an object");
    TensorDelta tensor;
    tensor.info.name = name;
    const auto string_field = [&](const char* key) -> std::optional<std::string> {
        if (!json.contains(key) || !json[key].is_string()) return std::nullopt;
        return json[key].get<std::string>();
    };
    const std::optional<std::string> mode = string_field("mode");
    if (mode == "ref") {
        tensor.mode = Mode::kReference;
    } else if (mode == "diff") {
        tensor.mode = Mode::kDifference;
    } else if (mode == "whole") {
        tensor.mode = Mode::kWhole;
    } else if (mode == "approx") {
        tensor.mode = Mode::kApprox;
    } else {
        return bad("'mode' is not ref, diff, whole or approx");
    }
    const std::optional<std::string> dtype = string_field("dtype");
    const std::optional<DType> parsed = dtype ? DTypeFromName(*dtype) : std::nullopt;
    if (!parsed) return bad("unknown 'dtype'");
    tensor.info.dtype = *parsed;
    if (!json.contains("shape") || !json["shape"].is_array()) return bad("'shape' is missing");
    for (const nlohmann::json& dim : json["shape"]) {
        if (!dim.is_number_unsigned()) return bad("'shape' is not a list of sizes");
        tensor.info.shape.push_back(dim.get<int64_t>());
    }
    Result<uint64_t> nbytes = TensorByteSize(tensor.info.dtype, tensor.info.shape);
    if (!nbytes.ok() || !json.contains("nbytes") || json["nbytes"] != *nbytes) return bad("'nbytes' does not match");
    tensor.info.nbytes = *nbytes;
    const auto digest_field = [&](const char* key, Digest& out) -> Status {
        const std::optional<std::string> hex = string_field(key);
        const std::optional<Digest> digest = hex ? DigestFromHex(*hex) : std::nullopt;
        if (!digest) return bad(std::string("'") + key + "' is not 64 hex digits");
        out = *digest;
        return Status::Ok();
    };
    TP_RETURN_IF_ERROR(digest_field("hash", tensor.hash));
    if (tensor.mode != Mode::kWhole) TP_RETURN_IF_ERROR(digest_field("base_hash", tensor.base_hash));
    if (tensor.mode == Mode::kDifference) {
        if (!json.contains("word") || !json["word"].is_number_unsigned()) return bad("'word' is missing");
        tensor.word = json["word"].get<size_t>();
        if (tensor.word != 1 && tensor.word != 2 && tensor.word != 4 && tensor.word != 8) return bad("bad 'word'");
        if (tensor.info.nbytes % tensor.word != 0) return bad("'nbytes' is not a multiple of 'word'");
        const std::optional<std::string> difference = string_field("difference");
        if (difference == "xor") {
            tensor.difference = Difference::kXor;
        } else if (difference == "sub") {
            tensor.difference = Difference::kSubtract;
        } else {
            return bad("'difference' is not xor or sub");
        }
    }
    if (tensor.mode == Mode::kApprox) {
        const std::optional<std::string> encoder = string_field("encoder");
        if (!encoder) return bad("'encoder' is missing");
        tensor.encoder = *encoder;
        if (!json.contains("params") || !json["params"].is_object()) return bad("'params' is missing");
        tensor.params = json["params"];
        if (json.contains("relative_error") && json["relative_error"].is_number()) {
            tensor.relative_error = json["relative_error"].get<double>();
        }
    }
    return tensor;
}

}  // namespace tenpak::delta
