// Fuzz target for the GGUF parser: ParseGgufHeader on arbitrary bytes, then, for a header that
// parses, the things a caller does next: describe every metadata value and dequantize every tensor
// whose type allows it (bounded, so that a valid file with a huge tensor does not time out).
//   build-fuzz/fuzz/gguf_fuzz -max_total_time=60 fuzz/corpus/gguf
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tenpak/core/dequantize.h"
#include "tenpak/io/gguf.h"

namespace {

// Largest tensor dequantized per input, in elements.
constexpr uint64_t kMaxDequantElements = uint64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
    tenpak::Result<tenpak::io::GgufHeader> header = tenpak::io::ParseGgufHeader(file, "fuzz.gguf");
    if (!header.ok()) return 0;
    for (const auto& [key, value] : header->metadata) {
        if (value.Describe().empty()) __builtin_trap();  // every value describes as something
    }
    std::vector<float> out;
    for (size_t i = 0; i < header->tensors.size(); ++i) {
        const tenpak::io::TensorInfo& info = header->tensors[i];
        if (!tenpak::CanDequantize(info.dtype) || info.NumElements() > kMaxDequantElements) continue;
        // The parser promises that every tensor lies inside the file.
        const uint64_t begin = header->data_offset + header->tensor_offsets[i];
        if (begin > size || info.nbytes > size - begin) __builtin_trap();
        out.assign(info.NumElements(), 0.0f);
        const tenpak::Status status = tenpak::DequantizeToF32(info.dtype, file.subspan(begin, info.nbytes), out);
        if (!status.ok()) __builtin_trap();  // sizes from the header must always agree
    }
    return 0;
}
