// Fuzzes the .tnpk reader: frame, manifest, signature block, and chunk decoding. Any bytes must give
// a clean Status; an artifact that opens must have every chunk inside the input, and reading its
// tensors and files must fail cleanly or give exactly the sizes the manifest promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tenpak/artifact/artifact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tenpak;
    const auto* first = reinterpret_cast<const std::byte*>(data);
    auto bytes = std::make_shared<const artifact::MemoryByteSource>(std::vector<std::byte>(first, first + size), "fuzz");
    Result<std::shared_ptr<const artifact::Artifact>> opened = artifact::Artifact::Open(bytes);
    if (!opened.ok()) return 0;
    const artifact::Artifact& a = **opened;
    for (const artifact::ChunkEntry& chunk : a.manifest().chunks) {
        if (chunk.offset + chunk.stored_size > a.footer().manifest_offset) std::abort();  // validation let it through
    }
    for (const artifact::TensorEntry& tensor : a.manifest().tensors) {
        Result<io::TensorData> read = a.ReadTensor(tensor);
        if (read.ok() && read->size() != tensor.info.nbytes) std::abort();
    }
    for (const artifact::FileEntry& file : a.manifest().files) {
        Result<std::string> read = a.ReadFile(file.name);
        if (read.ok() && read->size() != file.size) std::abort();
    }
    (void)a.CheckTrust({});
    return 0;
}
