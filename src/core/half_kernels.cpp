// The scalar F16/BF16 <-> F32 kernels and the dispatch to the per-ISA tables.
//
// Every table computes exactly what the *Ref functions of half.h compute, bit for bit; the tests
// (tests/core/half_test.cpp) check that on every 16-bit pattern. Which table runs is decided once,
// by SelectedIsa() (the best the CPU has, or TENPAK_KERNELS).
#include "tenpak/core/half.h"

#include <cstring>

#include "core/half_kernels_internal.h"
#include "tenpak/core/check.h"

namespace tenpak {
namespace {

// Element access through memcpy: callers pass pointers into byte buffers (file contents, tensor
// data at any offset) that need not be aligned to the element, which a plain dereference would
// require. The compiler turns these into ordinary moves.
template <typename T>
T LoadElement(const T* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}
template <typename T>
void StoreElement(T* p, T v) {
    std::memcpy(p, &v, sizeof(T));
}

}  // namespace

void F16ToF32Scalar(const uint16_t* src, float* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) StoreElement(dst + i, F16ToF32Ref(LoadElement(src + i)));
}
void F32ToF16Scalar(const float* src, uint16_t* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) StoreElement(dst + i, F32ToF16Ref(LoadElement(src + i)));
}
void BF16ToF32Scalar(const uint16_t* src, float* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) StoreElement(dst + i, BF16ToF32Ref(LoadElement(src + i)));
}
void F32ToBF16Scalar(const float* src, uint16_t* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) StoreElement(dst + i, F32ToBF16Ref(LoadElement(src + i)));
}

const HalfKernels kHalfKernelsRef = {F16ToF32Scalar, F32ToF16Scalar, BF16ToF32Scalar, F32ToBF16Scalar};

const HalfKernels& HalfKernelsFor(Isa isa) {
    // Calling a table the CPU cannot run would die with SIGILL somewhere far from here.
    TP_CHECK(IsaSupported(isa));
    switch (isa) {
        case Isa::kRef:
            return kHalfKernelsRef;
        case Isa::kAvx2:
            return kHalfKernelsAvx2;
        case Isa::kAvx512:
            return kHalfKernelsAvx512;
    }
    TP_CHECK(false && "unknown Isa");
    return kHalfKernelsRef;
}

const HalfKernels& SelectedHalfKernels() {
    static const HalfKernels& kernels = HalfKernelsFor(SelectedIsa());
    return kernels;
}

}  // namespace tenpak
