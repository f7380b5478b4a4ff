#include <filesystem>

#include <nlohmann/json.hpp>

#include "tenpak/io/safetensors.h"

namespace tenpak::io {
namespace fs = std::filesystem;

SafetensorsReader::SafetensorsReader(std::shared_ptr<const MappedFile> file, SafetensorsHeader header)
    : file_(std::move(file)), header_(std::move(header)) {
    for (size_t i = 0; i < header_.tensors.size(); ++i) index_.emplace(header_.tensors[i].name, i);
}

Result<std::unique_ptr<SafetensorsReader>> SafetensorsReader::Open(const std::string& path) {
    // The mapping is lazy; the header is read with pread so that opening touches no data page.
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
    TP_ASSIGN_OR_RETURN(std::string length, ReadFileRange(path, 0, 8));
    const auto as_bytes = [](const std::string& s) {
        return std::span<const std::byte>(reinterpret_cast<const std::byte*>(s.data()), s.size());
    };
    TP_ASSIGN_OR_RETURN(const uint64_t header_len, SafetensorsHeaderLength(as_bytes(length), file->size(), path));
    TP_ASSIGN_OR_RETURN(std::string prefix, ReadFileRange(path, 0, 8 + header_len));
    TP_ASSIGN_OR_RETURN(SafetensorsHeader header, ParseSafetensorsHeaderPrefix(as_bytes(prefix), file->size(), path));
    return std::unique_ptr<SafetensorsReader>(new SafetensorsReader(std::move(file), std::move(header)));
}

Result<TensorData> SafetensorsReader::Read(const TensorInfo& info) const {
    const auto it = index_.find(info.name);
    if (it == index_.end()) return Status::NotFound(origin() + ": no tensor named '" + info.name + "'");
    const uint64_t offset = header_.offsets[it->second];
    const uint64_t nbytes = header_.tensors[it->second].nbytes;
    return TensorData::View(file_->bytes().subspan(offset, nbytes), file_);
}

void SafetensorsReader::Release(const TensorInfo& info) const {
    const auto it = index_.find(info.name);
    if (it != index_.end()) file_->Release(header_.offsets[it->second], header_.tensors[it->second].nbytes);
}

Result<std::unique_ptr<ShardedSafetensorsSource>> ShardedSafetensorsSource::Open(const std::string& index_path) {
    TP_ASSIGN_OR_RETURN(std::string text, ReadFileToString(index_path));
    const nlohmann::json index = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded()) return Status::Corruption(index_path + ": not valid JSON");
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
        return Status::Corruption(index_path + ": missing the 'weight_map' object");
    }
    const fs::path dir = fs::path(index_path).parent_path();

    std::unique_ptr<ShardedSafetensorsSource> source(new ShardedSafetensorsSource());
    source->index_path_ = index_path;
    std::map<std::string, size_t, std::less<>> shard_index;  // file name -> shards_ position
    std::map<std::string, std::string, std::less<>> mapped;  // tensor -> file name
    for (const auto& [tensor, file_value] : index["weight_map"].items()) {
        if (!file_value.is_string()) {
            return Status::Corruption(index_path + ": weight_map entry for '" + tensor + "' must be a file name");
        }
        const std::string file = file_value.get<std::string>();
        if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
            return Status::Corruption(index_path + ": weight_map names '" + file +
                                      "', which is not a plain file name in the folder");
        }
        mapped.emplace(tensor, file);
        if (shard_index.count(file) == 0) {
            Result<std::unique_ptr<SafetensorsReader>> shard = SafetensorsReader::Open((dir / file).string());
            if (!shard.ok()) return shard.status().WithContext("shard named by " + index_path);
            shard_index.emplace(file, source->shards_.size());
            source->shards_.push_back(std::move(shard).value());
        }
    }
    // Index and shards must agree both ways: a tensor the index maps must be in its shard, and a
    // shard must not hold tensors the index does not know (loaders would disagree on them).
    for (const auto& [file, position] : shard_index) {
        for (const TensorInfo& info : source->shards_[position]->tensors()) {
            const auto it = mapped.find(info.name);
            if (it == mapped.end() || it->second != file) {
                return Status::Corruption(index_path + ": shard " + file + " holds tensor '" + info.name +
                                          "', which the weight_map does not assign to it");
            }
            source->tensors_.push_back(info);
            source->shard_of_.emplace(info.name, position);
        }
    }
    for (const auto& [tensor, file] : mapped) {
        if (source->shard_of_.count(tensor) == 0) {
            return Status::Corruption(index_path + ": weight_map puts tensor '" + tensor + "' in " + file +
                                      ", which does not hold it");
        }
    }
    return source;
}

Result<TensorData> ShardedSafetensorsSource::Read(const TensorInfo& info) const {
    const auto it = shard_of_.find(info.name);
    if (it == shard_of_.end()) return Status::NotFound(origin() + ": no tensor named '" + info.name + "'");
    return shards_[it->second]->Read(info);
}

}  // namespace tenpak::io

namespace tenpak::io {
void ShardedSafetensorsSource::Release(const TensorInfo& info) const {
    const auto it = shard_of_.find(info.name);
    if (it != shard_of_.end()) shards_[it->second]->Release(info);
}
}  // namespace tenpak::io
