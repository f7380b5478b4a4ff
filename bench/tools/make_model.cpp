// make_model: writes a Llama model with random weights as a Hugging Face folder (config.json +
// model.safetensors, or shards + model.safetensors.index.json) of about a requested size. Used by
// bench/io/convert_bench.sh; handy for trying TenPak on something big without downloading it.
//
//   make_model OUT_DIR --bytes 1GB [--dtype f32|f16|bf16] [--seed 1] [--max-shard-size 5GB] [--json]
//   make_model OUT_DIR --hidden 2048 [--intermediate 5632] [--layers 22] [--heads 32] [--kv-heads 4]
//                      [--vocab 32000] [--context 2048] [--dtype ...] ...
//
// The second form gives the shapes explicitly instead of a size (the line above is TinyLlama-1.1B's
// shape, which bench/engine/engine_bench.sh uses); what is not given defaults as described below for
// the hidden size asked for (intermediate 8/3 x hidden rounded up to 256, hidden / 128 layers,
// kv heads = heads), and nothing is trimmed. --context (max_position_embeddings, default 4096)
// applies to both forms.
//
// Shapes follow the Llama family, scaled to the size: the hidden size is the one whose layer count
// comes closest to Llama's proportion (hidden / 128 layers: 4096 and 32 for 7B), head_dim 64 (128
// from a hidden size of 2048), a vocabulary of 32000 (smaller only when embeddings and lm_head
// would take more than 2/3 of the budget), lm_head untied; the intermediate size, nominally Llama's 8/3 x hidden,
// is then trimmed (to a multiple of 64) so that the tensor bytes come as close to the request as
// possible without exceeding it. Asking for 7e9 x 2 bytes of F16 gives exactly Llama-2-7B's shapes.
//
// Values: weights uniform with the standard deviation transformers initialises with (0.02), norm
// weights around 1. Each tensor has its own generator seeded from --seed and its position, so the
// output is the same on every run and machine for the same arguments.
//
// Memory: the tensors are generated and written one at a time through
// io::ShardedSafetensorsWriter, into one reused buffer: the peak is about the largest tensor (the
// embedding, or lm_head) in the output dtype.
//
// Exit codes as tenpak's: 0 written, 1 the job failed, 2 bad usage.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tenpak/core/cpu_features.h"
#include "tenpak/core/half.h"
#include "tenpak/core/status.h"
#include "tenpak/io/atomic_output.h"
#include "tenpak/io/safetensors.h"
#include "tools/llama_plan.h"

namespace tenpak::bench {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kVocab = 32000;
constexpr int64_t kMinVocab = 256;
constexpr int64_t kHiddenStep = 64;
constexpr int64_t kMaxHidden = 16384;
constexpr int64_t kIntermediateMultiple = 256;  // Llama's multiple_of
constexpr int64_t kTrimMultiple = 64;
constexpr int64_t kHiddenPerLayer = 128;  // Llama-2: 4096 / 32, 5120 / 40, 8192 / 80
constexpr double kInitStd = 0.02;         // transformers' initializer_range
constexpr size_t kChunkElems = size_t{1} << 16;

int64_t RoundDown(int64_t value, int64_t multiple) {
    return value / multiple * multiple;
}

int64_t RoundUp(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// Parameters of everything but the layers, and of one layer, for `d`.
int64_t FixedParams(const LlamaDims& d) {
    return 2 * d.vocab * d.hidden + d.hidden;
}
int64_t LayerParams(const LlamaDims& d) {
    return 4 * d.hidden * d.hidden + 3 * d.hidden * d.intermediate + 2 * d.hidden;
}

// The Llama shapes with at most `target` parameters that come closest to it (header comment).
// The layers and MLP width that bring `d` (hidden and vocab set) closest to `target` parameters
// without exceeding it; false when not even one layer with the narrowest MLP fits.
bool FitLayers(int64_t target, LlamaDims& d) {
    const int64_t hidden = d.hidden;
    d.intermediate = RoundUp(8 * hidden / 3, kIntermediateMultiple);
    const int64_t budget = target - FixedParams(d);
    const int64_t nominal_layer = LayerParams(d);
    d.layers = std::max<int64_t>(1, std::llround(static_cast<double>(budget) / static_cast<double>(nominal_layer)));
    // Trim (or widen) the MLP to land on the target, with fewer layers if even the narrowest MLP
    // does not fit.
    for (; d.layers > 0; --d.layers) {
        d.intermediate =
            RoundDown((budget / d.layers - 4 * hidden * hidden - 2 * hidden) / (3 * hidden), kTrimMultiple);
        if (d.intermediate >= kTrimMultiple) break;
    }
    d.intermediate = std::min(d.intermediate, 4 * hidden);
    return d.layers > 0;
}

// The Llama shapes with at most `target` parameters that come closest to it (header comment).
Result<LlamaDims> PickDims(int64_t target, DType dtype) {
    std::optional<LlamaDims> best;
    double best_score = 0;
    for (int64_t hidden = kHiddenStep; hidden <= kMaxHidden; hidden += kHiddenStep) {
        LlamaDims d;
        d.hidden = hidden;
        d.heads = hidden / (hidden >= 2048 && hidden % 128 == 0 ? 128 : 64);
        d.kv_heads = d.heads;
        d.vocab = kVocab;
        // Embeddings and lm_head take at most 2/3 of the budget (stories15M, a real Llama, has 60 %);
        // the smallest vocabulary when even that leaves no room for a layer.
        if (3 * d.vocab * hidden > target) d.vocab = std::max(kMinVocab, RoundDown(target / 3 / hidden, 64));
        if (!FitLayers(target, d)) {
            d.vocab = kMinVocab;
            if (!FitLayers(target, d)) continue;
        }
        const double natural = static_cast<double>(std::max<int64_t>(1, hidden / kHiddenPerLayer));
        const double score = std::abs(std::log(static_cast<double>(d.layers) / natural));
        if (!best || score <= best_score) {
            best = d;
            best_score = score;
        }
    }
    if (!best) {
        LlamaDims smallest;
        smallest.hidden = kHiddenStep;
        smallest.heads = smallest.kv_heads = 1;
        smallest.vocab = kMinVocab;
        smallest.intermediate = kTrimMultiple;
        smallest.layers = 1;
        const uint64_t params = LlamaParameterCount(smallest);
        return Status::InvalidArgument("the smallest model make_model writes has " + std::to_string(params) +
                                       " parameters (" + std::to_string(params * Traits(dtype).block_bytes) +
                                       " bytes in " + std::string(DTypeName(dtype)) + "); ask for more");
    }
    return *best;
}

// splitmix64: tiny, fast and good enough for benchmark weights.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t Next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

private:
    uint64_t state_;
};

// `n` values uniform in [center - half_width, center + half_width).
void FillUniform(Rng& rng, float center, float half_width, float* out, size_t n) {
    const float scale = half_width / 2147483648.0f;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        const uint64_t bits = rng.Next();
        out[i] = center + static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(bits))) * scale;
        out[i + 1] = center + static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(bits >> 32))) * scale;
    }
    if (i < n) out[i] = center + static_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(rng.Next()))) * scale;
}

struct Args {
    std::string out_dir;
    std::string bytes;  // empty when the shapes are given (--hidden ...)
    // Explicit shapes (0: not given).
    int64_t hidden = 0;
    int64_t intermediate = 0;
    int64_t layers = 0;
    int64_t heads = 0;
    int64_t kv_heads = 0;
    int64_t vocab = 0;
    int64_t context = 0;
    std::string dtype = "f32";
    uint64_t seed = 1;
    std::string max_shard_size = "5GB";
    bool json = false;
    bool dry_run = false;
};

struct Written {
    LlamaDims dims;
    DType dtype = DType::kF32;
    uint64_t parameters = 0;
    uint64_t tensor_bytes = 0;
    std::vector<std::string> files;
    uint64_t file_bytes = 0;
    double seconds = 0;
};

Result<DType> ParseDType(const std::string& name) {
    if (name == "f32") return DType::kF32;
    if (name == "f16") return DType::kF16;
    if (name == "bf16") return DType::kBF16;
    return Status::InvalidArgument("--dtype must be f32, f16 or bf16, not '" + name + "'");
}

// Generates and writes every tensor of `plan`, one at a time.
Status WriteTensors(const std::vector<io::TensorInfo>& plan, DType dtype, uint64_t seed, io::TensorSink& sink) {
    const float weight_half_width = static_cast<float>(kInitStd * std::sqrt(3.0));  // uniform with std 0.02
    std::vector<float> f32;
    std::vector<uint16_t> f16;
    std::vector<float> chunk(kChunkElems);
    for (size_t index = 0; index < plan.size(); ++index) {
        const io::TensorInfo& info = plan[index];
        Rng rng(seed * 0x2545F4914F6CDD1Dull + index);
        const bool is_norm = info.shape.size() == 1;
        const float center = is_norm ? 1.0f : 0.0f;
        const float half_width = is_norm ? 0.05f : weight_half_width;
        const size_t n = info.NumElements();
        std::span<const std::byte> bytes;
        if (dtype == DType::kF32) {
            f32.resize(n);
            FillUniform(rng, center, half_width, f32.data(), n);
            bytes = std::as_bytes(std::span<const float>(f32.data(), n));
        } else {
            f16.resize(n);
            for (size_t done = 0; done < n; done += kChunkElems) {
                const size_t count = std::min(kChunkElems, n - done);
                FillUniform(rng, center, half_width, chunk.data(), count);
                if (dtype == DType::kF16) {
                    ConvertF32ToF16(chunk.data(), f16.data() + done, count);
                } else {
                    ConvertF32ToBF16(chunk.data(), f16.data() + done, count);
                }
            }
            bytes = std::as_bytes(std::span<const uint16_t>(f16.data(), n));
        }
        TP_RETURN_IF_ERROR(sink.Write(info.name, bytes));
    }
    return Status::Ok();
}

Status WriteFolder(const Args& args, const std::vector<io::TensorInfo>& plan, const LlamaDims& dims, DType dtype);

// The shapes given with --hidden (header comment), checked.
Result<LlamaDims> ExplicitDims(const Args& args) {
    const int64_t hidden = args.hidden;
    if (hidden <= 0 || hidden > kMaxHidden) {
        return Status::InvalidArgument("--hidden must be in [1, " + std::to_string(kMaxHidden) + "]");
    }
    LlamaDims d;
    d.hidden = hidden;
    d.heads =
        args.heads > 0 ? args.heads : std::max<int64_t>(1, hidden / (hidden >= 2048 && hidden % 128 == 0 ? 128 : 64));
    d.kv_heads = args.kv_heads > 0 ? args.kv_heads : d.heads;
    d.vocab = args.vocab > 0 ? args.vocab : kVocab;
    d.intermediate = args.intermediate > 0 ? args.intermediate : RoundUp(8 * hidden / 3, kIntermediateMultiple);
    d.layers = args.layers > 0 ? args.layers : std::max<int64_t>(1, hidden / kHiddenPerLayer);
    if (hidden % d.heads != 0 || d.head_dim() % 2 != 0) {
        return Status::InvalidArgument("--heads " + std::to_string(d.heads) + " must divide --hidden " +
                                       std::to_string(hidden) + " into an even head size (rotary embeddings)");
    }
    if (d.heads % d.kv_heads != 0) {
        return Status::InvalidArgument("--kv-heads " + std::to_string(d.kv_heads) + " must divide --heads " +
                                       std::to_string(d.heads));
    }
    if (d.intermediate > 16 * kMaxHidden || d.layers > 1024 || d.vocab > (int64_t{1} << 24)) {
        return Status::InvalidArgument("--intermediate, --layers or --vocab is too large");
    }
    return d;
}

Result<Written> MakeModel(const Args& args) {
    const auto start = std::chrono::steady_clock::now();
    TP_RETURN_IF_ERROR(io::ParseByteSize(args.max_shard_size).status());
    TP_ASSIGN_OR_RETURN(const DType dtype, ParseDType(args.dtype));
    LlamaDims dims;
    if (args.hidden > 0) {
        TP_ASSIGN_OR_RETURN(dims, ExplicitDims(args));
    } else {
        TP_ASSIGN_OR_RETURN(const uint64_t target_bytes, io::ParseByteSize(args.bytes));
        const uint64_t elem_bytes = Traits(dtype).block_bytes;
        if (target_bytes / elem_bytes > static_cast<uint64_t>(INT64_MAX) / 4) {
            return Status::InvalidArgument("--bytes " + args.bytes + " is too large");
        }
        TP_ASSIGN_OR_RETURN(dims, PickDims(static_cast<int64_t>(target_bytes / elem_bytes), dtype));
    }
    if (args.context > 0) dims.context = args.context;

    Written written;
    written.dims = dims;
    written.dtype = dtype;
    written.parameters = LlamaParameterCount(dims);
    const std::vector<io::TensorInfo> plan = LlamaTensorPlan(dims, dtype);
    for (const io::TensorInfo& info : plan) written.tensor_bytes += info.nbytes;
    if (args.dry_run) return written;

    std::error_code ec;
    if (fs::exists(args.out_dir, ec) && (!fs::is_directory(args.out_dir, ec) || !fs::is_empty(args.out_dir, ec))) {
        return Status::InvalidArgument(args.out_dir + " exists and is not an empty folder");
    }
    const bool created = !fs::exists(args.out_dir, ec);
    fs::create_directories(args.out_dir, ec);
    if (ec) return Status::IOError(args.out_dir + ": cannot create: " + ec.message());
    Status status = WriteFolder(args, plan, dims, dtype);
    if (!status.ok()) {
        // Leave nothing behind: the writers removed their own files; remove the folder we made.
        if (created) fs::remove_all(args.out_dir, ec);
        return status;
    }

    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(args.out_dir)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
        written.files.push_back(file.filename().string());
        written.file_bytes += fs::file_size(file);
    }
    written.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return written;
}

Status WriteFolder(const Args& args, const std::vector<io::TensorInfo>& plan, const LlamaDims& dims, DType dtype) {
    TP_ASSIGN_OR_RETURN(const uint64_t max_shard_bytes, io::ParseByteSize(args.max_shard_size));
    {
        io::ShardedSafetensorsWriter::Options options;
        options.max_shard_bytes = max_shard_bytes;
        TP_ASSIGN_OR_RETURN(std::unique_ptr<io::ShardedSafetensorsWriter> writer,
                            io::ShardedSafetensorsWriter::Create(args.out_dir, options));
        TP_RETURN_IF_ERROR(writer->Begin(plan));
        TP_RETURN_IF_ERROR(WriteTensors(plan, dtype, args.seed, *writer));
        TP_RETURN_IF_ERROR(writer->Finish());
    }
    TP_ASSIGN_OR_RETURN(io::AtomicFile config,
                        io::AtomicFile::Create((fs::path(args.out_dir) / "config.json").string()));
    TP_RETURN_IF_ERROR(config.Append(LlamaConfigJson(dims, dtype).dump(2) + "\n"));
    return config.Commit();
}

void Print(const Args& args, const Written& w) {
    if (args.json) {
        const nlohmann::ordered_json out = {{"output", args.out_dir},
                                            {"model_type", "llama"},
                                            {"hidden_size", w.dims.hidden},
                                            {"intermediate_size", w.dims.intermediate},
                                            {"num_hidden_layers", w.dims.layers},
                                            {"num_attention_heads", w.dims.heads},
                                            {"num_key_value_heads", w.dims.kv_heads},
                                            {"head_dim", w.dims.head_dim()},
                                            {"max_position_embeddings", w.dims.context},
                                            {"vocab_size", w.dims.vocab},
                                            {"dtype", DTypeName(w.dtype)},
                                            {"parameters", w.parameters},
                                            {"tensor_bytes", w.tensor_bytes},
                                            {"file_bytes", w.file_bytes},
                                            {"files", w.files},
                                            {"seed", args.seed},
                                            {"kernels", IsaName(SelectedIsa())},
                                            {"seconds", w.seconds}};
        std::printf("%s\n", out.dump(2).c_str());
        return;
    }
    std::printf(
        "make_model: %s %s: llama, hidden %lld, intermediate %lld, %lld layers, %lld heads%s, vocab %lld; "
        "%llu parameters in %s, %llu tensor bytes",
        args.dry_run ? "would write" : "wrote", args.out_dir.c_str(), static_cast<long long>(w.dims.hidden),
        static_cast<long long>(w.dims.intermediate), static_cast<long long>(w.dims.layers),
        static_cast<long long>(w.dims.heads),
        w.dims.kv_heads == w.dims.heads ? "" : (" (" + std::to_string(w.dims.kv_heads) + " kv heads)").c_str(),
        static_cast<long long>(w.dims.vocab), static_cast<unsigned long long>(w.parameters),
        std::string(DTypeName(w.dtype)).c_str(), static_cast<unsigned long long>(w.tensor_bytes));
    if (!args.dry_run) {
        std::printf(", %llu bytes in %zu files, %.2f s", static_cast<unsigned long long>(w.file_bytes), w.files.size(),
                    w.seconds);
    }
    std::printf("\n");
}

}  // namespace
}  // namespace tenpak::bench

int main(int argc, char** argv) {
    using tenpak::bench::Args;
    try {
        Args args;
        CLI::App app{"make_model: write a random Llama model of about a given size as a Hugging Face folder"};
        app.add_option("OUT_DIR", args.out_dir, "Folder to create (must not exist, or be empty)")->required();
        CLI::Option* bytes =
            app.add_option("--bytes", args.bytes, "Approximate size of the weights: 256MB, 1GB, 2GiB ...");
        CLI::Option* hidden =
            app.add_option("--hidden", args.hidden, "Give the shapes instead of --bytes: the hidden size")
                ->check(CLI::Range(1, 1 << 30))
                ->excludes(bytes);
        app.add_option("--intermediate", args.intermediate, "With --hidden: MLP width (default 8/3 x hidden)")
            ->check(CLI::Range(1, 1 << 30))
            ->needs(hidden);
        app.add_option("--layers", args.layers, "With --hidden: layers (default hidden / 128)")
            ->check(CLI::Range(1, 1 << 30))
            ->needs(hidden);
        app.add_option("--heads", args.heads, "With --hidden: attention heads (default head size 64, 128 from 2048)")
            ->check(CLI::Range(1, 1 << 30))
            ->needs(hidden);
        app.add_option("--kv-heads", args.kv_heads, "With --hidden: key/value heads (default: --heads)")
            ->check(CLI::Range(1, 1 << 30))
            ->needs(hidden);
        app.add_option("--vocab", args.vocab, "With --hidden: vocabulary size (default 32000)")
            ->check(CLI::Range(1, 1 << 30))
            ->needs(hidden);
        app.add_option("--context", args.context, "max_position_embeddings in config.json (default 4096)")
            ->check(CLI::Range(1, 1 << 30));
        app.add_option("--dtype", args.dtype, "f32, f16 or bf16 (default f32)");
        app.add_option("--seed", args.seed, "Seed of the random weights (default 1)");
        app.add_option("--max-shard-size", args.max_shard_size, "Largest safetensors shard (default 5GB)");
        app.add_flag("--json", args.json, "Print a JSON summary");
        app.add_flag("--dry-run", args.dry_run, "Print the shapes that would be written, write nothing");
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            if (e.get_exit_code() == 0) return app.exit(e);
            std::fprintf(stderr, "make_model: %s\nRun with --help for usage.\n", e.what());
            return 2;
        }
        if (bytes->count() == 0 && hidden->count() == 0) {
            std::fprintf(
                stderr, "make_model: --bytes (or the shapes, from --hidden) is required\nRun with --help for usage.\n");
            return 2;
        }
        tenpak::Result<tenpak::bench::Written> written = tenpak::bench::MakeModel(args);
        if (!written.ok()) {
            std::fprintf(stderr, "make_model: error: %s\n", written.status().message().c_str());
            return written.status().code() == tenpak::StatusCode::kInvalidArgument ? 2 : 1;
        }
        tenpak::bench::Print(args, *written);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_model: internal error: %s\n", e.what());
        return 1;
    }
}
