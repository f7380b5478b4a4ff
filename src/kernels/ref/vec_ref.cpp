// The scalar reference of the inner kernels: the spec the vector tables are tested against.
//
// What each kernel computes, exactly:
//   dot:  s = 0; for j = 0 .. n-1: s = fma(w[j], x[j], s); return s
//   axpy: for j = 0 .. n-1: y[j] = fma(a, w[j], y[j])
// with F16 and BF16 weights widened to F32 first (exact: every F16 and BF16 value is an F32 value).
// Every product is added with one rounding, as the vector kernels' FMA instructions do, so axpy is
// bit-identical in every table. The vector dots keep several partial sums and add them at the end,
// so they round differently from this left-to-right sum; tests/kernels/kernels_test.cpp bounds
// the difference.
//
// The pointers may point anywhere into a byte buffer (tensor data in an mmap'd file at any
// offset), so elements are read and written through memcpy, which has no alignment requirement.
// std::fma is glibc's fmaf, which uses the FMA instruction when the CPU has one (an ifunc), so this
// table is slow but not absurdly so when TENPAK_KERNELS=ref forces it.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/vec_kernels_internal.h"
#include "tenpak/core/half.h"

namespace tenpak::kernels {
namespace {

template <typename T>
T LoadElement(const T* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

float WidenF32(const float* p) {
    return LoadElement(p);
}
float WidenF16(const uint16_t* p) {
    return F16ToF32Ref(LoadElement(p));
}
float WidenBF16(const uint16_t* p) {
    return BF16ToF32Ref(LoadElement(p));
}

// One loop per kernel, parametrised by how a weight is widened.
template <typename W, float (*kWiden)(const W*)>
float Dot(const W* w, const float* x, size_t n) {
    float sum = 0.0f;
    for (size_t j = 0; j < n; ++j) sum = std::fma(kWiden(w + j), LoadElement(x + j), sum);
    return sum;
}

template <typename W, float (*kWiden)(const W*)>
void Axpy(float a, const W* w, float* y, size_t n) {
    for (size_t j = 0; j < n; ++j) {
        const float out = std::fma(a, kWiden(w + j), LoadElement(y + j));
        std::memcpy(y + j, &out, sizeof(out));
    }
}

void Softmax(float* x, size_t n) {
    float max_value = x[0];
    for (size_t j = 1; j < n; ++j) max_value = std::max(max_value, x[j]);
    float sum = 0.0f;
    for (size_t j = 0; j < n; ++j) {
        x[j] = std::exp(x[j] - max_value);
        sum += x[j];
    }
    const float inv = 1.0f / sum;
    for (size_t j = 0; j < n; ++j) x[j] *= inv;
}

}  // namespace

const KernelTable kKernelTableRef = {
    Isa::kRef,
    Dot<float, WidenF32>,
    Dot<uint16_t, WidenF16>,
    Dot<uint16_t, WidenBF16>,
    Axpy<float, WidenF32>,
    Axpy<uint16_t, WidenF16>,
    Axpy<uint16_t, WidenBF16>,
    Softmax,
};

}  // namespace tenpak::kernels
