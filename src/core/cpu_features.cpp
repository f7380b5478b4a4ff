#include "tenpak/core/cpu_features.h"

#include <cpuid.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tenpak {
namespace {

uint64_t ReadXcr0() {
    uint32_t eax = 0;
    uint32_t edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures Detect() {
    CpuFeatures f;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
    const bool osxsave = (ecx & bit_OSXSAVE) != 0;
    const bool fma = (ecx & bit_FMA) != 0;
    const bool f16c = (ecx & bit_F16C) != 0;
    if (!osxsave) return f;
    const uint64_t xcr0 = ReadXcr0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE and AVX state saved by the OS
    const bool zmm_state = (xcr0 & 0xE6) == 0xE6;  // plus opmask and ZMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
    f.avx2 = ymm_state && (ebx & bit_AVX2) != 0;
    f.fma = ymm_state && fma;
    f.f16c = ymm_state && f16c;
    f.avx512f = zmm_state && (ebx & bit_AVX512F) != 0;
    f.avx512bw = zmm_state && (ebx & bit_AVX512BW) != 0;
    f.avx512vl = zmm_state && (ebx & bit_AVX512VL) != 0;
    f.avx512dq = zmm_state && (ebx & bit_AVX512DQ) != 0;
    f.avx512vnni = zmm_state && (ecx & bit_AVX512VNNI) != 0;
    unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
    if (__get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1)) {
        f.avx512bf16 = zmm_state && (eax1 & (1u << 5)) != 0;
    }
    return f;
}

Isa BestSupported() {
    if (IsaSupported(Isa::kAvx512)) return Isa::kAvx512;
    if (IsaSupported(Isa::kAvx2)) return Isa::kAvx2;
    return Isa::kRef;
}

Isa SelectIsaOnce() {
    const char* forced = std::getenv("TENPAK_KERNELS");
    if (forced == nullptr || *forced == '\0') return BestSupported();
    const std::string want(forced);
    for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
        if (want != IsaName(isa)) continue;
        if (IsaSupported(isa)) return isa;
        std::fprintf(stderr, "tenpak: warning: TENPAK_KERNELS=%s but this CPU lacks it; using %s\n", forced,
                     std::string(IsaName(BestSupported())).c_str());
        return BestSupported();
    }
    std::fprintf(stderr, "tenpak: warning: TENPAK_KERNELS=%s is not one of ref, avx2, avx512; using %s\n", forced,
                 std::string(IsaName(BestSupported())).c_str());
    return BestSupported();
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
    static const CpuFeatures features = Detect();
    return features;
}

bool IsaSupported(Isa isa) {
    const CpuFeatures& f = GetCpuFeatures();
    switch (isa) {
        case Isa::kRef:
            return true;
        case Isa::kAvx2:
            return f.avx2 && f.fma && f.f16c;
        case Isa::kAvx512:
            return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    }
    return false;
}

std::vector<Isa> SupportedIsas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
        if (IsaSupported(isa)) out.push_back(isa);
    }
    return out;
}

Isa SelectedIsa() {
    static const Isa isa = SelectIsaOnce();
    return isa;
}

std::string_view IsaName(Isa isa) {
    switch (isa) {
        case Isa::kRef:
            return "ref";
        case Isa::kAvx2:
            return "avx2";
        case Isa::kAvx512:
            return "avx512";
    }
    return "unknown";
}

}  // namespace tenpak
