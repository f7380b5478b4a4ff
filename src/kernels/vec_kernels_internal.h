// Private to src/kernels: the per-ISA KernelTable instances that dispatch.cpp chooses from.
//
// ref/vec_ref.cpp holds the scalar reference (the spec every other table is tested against);
// x86/vec_avx2.cpp and x86/vec_avx512.cpp hold the vector versions and are the only files of the
// module that include immintrin.h (src/CMakeLists.txt compiles them with their ISA's flags).
#pragma once

#include "tenpak/kernels/kernels.h"

namespace tenpak::kernels {

extern const KernelTable kKernelTableRef;
extern const KernelTable kKernelTableAvx2;
extern const KernelTable kKernelTableAvx512;

}  // namespace tenpak::kernels
