// What packing a path means: which files, and where the tensors sit inside them.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "tenpak/artifact/artifact.h"
#include "tenpak/artifact/packer.h"
#include "tenpak/io/gguf.h"
#include "tenpak/io/llama2c.h"
#include "tenpak/io/safetensors.h"

namespace tenpak::artifact {
namespace fs = std::filesystem;
namespace {

struct Placed {
    io::TensorInfo info;
    uint64_t offset = 0;
};

// Pieces covering [0, file size): the tensors at their offsets, raw bytes in between.
Result<std::vector<InputPiece>> CoverFile(const InputFile& file, std::vector<Placed>& tensors) {
    std::sort(tensors.begin(), tensors.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    std::vector<InputPiece> pieces;
    uint64_t at = 0;
    for (const Placed& tensor : tensors) {
        if (tensor.offset < at) {
            return Status::Corruption(file.file->path() + ": tensor '" + tensor.info.name + "' overlaps the one before it");
        }
        if (tensor.offset > at) pieces.push_back({"", at, tensor.offset - at});
        pieces.push_back({tensor.info.name, tensor.offset, tensor.info.nbytes});
        at = tensor.offset + tensor.info.nbytes;
    }
    if (at > file.file->size()) return Status::Corruption(file.file->path() + ": tensors run past the end of the file");
    if (at < file.file->size()) pieces.push_back({"", at, file.file->size() - at});
    return pieces;
}

// Tensors of a file the formats TenPak reads know how to split; none for other files.
Result<std::vector<Placed>> TensorsOf(const io::MappedFile& file, std::string* kind) {
    const std::span<const std::byte> bytes = file.bytes();
    std::vector<Placed> placed;
    if (file.path().ends_with(".safetensors")) {
        TP_ASSIGN_OR_RETURN(const io::SafetensorsHeader header, io::ParseSafetensorsHeader(bytes, file.path()));
        for (size_t i = 0; i < header.tensors.size(); ++i) placed.push_back({header.tensors[i], header.offsets[i]});
        *kind = "safetensors";
        return placed;
    }
    uint32_t magic = 0;
    if (bytes.size() >= 4) std::memcpy(&magic, bytes.data(), 4);
    if (magic == io::kGgufMagic) {
        TP_ASSIGN_OR_RETURN(const io::GgufHeader header, io::ParseGgufHeader(bytes, file.path()));
        for (size_t i = 0; i < header.tensors.size(); ++i) {
            placed.push_back({header.tensors[i], header.data_offset + header.tensor_offsets[i]});
        }
        *kind = "gguf";
        return placed;
    }
    *kind = "";
    return placed;
}

Status AddFile(const std::string& path, const std::string& name, PackInput& input,
               std::map<std::string, std::string, std::less<>>& owners, std::string* kind) {
    InputFile file;
    file.name = name;
    TP_ASSIGN_OR_RETURN(file.file, io::MappedFile::Open(path));
    TP_ASSIGN_OR_RETURN(std::vector<Placed> tensors, TensorsOf(*file.file, kind));
    if (kind->empty() && path.ends_with(".bin")) {
        // A llama2.c checkpoint is recognised by its header matching its size exactly.
        Result<std::unique_ptr<io::Llama2cReader>> reader = io::Llama2cReader::Open(path);
        if (reader.ok()) {
            for (size_t i = 0; i < (*reader)->tensors().size(); ++i) {
                tensors.push_back({(*reader)->tensors()[i], (*reader)->offsets()[i]});
            }
            *kind = "llama2c";
        }
    }
    for (const Placed& tensor : tensors) {
        const auto [it, inserted] = owners.emplace(tensor.info.name, name);
        if (!inserted) {
            return Status::InvalidArgument(path + ": tensor '" + tensor.info.name + "' is also in " + it->second +
                                           "; an artifact's tensor names must be unique");
        }
    }
    TP_ASSIGN_OR_RETURN(file.pieces, CoverFile(file, tensors));
    for (const Placed& tensor : tensors) input.tensors.push_back(tensor.info);
    input.files.push_back(std::move(file));
    return Status::Ok();
}

}  // namespace

Result<PackInput> DescribePackInput(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return Status::NotFound(path + ": no such file or folder");
    PackInput input;
    std::map<std::string, std::string, std::less<>> owners;
    if (!fs::is_directory(path, ec)) {
        if (IsArtifactFile(path)) {
            return Status::InvalidArgument(path + ": is already a .tnpk artifact (unpack it to repack its contents)");
        }
        std::string kind;
        TP_RETURN_IF_ERROR(AddFile(path, fs::path(path).filename().string(), input, owners, &kind));
        input.source = kind == "gguf" || kind == "llama2c" ? kind : "files";
        return input;
    }
    std::vector<std::string> names;
    const fs::path root(path);
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const std::string leaf = it->path().filename().string();
        if (!leaf.empty() && leaf.front() == '.') {  // .git, .cache, editors' files, our own temporaries
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(ec)) names.push_back(fs::relative(it->path(), root, ec).generic_string());
    }
    if (ec) return Status::IOError(path + ": cannot list the folder: " + ec.message());
    if (names.empty()) return Status::InvalidArgument(path + ": the folder has no files to pack");
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
        std::string kind;
        TP_RETURN_IF_ERROR(AddFile((root / name).string(), name, input, owners, &kind));
    }
    input.source = fs::exists(root / "config.json", ec) ? "hf" : "files";
    return input;
}

}  // namespace tenpak::artifact
