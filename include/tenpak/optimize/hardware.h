// The GPUs `tenpak optimize` projects candidates onto: a built-in table from the vendors' data sheets
// (docs/hardware.md cites each figure), which a user file can amend (prices change; new GPUs appear).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/result.h"

namespace tenpak::optimize {

struct GpuProfile {
    std::string name;             // "T4", "A100-80GB" ...
    double memory_gb = 0;         // decimal gigabytes, as data sheets give them
    double bandwidth_gb_s = 0;    // peak memory bandwidth, GB/s
    double fp16_tflops = 0;       // peak dense FP16 tensor-core throughput (no sparsity)
    double price_per_hour = 0;    // USD per GPU-hour
    std::string source;           // where the figures come from
    // Compute capability 8.0 or more: runs the Marlin kernels vLLM serves 4-bit GPTQ and AWQ with.
    bool runs_marlin = true;
};

// T4, L4, A10G, A100-40GB, A100-80GB, H100, in that order.
const std::vector<GpuProfile>& BuiltinGpus();

// Amends `gpus` from a JSON file:
//   {"gpus": {"T4": {"price_per_hour": 0.35}, "L40S": {"memory_gb": 48, "bandwidth_gb_s": 864,
//             "fp16_tflops": 362, "price_per_hour": 1.2}}}
// A known name takes the fields given; a new name must give all four. Unknown fields, negative or
// zero figures and wrong types are refused, naming the file and the field.
Result<std::vector<GpuProfile>> ApplyHardwareFile(std::vector<GpuProfile> gpus, const std::string& path);

// "any": every profile; else a comma-separated list of names (case-insensitive). An unknown name is
// refused with the valid names listed.
Result<std::vector<GpuProfile>> ChooseHardware(const std::vector<GpuProfile>& gpus, std::string_view names);

}  // namespace tenpak::optimize
