#include "tensor_pairing.h"

#include <zstd.h>

#include <algorithm>
#include <vector>

namespace tenpak::delta {

std::map<std::string, BaseTensor, std::less<>> IndexBase(const artifact::PackInput& base) {
    std::map<std::string, BaseTensor, std::less<>> index;
    std::map<std::string_view, const io::TensorInfo*> infos;
    for (const io::TensorInfo& info : base.tensors) infos.emplace(info.name, &info);
    for (const artifact::InputFile& file : base.files) {
        for (const artifact::InputPiece& piece : file.pieces) {
            if (piece.tensor.empty()) continue;
            index[piece.tensor] = {*infos.at(piece.tensor), file.file->bytes().subspan(piece.offset, piece.size)};
        }
    }
    return index;
}

Difference ChooseDifference(std::span<const std::byte> base, std::span<const std::byte> fine, size_t word) {
    const size_t sample = std::min<size_t>(fine.size(), (1u << 20) / word * word);
    std::vector<std::byte> diff(sample), planes(sample), frame(ZSTD_compressBound(sample));
    size_t best_size = SIZE_MAX;
    Difference best = Difference::kXor;
    for (Difference kind : {Difference::kXor, Difference::kSubtract}) {
        Diff(base.first(sample), fine.first(sample), word, kind, diff);
        SplitPlanes(diff, word, planes);
        const size_t n = ZSTD_compress(frame.data(), frame.size(), planes.data(), planes.size(), 1);
        if (!ZSTD_isError(n) && n < best_size) {
            best_size = n;
            best = kind;
        }
    }
    return best;
}

size_t WordSize(DType dtype) {
    const DTypeTraits& traits = Traits(dtype);
    if (traits.block_elems != 1) return 1;
    return traits.block_bytes == 8 || traits.block_bytes == 4 || traits.block_bytes == 2 ? traits.block_bytes : 1;
}

}  // namespace tenpak::delta
