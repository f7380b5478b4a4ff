#include "quant/group_math.h"

namespace tenpak::quant {

TP_QUANT_MULTIVERSION
GroupStats FindGroupStats(const float* x, size_t n) {
    int32_t lo = INT32_MAX;
    int32_t hi = INT32_MIN;
    for (size_t i = 0; i < n; ++i) {
        const int32_t key = OrderedBits(std::bit_cast<int32_t>(x[i]));
        lo = key < lo ? key : lo;
        hi = key > hi ? key : hi;
    }
    return {std::bit_cast<float>(OrderedBits(lo)), std::bit_cast<float>(OrderedBits(hi))};
}

}  // namespace tenpak::quant
