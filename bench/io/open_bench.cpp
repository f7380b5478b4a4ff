// Opening a sharded model: the time to list every tensor of a Llama-2-7B-shaped checkpoint (291
// F16 tensors, 13.5 GB in three ~5 GB shards, as transformers saves it), and how much of the files
// that reads. Goal: under 50 ms, reading only the headers.
//
// At setup the model is generated in a temporary folder ($TMPDIR, else /tmp): each shard is its
// safetensors header followed by a hole (ftruncate to the full size), so it takes a few KB of disk
// whatever its apparent size; then model.safetensors.index.json and config.json. The folder is
// removed at exit. A file system without sparse files is detected and the benchmarks are skipped.
//
//   Open/ShardedSafetensorsSource   io::ShardedSafetensorsSource::Open(index) + walk tensors()
//   Open/OpenModel                  model::OpenModel(folder) + walk the canonical tensors (this
//                                   also parses config.json and validates every shape)
//
// The reported time is a warm open (page cache hot), including the close. Counters:
//   tensors, shards      what was listed
//   file_bytes           apparent size of every file in the folder
//   header_bytes         what must be read: each shard's u64 + JSON header, index and config
//   read_bytes           bytes of those files brought into the page cache by one cold open
//   read_ratio           read_bytes / file_bytes
//   baseline_bytes       read_bytes of a baseline that touches only header_bytes, through the same
//                        mechanism (an mmap per shard; index and config read whole)
//   vs_baseline          read_bytes / baseline_bytes: 1.0 means nothing beyond the headers was read
// read_bytes exceeds header_bytes by the kernel's read-around: the first fault on a mapped file
// reads read_ahead_kb (/sys/class/bdi/<dev>/read_ahead_kb; 128 KB by default, often 4-8 MB on
// virtual disks) from the start of the file. The baseline pays it too, hence vs_baseline.
//   cold_ms              the cold open's time (the header pages come from disk)
//
// How "bytes touched" is measured: mincore(2) on a fresh mapping of each file, before and after a
// cold open, after dropping the files' pages with fdatasync + posix_fadvise(DONTNEED). That counts
// exactly the pages of these files the open caused to be read, kernel read-around included (a
// fault on a mapped file reads up to read_ahead_kb around it), and nothing else. getrusage fault
// counts were rejected: they also count the process's heap and stack pages (JSON parsing
// allocates), and one fault maps up to 16 already-cached pages (fault-around), so they neither
// isolate the model files nor count their pages.
//
// The goal is printed on stderr after the run, next to the measured figure (stderr keeps stdout
// machine-readable under --benchmark_format=json); the context section records it too.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_context.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/core/status.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/model/model.h"
#include "tools/llama_plan.h"

namespace tenpak {
namespace {

namespace fs = std::filesystem;

constexpr double kGoalMs = 50.0;
// A shard whose allocated blocks exceed this is not sparse (the headers are ~10 KB each).
constexpr uint64_t kMaxAllocatedShardBytes = 16 << 20;

double Milliseconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

uint64_t PageSize() {
    return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

Status WriteTextFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Status::IOError(path + ": cannot write");
    return Status::Ok();
}

// One shard: the header as the reference writer lays it out (tensors sorted by name, all F16, data
// offsets tiling the buffer, JSON padded with spaces to 8 bytes), then a hole up to the full size.
Status WriteSparseShard(const std::string& path, std::vector<io::TensorInfo> tensors) {
    std::sort(tensors.begin(), tensors.end(),
              [](const io::TensorInfo& a, const io::TensorInfo& b) { return a.name < b.name; });
    nlohmann::ordered_json header = {{"__metadata__", {{"format", "pt"}}}};
    uint64_t offset = 0;
    for (const io::TensorInfo& info : tensors) {
        header[info.name] = {
            {"dtype", DTypeName(info.dtype)}, {"shape", info.shape}, {"data_offsets", {offset, offset + info.nbytes}}};
        offset += info.nbytes;
    }
    std::string text = header.dump();
    text.resize((text.size() + 7) / 8 * 8, ' ');
    const uint64_t header_len = text.size();
    const uint64_t file_size = 8 + header_len + offset;

    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError(path + ": cannot create: " + ErrnoMessage(errno));
    std::string bytes(8, '\0');
    std::memcpy(bytes.data(), &header_len, 8);  // little-endian host (safetensors readers assume it too)
    bytes += text;
    const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                    ::ftruncate(fd, static_cast<off_t>(file_size)) == 0;
    const int err = errno;
    struct stat st {};
    const bool stat_ok = ::fstat(fd, &st) == 0;
    ::close(fd);
    if (!ok) return Status::IOError(path + ": cannot write the sparse shard: " + ErrnoMessage(err));
    if (!stat_ok || static_cast<uint64_t>(st.st_blocks) * 512 > kMaxAllocatedShardBytes) {
        return Status::Unsupported(path + ": the file system does not keep sparse files sparse; set TMPDIR to one " +
                                   "that does (ext4, xfs, btrfs, tmpfs)");
    }
    return Status::Ok();
}

// The 7B checkpoint in a temporary folder, split greedily into shards of at most 5 GB in
// state_dict order (huggingface_hub's split_torch_state_dict_into_shards), as transformers saves it.
class SparseModel {
public:
    static Result<std::unique_ptr<SparseModel>> Create() {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ =
            (tmp != nullptr && *tmp != '\0' ? std::string(tmp) : std::string("/tmp")) + "/tenpak-open-bench-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) {
            return Status::IOError(templ + ": cannot create a temporary folder: " + ErrnoMessage(errno));
        }
        std::unique_ptr<SparseModel> model(new SparseModel(templ));
        TP_RETURN_IF_ERROR(model->Write());
        return model;
    }
    ~SparseModel() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    const std::string& dir() const { return dir_; }
    std::string index_path() const { return (fs::path(dir_) / io::kSafetensorsIndexName).string(); }
    // Every file of the folder: shards, index, config.
    const std::vector<std::string>& files() const { return files_; }
    uint64_t file_bytes() const { return file_bytes_; }
    uint64_t header_bytes() const { return header_bytes_; }
    const std::vector<uint64_t>& shard_header_bytes() const { return shard_header_bytes_; }
    size_t shard_count() const { return shard_header_bytes_.size(); }

private:
    explicit SparseModel(std::string dir) : dir_(std::move(dir)) {}

    Status Write() {
        const std::vector<io::TensorInfo> plan = bench::LlamaTensorPlan(bench::kLlama2_7B, DType::kF16);
        std::vector<std::vector<io::TensorInfo>> groups;
        uint64_t current = 0;
        for (const io::TensorInfo& info : plan) {
            if (groups.empty() || current + info.nbytes > io::kDefaultMaxShardBytes) {
                groups.emplace_back();
                current = 0;
            }
            groups.back().push_back(info);
            current += info.nbytes;
        }
        nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
        uint64_t total = 0;
        std::map<std::string, std::string> sorted_map;  // the index lists tensors by name
        for (size_t shard = 0; shard < groups.size(); ++shard) {
            char name[64];
            std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", shard + 1, groups.size());
            const std::string path = (fs::path(dir_) / name).string();
            TP_RETURN_IF_ERROR(WriteSparseShard(path, groups[shard]));
            for (const io::TensorInfo& info : groups[shard]) {
                sorted_map[info.name] = name;
                total += info.nbytes;
            }
            files_.push_back(path);
            uint64_t header_len = 0;
            std::ifstream in(path, std::ios::binary);
            in.read(reinterpret_cast<char*>(&header_len), 8);
            shard_header_bytes_.push_back(8 + header_len);
        }
        for (const auto& [tensor, file] : sorted_map) weight_map[tensor] = file;
        const nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
        files_.push_back(index_path());
        TP_RETURN_IF_ERROR(WriteTextFile(files_.back(), index.dump(2) + "\n"));
        files_.push_back((fs::path(dir_) / "config.json").string());
        TP_RETURN_IF_ERROR(
            WriteTextFile(files_.back(), bench::LlamaConfigJson(bench::kLlama2_7B, DType::kF16).dump(2) + "\n"));
        for (const std::string& file : files_) file_bytes_ += fs::file_size(file);
        header_bytes_ = fs::file_size(files_[shard_count()]) + fs::file_size(files_[shard_count() + 1]);
        for (uint64_t bytes : shard_header_bytes_) header_bytes_ += bytes;
        return Status::Ok();
    }

    std::string dir_;
    std::vector<std::string> files_;
    uint64_t file_bytes_ = 0;
    uint64_t header_bytes_ = 0;
    std::vector<uint64_t> shard_header_bytes_;  // in files_ order
};

// Created on first use, removed by main() after the run.
std::unique_ptr<SparseModel>& ModelHolder() {
    static std::unique_ptr<SparseModel> model;
    return model;
}

Result<const SparseModel*> GetModel() {
    static Status setup_error;
    if (!ModelHolder() && setup_error.ok()) {
        Result<std::unique_ptr<SparseModel>> created = SparseModel::Create();
        if (created.ok()) {
            ModelHolder() = std::move(created).value();
        } else {
            setup_error = created.status();
        }
    }
    if (!setup_error.ok()) return setup_error;
    return ModelHolder().get();
}

// Bytes of `path` in the page cache. A fresh shared mapping faults nothing in; for pages it has not
// mapped, mincore reports the page cache (allowed because we own the file).
Result<uint64_t> PageCacheBytes(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IOError(path + ": cannot open: " + ErrnoMessage(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size == 0) {
        ::close(fd);
        return uint64_t{0};
    }
    const auto size = static_cast<size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return Status::IOError(path + ": cannot mmap: " + ErrnoMessage(errno));
    const uint64_t page = PageSize();
    std::vector<unsigned char> resident((size + page - 1) / page);
    const int rc = ::mincore(map, size, resident.data());
    const int err = errno;
    ::munmap(map, size);
    if (rc != 0) return Status::IOError(path + ": mincore failed: " + ErrnoMessage(err));
    uint64_t pages = 0;
    for (unsigned char r : resident) pages += r & 1u;
    return pages * page;
}

Result<uint64_t> PageCacheBytes(const SparseModel& model) {
    uint64_t total = 0;
    for (const std::string& file : model.files()) {
        TP_ASSIGN_OR_RETURN(uint64_t bytes, PageCacheBytes(file));
        total += bytes;
    }
    return total;
}

// Writes the files' dirty pages back, then asks the kernel to drop them. Only unmapped clean pages
// go (nothing else maps these files). A tmpfs keeps everything: ColdOpen::cached_before shows it and
// the goal line then says the figure cannot be trusted.
Status DropFromPageCache(const SparseModel& model) {
    for (const std::string& file : model.files()) {
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Status::IOError(file + ": cannot open: " + ErrnoMessage(errno));
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
    return Status::Ok();
}

struct ColdOpen {
    uint64_t read_bytes = 0;
    double ms = 0;
    uint64_t cached_before = 0;  // left in the page cache after the drop (all of it on tmpfs)
};

// Runs `open` once on cold files and measures what it read.
template <typename Fn>
Result<ColdOpen> MeasureColdOpen(const SparseModel& model, Fn&& open) {
    TP_RETURN_IF_ERROR(DropFromPageCache(model));
    TP_ASSIGN_OR_RETURN(uint64_t before, PageCacheBytes(model));
    const auto t0 = std::chrono::steady_clock::now();
    TP_RETURN_IF_ERROR(open());
    const auto t1 = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(uint64_t after, PageCacheBytes(model));
    return ColdOpen{after > before ? after - before : 0, Milliseconds(t1 - t0), before};
}

// The baseline: what reading only the necessary bytes costs through the same mechanism (an mmap
// per shard, touching each header page; the small JSON files read whole).
Result<uint64_t> BaselineBytes(const SparseModel& model) {
    auto touch_headers = [&]() -> Status {
        const uint64_t page = PageSize();
        for (size_t shard = 0; shard < model.shard_count(); ++shard) {
            TP_ASSIGN_OR_RETURN(std::shared_ptr<const io::MappedFile> file, io::MappedFile::Open(model.files()[shard]));
            unsigned sum = 0;
            for (uint64_t at = 0; at < model.shard_header_bytes()[shard]; at += page) {
                sum += static_cast<unsigned>(file->bytes()[at]);
            }
            benchmark::DoNotOptimize(sum);
        }
        for (size_t i = model.shard_count(); i < model.files().size(); ++i) {
            TP_ASSIGN_OR_RETURN(std::string text, io::ReadFileToString(model.files()[i]));
            benchmark::DoNotOptimize(text.data());
        }
        return Status::Ok();
    };
    TP_ASSIGN_OR_RETURN(ColdOpen cold, MeasureColdOpen(model, touch_headers));
    return cold.read_bytes;
}

// What each benchmark measured, for the goal lines printed after the run.
struct Measured {
    double ms = 0;  // per warm open
    uint64_t read_bytes = 0;
    uint64_t baseline_bytes = 0;
    uint64_t header_bytes = 0;
    uint64_t file_bytes = 0;
    bool cache_dropped = true;  // else read_bytes means nothing
};
// read_bytes may exceed the baseline by this factor and still count as "headers only".
constexpr double kHeadersOnlySlack = 1.01;

std::map<std::string, Measured>& MeasuredByName() {
    static std::map<std::string, Measured> measured;
    return measured;
}

struct Listing {
    size_t tensors = 0;
    size_t shards = 0;
};

Result<Listing> OpenSharded(const SparseModel& model) {
    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::ShardedSafetensorsSource> source,
                        io::ShardedSafetensorsSource::Open(model.index_path()));
    uint64_t bytes = 0;
    for (const io::TensorInfo& info : source->tensors()) bytes += info.nbytes + info.shape.size();
    benchmark::DoNotOptimize(bytes);
    return Listing{source->tensors().size(), source->shard_count()};
}

Result<Listing> OpenAsModel(const SparseModel& model) {
    TP_ASSIGN_OR_RETURN(model::Model m, model::OpenModel(model.dir()));
    uint64_t bytes = 0;
    for (const io::TensorInfo& info : m.tensors->tensors()) bytes += info.nbytes + info.shape.size();
    benchmark::DoNotOptimize(bytes);
    return Listing{m.tensors->tensors().size(), model.shard_count()};
}

void BenchOpen(benchmark::State& state, const char* name, Result<Listing> (*open)(const SparseModel&)) {
    Result<const SparseModel*> got = GetModel();
    if (!got.ok()) {
        state.SkipWithError(got.status().ToString().c_str());
        return;
    }
    const SparseModel& model = **got;
    static Result<uint64_t> baseline = BaselineBytes(model);
    if (!baseline.ok()) {
        state.SkipWithError(baseline.status().ToString().c_str());
        return;
    }

    Listing listing;
    Result<ColdOpen> cold = MeasureColdOpen(model, [&]() -> Status {
        TP_ASSIGN_OR_RETURN(listing, open(model));
        return Status::Ok();
    });
    if (!cold.ok()) {
        state.SkipWithError(cold.status().ToString().c_str());
        return;
    }

    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        Result<Listing> result = open(model);
        if (!result.ok()) {
            state.SkipWithError(result.status().ToString().c_str());
            return;
        }
    }
    MeasuredByName()[name] = {
        Milliseconds(std::chrono::steady_clock::now() - start) / static_cast<double>(state.iterations()),
        cold->read_bytes,
        *baseline,
        model.header_bytes(),
        model.file_bytes(),
        cold->cached_before < model.header_bytes()};

    state.counters["tensors"] = static_cast<double>(listing.tensors);
    state.counters["shards"] = static_cast<double>(listing.shards);
    state.counters["file_bytes"] = static_cast<double>(model.file_bytes());
    state.counters["header_bytes"] = static_cast<double>(model.header_bytes());
    state.counters["read_bytes"] = static_cast<double>(cold->read_bytes);
    state.counters["read_ratio"] = static_cast<double>(cold->read_bytes) / static_cast<double>(model.file_bytes());
    state.counters["baseline_bytes"] = static_cast<double>(*baseline);
    state.counters["vs_baseline"] =
        *baseline == 0 ? 0.0 : static_cast<double>(cold->read_bytes) / static_cast<double>(*baseline);
    state.counters["cold_ms"] = cold->ms;
}

void PrintGoal() {
    for (const auto& [name, m] : MeasuredByName()) {
        const bool fast = m.ms < kGoalMs;
        const bool headers_only = static_cast<double>(m.read_bytes) <= kHeadersOnlySlack * m.baseline_bytes;
        const char* verdict = !m.cache_dropped ? "cannot tell: the files' pages could not be dropped from the page "
                                                 "cache (tmpfs?); set TMPDIR to a disk-backed folder"
                              : headers_only   ? "met"
                                               : "NOT met";
        std::fprintf(stderr,
                     "goal: %s: < %.0f ms per open of the 7B model; measured %.2f ms: %s\n"
                     "goal: %s: reads only the headers; read %.1f MB of %.2f GB (%.3f %%), a baseline touching only "
                     "the %.1f KB of headers reads %.1f MB (x%.2f): %s\n",
                     name.c_str(), kGoalMs, m.ms, fast ? "met" : "NOT met", name.c_str(), m.read_bytes / 1e6,
                     m.file_bytes / 1e9, 100.0 * m.read_bytes / m.file_bytes, m.header_bytes / 1e3,
                     m.baseline_bytes / 1e6, m.baseline_bytes == 0 ? 0.0 : double(m.read_bytes) / m.baseline_bytes,
                     verdict);
    }
}

}  // namespace
}  // namespace tenpak

// io_bench's main (the only one: bench/CMakeLists.txt links every bench/io/*_bench.cpp into one
// program): BENCHMARK_MAIN plus the context section 9 of STYLE.md asks for, the goal line, and the
// removal of the generated model.
int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    tenpak::bench::AddContext("1");
    benchmark::AddCustomContext("tenpak_goal", "Open/*: < 50 ms per open of the 7B model, reading only the headers");
    benchmark::RegisterBenchmark("Open/ShardedSafetensorsSource", tenpak::BenchOpen, "Open/ShardedSafetensorsSource",
                                 &tenpak::OpenSharded)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Open/OpenModel", tenpak::BenchOpen, "Open/OpenModel", &tenpak::OpenAsModel)
        ->Unit(benchmark::kMillisecond);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    tenpak::PrintGoal();
    tenpak::ModelHolder().reset();
    return 0;
}
