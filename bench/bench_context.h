// The context every TenPak benchmark result carries (STYLE.md section 9): CPU model and features,
// the kernel table chosen, the build type and the thread count. Figures are only comparable
// between runs with the same context.
#pragma once

#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <utility>

#include "tenpak/core/cpu_features.h"

namespace tenpak::bench {

inline std::string CpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const size_t colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
    return "unknown";
}

inline std::string CpuFeatureList() {
    const CpuFeatures& f = GetCpuFeatures();
    const std::pair<const char*, bool> flags[] = {
        {"avx2", f.avx2},
        {"fma", f.fma},
        {"f16c", f.f16c},
        {"avx512f", f.avx512f},
        {"avx512bw", f.avx512bw},
        {"avx512vl", f.avx512vl},
        {"avx512dq", f.avx512dq},
        {"avx512bf16", f.avx512bf16},
        {"avx512vnni", f.avx512vnni},
    };
    std::string out;
    for (const auto& [name, present] : flags) {
        if (!present) continue;
        if (!out.empty()) out += ' ';
        out += name;
    }
    return out.empty() ? "none" : out;
}

inline std::string BuildDescription() {
#if defined(__OPTIMIZE__) && defined(NDEBUG)
    std::string out = "optimized, NDEBUG";
#elif defined(__OPTIMIZE__)
    std::string out = "optimized, assertions on";
#else
    std::string out = "unoptimized (debug): figures are not meaningful";
#endif
#if defined(__SANITIZE_ADDRESS__)
    out += ", ASan: figures are not meaningful";
#endif
    return out;
}

// Adds the context to Google Benchmark's report header.
inline void AddContext(const std::string& threads) {
    benchmark::AddCustomContext("tenpak_cpu", CpuModel());
    benchmark::AddCustomContext("tenpak_cpu_features", CpuFeatureList());
    benchmark::AddCustomContext("tenpak_kernels_selected", std::string(IsaName(SelectedIsa())));
    benchmark::AddCustomContext("tenpak_build", BuildDescription());
    benchmark::AddCustomContext("tenpak_threads", threads);
}

}  // namespace tenpak::bench
