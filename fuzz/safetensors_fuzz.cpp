// Fuzzes the safetensors header validator: any bytes must give a clean Status, and a header that
// passes must describe tensors that lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tenpak/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    tenpak::Result<tenpak::io::SafetensorsHeader> header = tenpak::io::ParseSafetensorsHeader(bytes, "fuzz");
    if (!header.ok()) return 0;
    for (size_t i = 0; i < header->tensors.size(); ++i) {
        const uint64_t end = header->offsets[i] + header->tensors[i].nbytes;
        if (header->offsets[i] < header->data_start || end > size) std::abort();  // validation let a bad range through
    }
    return 0;
}
