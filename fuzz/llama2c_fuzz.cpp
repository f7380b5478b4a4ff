// Fuzzes the llama2.c header parser: any bytes must give a clean Status, and an accepted header
// must describe exactly the input's size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tenpak/io/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    tenpak::Result<tenpak::io::Llama2cHeader> header = tenpak::io::ParseLlama2cHeader(bytes, "fuzz");
    if (!header.ok()) return 0;
    if (header->dim % header->n_heads != 0 || header->weights_offset > size) std::abort();
    return 0;
}
