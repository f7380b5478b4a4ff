// The one place that chooses a KernelTable: by ISA on request (tests, benchmarks), or once for the
// process from SelectedIsa() (the best the CPU has, or TENPAK_KERNELS).
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

}  // namespace tenpak::kernels
