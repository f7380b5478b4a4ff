// What the CPU can do, detected once (cpuid + xgetbv), and which instruction set the kernels use.
// TENPAK_KERNELS=ref|avx2|avx512 forces a choice (for tests and bug reports); asking for an ISA
// the CPU lacks falls back to the best one it has, with a warning on stderr.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tenpak {

struct CpuFeatures {
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512dq = false;
    bool avx512bf16 = false;
    bool avx512vnni = false;
};

// Instruction-set levels TenPak compiles kernels for, weakest first.
enum class Isa : uint8_t {
    kRef = 0,     // portable scalar C++: the reference every other kernel is tested against
    kAvx2 = 1,    // AVX2 + FMA + F16C
    kAvx512 = 2,  // AVX-512 F/BW/VL/DQ
};

const CpuFeatures& GetCpuFeatures();
bool IsaSupported(Isa isa);
// Every ISA this CPU can run, kRef first.
std::vector<Isa> SupportedIsas();
// The ISA kernels dispatch to: the best supported one, or TENPAK_KERNELS if set.
Isa SelectedIsa();
std::string_view IsaName(Isa isa);

}  // namespace tenpak
