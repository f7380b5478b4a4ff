// What the delta writer and the estimator share: the base's tensors found in its mapped files, and the
// exact difference's two choices (the word it is taken in, XOR or subtraction).
#pragma once

#include <map>
#include <span>
#include <string>

#include "tenpak/artifact/packer.h"
#include "tenpak/delta/byte_planes.h"

namespace tenpak::delta {

struct BaseTensor {
    io::TensorInfo info;
    std::span<const std::byte> bytes;
};

// Where every tensor of the base lies in its mapped files.
std::map<std::string, BaseTensor, std::less<>> IndexBase(const artifact::PackInput& base);

// Which difference compresses better, judged on the first MiB of both (zstd level 1).
Difference ChooseDifference(std::span<const std::byte> base, std::span<const std::byte> fine, size_t word);

// The word a dtype's differences are taken in: its element size for plain types, bytes for blocks.
size_t WordSize(DType dtype);

}  // namespace tenpak::delta
