// Writes a Model as a GGUF v3 file that llama.cpp loads: general.* and `<arch>.*` keys with the
// exact types llama.cpp's loader requires (u32 counts, f32 epsilons), the tokenizer.ggml.* vocabulary,
// GGUF tensor names, rotary rows interleaved for the "llama" arch, Conv1D weights transposed,
// 1-D tensors in F32 (shared/formats.md section E).
#include <algorithm>
#include <filesystem>
#include <map>

#include "export_stream.h"
#include "tenpak/io/gguf.h"
#include "tenpak/model/model_writer.h"

namespace tenpak::model {
namespace fs = std::filesystem;

namespace {

// llama.cpp's LLAMA_FTYPE for the dtype most weights have (shared/formats.md E.1).
uint32_t FileTypeFor(DType dtype) {
    switch (dtype) {
        case DType::kF32:
            return 0;
        case DType::kF16:
            return 1;
        case DType::kQ4_0:
            return 2;
        case DType::kQ4_1:
            return 3;
        case DType::kQ8_0:
            return 7;
        case DType::kQ5_0:
            return 8;
        case DType::kQ5_1:
            return 9;
        case DType::kQ4_K:
            return 14;  // LLAMA_FTYPE_MOSTLY_Q4_K_S: Q4_K throughout, the output head in Q6_K
        case DType::kQ6_K:
            return 18;
        case DType::kBF16:
            return 32;
        default:
            return 0;
    }
}

bool GgufCanStore(DType dtype) {
    return Traits(dtype).ggml_type.has_value();
}

std::string ModelName(const Model& model) {
    if (model.config.raw.is_object() && model.config.raw.contains("_name_or_path") &&
        model.config.raw["_name_or_path"].is_string() &&
        !model.config.raw["_name_or_path"].get<std::string>().empty()) {
        return fs::path(model.config.raw["_name_or_path"].get<std::string>()).filename().string();
    }
    fs::path origin(model.origin);
    if (origin.filename().empty()) origin = origin.parent_path();
    return origin.stem().string();
}

// Position of an output tensor: non-layer tensors first, then layer by layer, each in role order.
struct SortKey {
    int layer;
    size_t role;
    std::string name;
    bool operator<(const SortKey& o) const { return std::tie(layer, role, name) < std::tie(o.layer, o.role, o.name); }
};

}  // namespace

Result<WriteReport> WriteGguf(const Model& model, const std::string& out_path, const WriteOptions& options) {
    WriteReport report;
    const ModelSpec& spec = *model.spec;
    std::vector<std::pair<SortKey, internal::ExportTensor>> planned;
    std::map<DType, uint64_t> weight_elements;  // of 2-D tensors, to pick general.file_type
    for (const io::TensorInfo& info : model.tensors->tensors()) {
        const std::optional<RoleMatch> match = MatchName(spec, info.name, Naming::kHuggingFace);
        if (!match || match->role->gguf.empty()) {
            return Status::Unsupported(model.origin + ": tensor '" + info.name + "' has no GGUF name in llama.cpp's " +
                                       std::string(model.variant->gguf_arch) + " architecture");
        }
        const TensorRole& role = *match->role;
        internal::ExportTensor t;
        t.canonical = info;
        t.out = info;
        t.out.name = RoleName(role, Naming::kGguf, match->layer);
        if (info.shape.size() <= 1) {
            t.out.dtype = DType::kF32;
        } else if (options.dtype) {
            t.out.dtype = *options.dtype;
        } else if (!GgufCanStore(info.dtype)) {
            t.out.dtype = DType::kF32;
        }
        if (options.rewriter != nullptr && info.shape.size() == 2) {
            TP_ASSIGN_OR_RETURN(std::optional<std::vector<io::TensorInfo>> replaced,
                                options.rewriter->Plan(info, /*gguf=*/true));
            if (replaced) {
                if (replaced->size() != 1) {
                    return Status::Internal("tensor '" + info.name + "': a GGUF rewrite gives one tensor");
                }
                t.out.dtype = replaced->front().dtype;
                t.out.shape = replaced->front().shape;
                t.out.nbytes = replaced->front().nbytes;
                t.rewritten = true;
            }
        }
        if (role.conv1d && !t.rewritten) {
            t.transpose = true;
            std::swap(t.out.shape[0], t.out.shape[1]);
        }
        if (model.variant->gguf_permutes_rotary && role.row_layout != RowLayout::kSame) {
            t.to_interleaved = true;
            t.rotary_heads =
                role.row_layout == RowLayout::kRotaryQuery ? model.config.num_heads : model.config.num_kv_heads;
        }
        if (Traits(t.out.dtype).block_elems > 1 && t.out.shape.back() % Traits(t.out.dtype).block_elems != 0) {
            return Status::Unsupported("tensor '" + info.name + "' has rows of " + std::to_string(t.out.shape.back()) +
                                       ", not a multiple of " + std::string(DTypeName(t.out.dtype)) + "'s block size");
        }
        TP_RETURN_IF_ERROR(internal::PlanExportTensor(t));
        if (t.out.shape.size() == 2) weight_elements[t.out.dtype] += t.out.NumElements();
        const size_t role_index = static_cast<size_t>(&role - spec.roles.data());
        planned.push_back({SortKey{match->layer, role_index, t.out.name}, std::move(t)});
    }
    std::sort(planned.begin(), planned.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<internal::ExportTensor> tensors;
    for (auto& [key, t] : planned) tensors.push_back(std::move(t));

    DType main = DType::kF32;
    uint64_t most = 0;
    bool quantized = false;
    for (const auto& [dtype, elements] : weight_elements) {
        if (elements > most) {
            most = elements;
            main = dtype;
        }
        quantized = quantized || Traits(dtype).block_elems > 1;
    }

    io::GgufMetadata metadata;
    metadata.emplace_back("general.architecture", io::GgufValue::String(std::string(model.variant->gguf_arch)));
    metadata.emplace_back("general.name", io::GgufValue::String(ModelName(model)));
    spec.config_to_gguf(model.config, *model.variant, metadata);
    metadata.emplace_back("general.file_type", io::GgufValue::U32(FileTypeFor(main)));
    if (quantized) metadata.emplace_back("general.quantization_version", io::GgufValue::U32(2));
    if (model.vocab) {
        io::AppendVocabToGguf(*model.vocab, metadata);
    } else {
        report.notes.push_back(
            "no vocabulary: the GGUF has no tokenizer.ggml.* keys, so llama.cpp cannot run it "
            "(pass --tokenizer, or convert from a folder with tokenizer.model)");
    }

    TP_ASSIGN_OR_RETURN(std::unique_ptr<io::GgufWriter> writer, io::GgufWriter::Create(out_path, std::move(metadata)));
    TP_RETURN_IF_ERROR(
        internal::StreamTensors(model, tensors, *writer, options.progress, "writing " + out_path, options.rewriter));
    TP_RETURN_IF_ERROR(writer->Finish());
    report.files.push_back(out_path);
    report.tensors = tensors.size();
    for (const internal::ExportTensor& t : tensors) report.tensor_bytes += t.out.nbytes;
    return report;
}

}  // namespace tenpak::model
