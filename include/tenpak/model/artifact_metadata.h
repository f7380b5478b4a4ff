// What the model layer adds to a .tnpk manifest: each tensor's quantization metadata, read from
// the packed folder's quantization config (or, for GGUF, from the block dtype).
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "tenpak/io/tensor_source.h"

namespace tenpak::model {

// A function giving a tensor's `quantization` manifest entry (null for a plain tensor), for the
// input at `source_path`. A folder whose quantization config cannot be read gets no entries (the
// packer carries its files unchanged whatever they hold); `note` then says why.
std::function<nlohmann::json(const io::TensorInfo&)> QuantizationDescriber(const std::string& source_path,
                                                                           std::string* note);

}  // namespace tenpak::model
