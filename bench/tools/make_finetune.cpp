// make_finetune: writes a synthetic fine-tune of a model folder for the delta benchmarks. Every file is
// copied; in each safetensors file the float matrices of the chosen layers get a small dense change,
// w += scale x rms(w) x N(0, 1), rounded back to the tensor's dtype, which is what a short full
// fine-tune does to most weights (small, dense, every element). Deterministic for a seed.
//
//   make_finetune BASE_DIR OUT_DIR [--layers all|0,3,5] [--scale 0.01] [--seed 1]
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/half.h"

namespace {
namespace fs = std::filesystem;

struct Args {
    std::string base, out, layers = "all";
    double scale = 0.01;
    uint64_t seed = 1;
};

// "model.layers.12.mlp.up_proj.weight" -> 12; -1 for tensors outside the layers.
int LayerOf(const std::string& name) {
    const std::string prefix = "model.layers.";
    if (name.rfind(prefix, 0) != 0) return -1;
    return std::atoi(name.c_str() + prefix.size());
}

float Load(const std::string& dtype, const unsigned char* p) {
    if (dtype == "F32") {
        float v;
        std::memcpy(&v, p, 4);
        return v;
    }
    uint16_t h;
    std::memcpy(&h, p, 2);
    return dtype == "F16" ? tenpak::F16ToF32Ref(h) : tenpak::BF16ToF32Ref(h);
}

void Store(const std::string& dtype, float v, unsigned char* p) {
    if (dtype == "F32") {
        std::memcpy(p, &v, 4);
        return;
    }
    const uint16_t h = dtype == "F16" ? tenpak::F32ToF16Ref(v) : tenpak::F32ToBF16Ref(v);
    std::memcpy(p, &h, 2);
}

// Perturbs the chosen tensors of one safetensors file in memory; returns how many it changed.
int Perturb(std::vector<unsigned char>& file, const std::set<int>& layers, bool all, const Args& args, std::mt19937_64& rng) {
    uint64_t header_size = 0;
    std::memcpy(&header_size, file.data(), 8);
    const nlohmann::json header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + static_cast<long>(header_size));
    unsigned char* data = file.data() + 8 + header_size;
    std::normal_distribution<float> normal(0.0f, 1.0f);
    int changed = 0;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        const std::string dtype = entry.at("dtype");
        const int layer = LayerOf(name);
        if (layer < 0 || (!all && !layers.contains(layer)) || entry.at("shape").size() < 2) continue;
        if (dtype != "F32" && dtype != "F16" && dtype != "BF16") continue;
        const size_t width = dtype == "F32" ? 4 : 2;
        const uint64_t begin = entry.at("data_offsets")[0], end = entry.at("data_offsets")[1];
        const size_t n = (end - begin) / width;
        double sum_sq = 0;
        for (size_t i = 0; i < n; ++i) {
            const double v = Load(dtype, data + begin + i * width);
            sum_sq += v * v;
        }
        const float step = static_cast<float>(args.scale * std::sqrt(sum_sq / static_cast<double>(n)));
        for (size_t i = 0; i < n; ++i) {
            unsigned char* p = data + begin + i * width;
            Store(dtype, Load(dtype, p) + step * normal(rng), p);
        }
        ++changed;
    }
    return changed;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    CLI::App app{"make_finetune: a synthetic dense fine-tune of a model folder, for the delta benchmarks"};
    app.add_option("BASE_DIR", args.base, "The model folder to fine-tune")->required();
    app.add_option("OUT_DIR", args.out, "Folder to create")->required();
    app.add_option("--layers", args.layers, "all, or comma-separated layer indices (default all)");
    app.add_option("--scale", args.scale, "Change per weight, times the matrix's RMS (default 0.01)");
    app.add_option("--seed", args.seed, "Seed (default 1)");
    CLI11_PARSE(app, argc, argv);
    std::set<int> layers;
    const bool all = args.layers == "all";
    if (!all) {
        std::stringstream list(args.layers);
        for (std::string item; std::getline(list, item, ',');) layers.insert(std::stoi(item));
    }
    std::error_code error;
    fs::create_directories(args.out, error);
    if (error) {
        std::fprintf(stderr, "make_finetune: cannot create %s: %s\n", args.out.c_str(), error.message().c_str());
        return 1;
    }
    std::mt19937_64 rng(args.seed);
    int changed = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(args.base)) {
        if (!entry.is_regular_file()) continue;
        const fs::path target = fs::path(args.out) / entry.path().filename();
        if (entry.path().extension() != ".safetensors") {
            fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing);
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        changed += Perturb(bytes, layers, all, args, rng);
        std::ofstream(target, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    }
    std::printf("make_finetune: %d matrices changed (scale %g) -> %s\n", changed, args.scale, args.out.c_str());
    return 0;
}
