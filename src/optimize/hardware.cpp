#include "tenpak/optimize/hardware.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tenpak/io/mapped_file.h"

namespace tenpak::optimize {
namespace {

std::string Upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string Names(const std::vector<GpuProfile>& gpus) {
    std::string names;
    for (const GpuProfile& g : gpus) names += (names.empty() ? "" : ", ") + g.name;
    return names;
}

// One numeric field of a GPU entry: present, a number, and positive.
Status ReadPositive(const nlohmann::json& entry, const char* key, const std::string& where, double& out) {
    if (!entry.contains(key)) return Status::Ok();
    const nlohmann::json& v = entry.at(key);
    if (!v.is_number() || !(v.get<double>() > 0)) {
        return Status::InvalidArgument(where + "." + key + " must be a positive number, not " + v.dump());
    }
    out = v.get<double>();
    return Status::Ok();
}

}  // namespace

const std::vector<GpuProfile>& BuiltinGpus() {
    // Figures and their sources: docs/hardware.md.
    static const std::vector<GpuProfile> gpus = {
        {"T4", 16, 320, 65, 0.50, "NVIDIA T4 data sheet", /*runs_marlin=*/false},  // compute capability 7.5
        {"L4", 24, 300, 121, 0.80, "NVIDIA L4 data sheet"},
        {"A10G", 24, 600, 70, 1.00, "AWS EC2 G5 instance page"},
        {"A100-40GB", 40, 1555, 312, 3.50, "NVIDIA A100 data sheet (SXM4 40GB)"},
        {"A100-80GB", 80, 2039, 312, 5.00, "NVIDIA A100 data sheet (SXM4 80GB)"},
        {"H100", 80, 3350, 989, 8.00, "NVIDIA H100 data sheet (SXM5)"},
    };
    return gpus;
}

Result<std::vector<GpuProfile>> ApplyHardwareFile(std::vector<GpuProfile> gpus, const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::string text, io::ReadFileToString(path));
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Status::InvalidArgument(path + " is not valid JSON");
    if (!doc.is_object() || !doc.contains("gpus") || !doc.at("gpus").is_object()) {
        return Status::InvalidArgument(path + ": expected an object {\"gpus\": {NAME: {field: value}}}");
    }
    for (const auto& [name, entry] : doc.at("gpus").items()) {
        const std::string where = path + ": gpus." + name;
        if (!entry.is_object()) return Status::InvalidArgument(where + " must be an object");
        for (const auto& [key, value] : entry.items()) {
            if (key != "memory_gb" && key != "bandwidth_gb_s" && key != "fp16_tflops" && key != "price_per_hour" &&
                key != "source" && key != "runs_marlin") {
                return Status::InvalidArgument(where + " has an unknown field '" + key +
                                               "' (known: memory_gb, bandwidth_gb_s, fp16_tflops, price_per_hour, "
                                               "source, runs_marlin)");
            }
        }
        auto known = std::find_if(gpus.begin(), gpus.end(),
                                  [&](const GpuProfile& g) { return Upper(g.name) == Upper(name); });
        GpuProfile profile;
        if (known != gpus.end()) {
            profile = *known;
        } else {
            for (const char* key : {"memory_gb", "bandwidth_gb_s", "fp16_tflops", "price_per_hour"}) {
                if (!entry.contains(key)) {
                    return Status::InvalidArgument(where + " is a new GPU and needs '" + key +
                                                   "' (a new GPU gives memory_gb, bandwidth_gb_s, fp16_tflops and "
                                                   "price_per_hour)");
                }
            }
            profile.name = name;
            profile.source = path;
            profile.runs_marlin = true;  // a GPU new enough to be added is Ampere or later; "runs_marlin": false says otherwise
        }
        TP_RETURN_IF_ERROR(ReadPositive(entry, "memory_gb", where, profile.memory_gb));
        TP_RETURN_IF_ERROR(ReadPositive(entry, "bandwidth_gb_s", where, profile.bandwidth_gb_s));
        TP_RETURN_IF_ERROR(ReadPositive(entry, "fp16_tflops", where, profile.fp16_tflops));
        TP_RETURN_IF_ERROR(ReadPositive(entry, "price_per_hour", where, profile.price_per_hour));
        if (entry.contains("runs_marlin")) {
            if (!entry.at("runs_marlin").is_boolean()) return Status::InvalidArgument(where + ".runs_marlin must be true or false");
            profile.runs_marlin = entry.at("runs_marlin").get<bool>();
        }
        if (entry.contains("source")) {
            if (!entry.at("source").is_string()) return Status::InvalidArgument(where + ".source must be a string");
            profile.source = entry.at("source").get<std::string>();
        } else if (known != gpus.end()) {
            profile.source += " (amended by " + path + ")";
        }
        if (known != gpus.end()) {
            *known = profile;
        } else {
            gpus.push_back(profile);
        }
    }
    return gpus;
}

Result<std::vector<GpuProfile>> ChooseHardware(const std::vector<GpuProfile>& gpus, std::string_view names) {
    if (Upper(names) == "ANY") return gpus;
    std::vector<GpuProfile> chosen;
    std::stringstream list{std::string(names)};
    std::string name;
    while (std::getline(list, name, ',')) {
        auto it = std::find_if(gpus.begin(), gpus.end(), [&](const GpuProfile& g) { return Upper(g.name) == Upper(name); });
        if (it == gpus.end()) {
            return Status::InvalidArgument("unknown --hardware '" + name + "' (known: " + Names(gpus) +
                                           ", or any; a hardware file can add more)");
        }
        if (std::none_of(chosen.begin(), chosen.end(), [&](const GpuProfile& g) { return g.name == it->name; })) {
            chosen.push_back(*it);
        }
    }
    if (chosen.empty()) return Status::InvalidArgument("--hardware names no GPU (known: " + Names(gpus) + ", or any)");
    return chosen;
}

}  // namespace tenpak::optimize
