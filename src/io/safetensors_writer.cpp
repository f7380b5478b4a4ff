// Streaming safetensors writers. The header is laid out from the plan before any data arrives, so
// tensors can be written one at a time, in any order, straight to their final offset; nothing but
// the tensor being written is ever in memory.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tenpak/io/atomic_output.h"
#include "tenpak/io/safetensors.h"

namespace tenpak::io {
namespace fs = std::filesystem;

struct SafetensorsWriter::Impl {
    std::string path;
    std::map<std::string, std::string> metadata;
    std::optional<AtomicFile> file;
    struct Slot {
        uint64_t offset;
        uint64_t nbytes;
        bool written = false;
    };
    std::map<std::string, Slot, std::less<>> slots;
    bool begun = false;
};

SafetensorsWriter::SafetensorsWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsWriter::~SafetensorsWriter() = default;

Result<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::Create(const std::string& path,
                                                                     std::map<std::string, std::string> metadata) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->metadata = std::move(metadata);
    TP_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
    impl->file.emplace(std::move(file));
    return std::unique_ptr<SafetensorsWriter>(new SafetensorsWriter(std::move(impl)));
}

Status SafetensorsWriter::Begin(const std::vector<TensorInfo>& plan) {
    if (impl_->begun) return Status::Internal(impl_->path + ": Begin called twice");
    impl_->begun = true;
    TP_RETURN_IF_ERROR(ValidatePlan(plan, impl_->path));
    for (const TensorInfo& info : plan) {
        if (!Traits(info.dtype).in_safetensors) {
            return Status::Unsupported(impl_->path + ": tensor '" + info.name + "' has dtype " +
                                       std::string(DTypeName(info.dtype)) + ", which safetensors cannot store");
        }
    }
    // Largest elements first, then by name: every tensor lands naturally aligned.
    std::vector<const TensorInfo*> order;
    for (const TensorInfo& info : plan) order.push_back(&info);
    std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
        const uint32_t sa = Traits(a->dtype).block_bytes;
        const uint32_t sb = Traits(b->dtype).block_bytes;
        if (sa != sb) return sa > sb;
        return a->name < b->name;
    });

    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!impl_->metadata.empty()) {
        nlohmann::ordered_json meta = nlohmann::ordered_json::object();
        for (const auto& [k, v] : impl_->metadata) meta[k] = v;
        header["__metadata__"] = std::move(meta);
    }
    uint64_t offset = 0;
    std::vector<std::pair<std::string, Impl::Slot>> slots;
    for (const TensorInfo* info : order) {
        header[info->name] = {{"dtype", DTypeName(info->dtype)},
                              {"shape", info->shape},
                              {"data_offsets", {offset, offset + info->nbytes}}};
        slots.push_back({info->name, Impl::Slot{offset, info->nbytes}});
        offset += info->nbytes;
    }
    std::string text = header.dump();
    // Pad with spaces so the data buffer starts 8-byte aligned (as the reference writer does).
    text.resize((text.size() + 7) / 8 * 8, ' ');
    const uint64_t header_len = text.size();
    std::byte len_bytes[8];
    std::memcpy(len_bytes, &header_len, 8);
    TP_RETURN_IF_ERROR(impl_->file->Append(std::span<const std::byte>(len_bytes, 8)));
    TP_RETURN_IF_ERROR(impl_->file->Append(text));
    const uint64_t data_start = 8 + header_len;
    for (auto& [name, slot] : slots) {
        slot.offset += data_start;
        impl_->slots.emplace(name, slot);
    }
    impl_->file->ExtendTo(data_start + offset);
    return Status::Ok();
}

Status SafetensorsWriter::Write(std::string_view name, std::span<const std::byte> data) {
    if (!impl_->begun) return Status::Internal(impl_->path + ": Write before Begin");
    const auto it = impl_->slots.find(name);
    if (it == impl_->slots.end()) {
        return Status::InvalidArgument(impl_->path + ": tensor '" + std::string(name) + "' was not planned");
    }
    Impl::Slot& slot = it->second;
    if (slot.written) {
        return Status::InvalidArgument(impl_->path + ": tensor '" + std::string(name) + "' written twice");
    }
    if (data.size() != slot.nbytes) {
        return Status::InvalidArgument(impl_->path + ": tensor '" + std::string(name) + "' has " +
                                       std::to_string(data.size()) + " bytes, planned " + std::to_string(slot.nbytes));
    }
    TP_RETURN_IF_ERROR(impl_->file->WriteAt(slot.offset, data));
    slot.written = true;
    return Status::Ok();
}

Status SafetensorsWriter::Finish() {
    if (!impl_->begun) TP_RETURN_IF_ERROR(Begin({}));
    for (const auto& [name, slot] : impl_->slots) {
        if (!slot.written) {
            return Status::Internal(impl_->path + ": tensor '" + name + "' was planned but never written");
        }
    }
    return impl_->file->Commit();
}

Result<std::unique_ptr<ShardedSafetensorsWriter>> ShardedSafetensorsWriter::Create(const std::string& dir,
                                                                                   Options options) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return Status::NotFound("output folder '" + dir + "' does not exist");
    if (options.max_shard_bytes == 0) return Status::InvalidArgument("--max-shard-size must be positive");
    return std::unique_ptr<ShardedSafetensorsWriter>(new ShardedSafetensorsWriter(dir, std::move(options)));
}

ShardedSafetensorsWriter::~ShardedSafetensorsWriter() = default;

Status ShardedSafetensorsWriter::Begin(const std::vector<TensorInfo>& plan) {
    TP_RETURN_IF_ERROR(ValidatePlan(plan, dir_));
    plan_ = plan;
    // Greedy fill in plan order, as huggingface_hub's split_torch_state_dict_into_shards does.
    std::vector<std::vector<TensorInfo>> groups;
    uint64_t current = 0;
    for (const TensorInfo& info : plan) {
        if (groups.empty() || (current + info.nbytes > options_.max_shard_bytes && !groups.back().empty())) {
            groups.emplace_back();
            current = 0;
        }
        groups.back().push_back(info);
        current += info.nbytes;
    }
    if (groups.empty()) groups.emplace_back();
    const size_t n = groups.size();
    for (size_t i = 0; i < n; ++i) {
        std::string name = "model.safetensors";
        if (n > 1) {
            char buf[64];
            std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i + 1, n);
            name = buf;
        }
        TP_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWriter> writer,
                            SafetensorsWriter::Create((fs::path(dir_) / name).string(), options_.metadata));
        TP_RETURN_IF_ERROR(writer->Begin(groups[i]));
        for (const TensorInfo& info : groups[i]) shard_of_.emplace(info.name, i);
        shard_names_.push_back(name);
        shards_.push_back(std::move(writer));
    }
    return Status::Ok();
}

Status ShardedSafetensorsWriter::Write(std::string_view name, std::span<const std::byte> data) {
    const auto it = shard_of_.find(name);
    if (it == shard_of_.end()) {
        return Status::InvalidArgument(dir_ + ": tensor '" + std::string(name) + "' was not planned");
    }
    return shards_[it->second]->Write(name, data);
}

Status ShardedSafetensorsWriter::Finish() {
    if (shards_.empty()) TP_RETURN_IF_ERROR(Begin({}));
    for (auto& shard : shards_) TP_RETURN_IF_ERROR(shard->Finish());
    if (shards_.size() == 1) return Status::Ok();
    nlohmann::ordered_json index;
    uint64_t total = 0;
    for (const TensorInfo& info : plan_) total += info.nbytes;
    index["metadata"] = {{"total_size", total}};
    nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
    std::vector<std::pair<std::string, size_t>> entries(shard_of_.begin(), shard_of_.end());  // sorted by name
    for (const auto& [tensor, shard] : entries) weight_map[tensor] = shard_names_[shard];
    index["weight_map"] = std::move(weight_map);
    TP_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create((fs::path(dir_) / kSafetensorsIndexName).string()));
    TP_RETURN_IF_ERROR(file.Append(index.dump(2) + "\n"));
    return file.Commit();
}

std::vector<std::string> ShardedSafetensorsWriter::shard_names() const {
    return shard_names_;
}

Result<uint64_t> ParseByteSize(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) ++pos;
    const std::string number(text.substr(0, pos));
    std::string unit(text.substr(pos));
    for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (number.empty() || number == ".") {
        return Status::InvalidArgument("size '" + std::string(text) + "' must start with a number, e.g. 5GB");
    }
    static const std::pair<const char*, double> kUnits[] = {
        {"", 1.0},    {"B", 1.0},      {"KB", 1e3},        {"MB", 1e6},           {"GB", 1e9},
        {"TB", 1e12}, {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
    char* end = nullptr;
    const double parsed = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) {
        return Status::InvalidArgument("size '" + std::string(text) + "' is not a number followed by a unit");
    }
    for (const auto& [name, factor] : kUnits) {
        if (unit == name) {
            const double value = parsed * factor;
            if (value < 1.0 || value > 1.8e19) {
                return Status::InvalidArgument("size '" + std::string(text) + "' is out of range");
            }
            return static_cast<uint64_t>(value);
        }
    }
    return Status::InvalidArgument("size '" + std::string(text) + "' has unknown unit '" + unit +
                                   "' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
}

}  // namespace tenpak::io
