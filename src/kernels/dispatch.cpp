// The one place that chooses a KernelTable (and a PackedKernelTable): by ISA on request (tests,
// benchmarks), or once for the process from SelectedIsa() (the best the CPU has, or TENPAK_KERNELS).
#include "kernels/packed_internal.h"
#include "kernels/vec_kernels_internal.h"
#include "tenpak/core/check.h"

namespace tenpak::kernels {

const KernelTable& KernelsFor(Isa isa) {
    // Handing out a table the CPU cannot run would die with SIGILL far from here.
    TP_CHECK(IsaSupported(isa));
    switch (isa) {
        case Isa::kRef:
            return kKernelTableRef;
        case Isa::kAvx2:
            return kKernelTableAvx2;
        case Isa::kAvx512:
            return kKernelTableAvx512;
    }
    TP_CHECK(false && "unknown Isa");
    return kKernelTableRef;
}

const KernelTable& SelectedKernels() {
    static const KernelTable& kernels = KernelsFor(SelectedIsa());
    return kernels;
}

const PackedKernelTable& PackedKernelsFor(Isa isa) {
    TP_CHECK(IsaSupported(isa));
    switch (isa) {
        case Isa::kRef:
            return kPackedKernelsRef;
        case Isa::kAvx2:
            return kPackedKernelsAvx2;
        case Isa::kAvx512:
            return kPackedKernelsAvx512;
    }
    TP_CHECK(false && "unknown Isa");
    return kPackedKernelsRef;
}

const PackedKernelTable& SelectedPackedKernels() {
    static const PackedKernelTable& kernels = PackedKernelsFor(SelectedIsa());
    return kernels;
}

}  // namespace tenpak::kernels
