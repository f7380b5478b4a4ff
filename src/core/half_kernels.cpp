// Placeholder so the skeleton links; replaced by the dispatching implementation.
#include "tenpak/core/half.h"

namespace tenpak {
namespace {
void F16ToF32Scalar(const uint16_t* src, float* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = F16ToF32Ref(src[i]);
}
void F32ToF16Scalar(const float* src, uint16_t* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = F32ToF16Ref(src[i]);
}
void BF16ToF32Scalar(const uint16_t* src, float* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = BF16ToF32Ref(src[i]);
}
void F32ToBF16Scalar(const float* src, uint16_t* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = F32ToBF16Ref(src[i]);
}
constexpr HalfKernels kRefKernels = {F16ToF32Scalar, F32ToF16Scalar, BF16ToF32Scalar, F32ToBF16Scalar};
}  // namespace
const HalfKernels& HalfKernelsFor(Isa) { return kRefKernels; }
const HalfKernels& SelectedHalfKernels() { return kRefKernels; }
}  // namespace tenpak
