#include <cstring>
#include <functional>

#include "tenpak/io/llama2c.h"

namespace tenpak::io {
namespace {

constexpr int32_t kMaxDim = 1 << 16;
constexpr int32_t kMaxHidden = 1 << 20;
constexpr int32_t kMaxLayers = 1024;
constexpr int32_t kMaxVocab = 1 << 24;
constexpr int32_t kMaxSeqLen = 1 << 24;
constexpr uint64_t kV1HeaderBytes = 256;

// One array of the file, as a tensor (or a stack of per-layer tensors).
struct ArraySpec {
    std::string name_pattern;  // "{i}" replaced by the layer for per-layer arrays
    std::vector<int64_t> shape;
    bool per_layer;
};

std::string LayerName(const std::string& pattern, int32_t layer) {
    std::string out = pattern;
    const size_t pos = out.find("{i}");
    if (pos != std::string::npos) out.replace(pos, 3, std::to_string(layer));
    return out;
}

int32_t ReadI32(std::span<const std::byte> file, size_t offset) {
    int32_t v = 0;
    std::memcpy(&v, file.data() + offset, 4);
    return v;
}

// The arrays in file order for a given header (freq_cis excluded: they are skipped, not exposed).
std::vector<ArraySpec> LayoutFor(const Llama2cHeader& h) {
    const int64_t dim = h.dim, hidden = h.hidden_dim, vocab = h.vocab_size;
    const int64_t kv_dim = static_cast<int64_t>(h.n_kv_heads) * h.head_size();
    const ArraySpec embed{"tok_embeddings.weight", {vocab, dim}, false};
    const ArraySpec rms_att{"layers.{i}.attention_norm.weight", {dim}, true};
    const ArraySpec rms_ffn{"layers.{i}.ffn_norm.weight", {dim}, true};
    const ArraySpec rms_final{"norm.weight", {dim}, false};
    const std::vector<ArraySpec> projections = {
        {"layers.{i}.attention.wq.weight", {dim, dim}, true},
        {"layers.{i}.attention.wk.weight", {kv_dim, dim}, true},
        {"layers.{i}.attention.wv.weight", {kv_dim, dim}, true},
        {"layers.{i}.attention.wo.weight", {dim, dim}, true},
    };
    const std::vector<ArraySpec> ffn = {
        {"layers.{i}.feed_forward.w1.weight", {hidden, dim}, true},
        {"layers.{i}.feed_forward.w2.weight", {dim, hidden}, true},
        {"layers.{i}.feed_forward.w3.weight", {hidden, dim}, true},
    };
    std::vector<ArraySpec> out;
    if (h.version == 0) {
        out.push_back(embed);
        out.push_back(rms_att);
        out.insert(out.end(), projections.begin(), projections.end());
        out.push_back(rms_ffn);
        out.insert(out.end(), ffn.begin(), ffn.end());
        out.push_back(rms_final);
    } else {
        out = {rms_att, rms_ffn, rms_final, embed};
        out.insert(out.end(), projections.begin(), projections.end());
        out.insert(out.end(), ffn.begin(), ffn.end());
    }
    return out;
}

// Bytes of the arrays, with overflow checks (sizes were bounded, so uint64 cannot overflow here).
uint64_t ArrayBytes(const ArraySpec& spec, int32_t n_layers) {
    uint64_t n = 1;
    for (int64_t d : spec.shape) n *= static_cast<uint64_t>(d);
    return n * 4 * (spec.per_layer ? static_cast<uint64_t>(n_layers) : 1);
}

Status CheckRange(std::string_view origin, const char* field, int32_t value, int32_t max) {
    if (value <= 0 || value > max) {
        return Status::Corruption(std::string(origin) + ": llama2.c header field " + field + " = " +
                                  std::to_string(value) + " is impossible (expected 1.." + std::to_string(max) +
                                  "); not a llama2.c checkpoint?");
    }
    return Status::Ok();
}

}  // namespace

Result<Llama2cHeader> ParseLlama2cHeader(std::span<const std::byte> file, std::string_view origin) {
    const std::string where(origin);
    Llama2cHeader h;
    size_t fields_at = 0;
    if (file.size() >= 8 && static_cast<uint32_t>(ReadI32(file, 0)) == kLlama2cMagic) {
        if (file.size() < kV1HeaderBytes) {
            return Status::Corruption(where + ": llama2.c v1 header needs 256 bytes, file has " +
                                      std::to_string(file.size()));
        }
        h.version = ReadI32(file, 4);
        if (h.version != 1) {
            return Status::Unsupported(where + ": llama2.c checkpoint version " + std::to_string(h.version) +
                                       " is not supported (TenPak reads the legacy format and version 1 (fp32); "
                                       "version 2 is int8-quantized)");
        }
        fields_at = 8;
        h.weights_offset = kV1HeaderBytes;
    } else {
        if (file.size() < 28) {
            return Status::Corruption(where + ": file is " + std::to_string(file.size()) +
                                      " bytes, too short for a llama2.c header (28 bytes)");
        }
        h.weights_offset = 28;
    }
    h.dim = ReadI32(file, fields_at + 0);
    h.hidden_dim = ReadI32(file, fields_at + 4);
    h.n_layers = ReadI32(file, fields_at + 8);
    h.n_heads = ReadI32(file, fields_at + 12);
    h.n_kv_heads = ReadI32(file, fields_at + 16);
    const int32_t signed_vocab = ReadI32(file, fields_at + 20);
    h.seq_len = ReadI32(file, fields_at + 24);
    if (h.version == 1) {
        h.vocab_size = signed_vocab;
        h.shared_classifier = static_cast<uint8_t>(file[fields_at + 28]) != 0;
    } else {
        h.shared_classifier = signed_vocab > 0;
        h.vocab_size = signed_vocab == INT32_MIN ? 0 : (signed_vocab < 0 ? -signed_vocab : signed_vocab);
    }
    TP_RETURN_IF_ERROR(CheckRange(origin, "dim", h.dim, kMaxDim));
    TP_RETURN_IF_ERROR(CheckRange(origin, "hidden_dim", h.hidden_dim, kMaxHidden));
    TP_RETURN_IF_ERROR(CheckRange(origin, "n_layers", h.n_layers, kMaxLayers));
    TP_RETURN_IF_ERROR(CheckRange(origin, "n_heads", h.n_heads, h.dim));
    TP_RETURN_IF_ERROR(CheckRange(origin, "n_kv_heads", h.n_kv_heads, h.n_heads));
    TP_RETURN_IF_ERROR(CheckRange(origin, "vocab_size", h.vocab_size, kMaxVocab));
    TP_RETURN_IF_ERROR(CheckRange(origin, "seq_len", h.seq_len, kMaxSeqLen));
    if (h.dim % h.n_heads != 0 || h.head_size() % 2 != 0) {
        return Status::Corruption(where + ": dim " + std::to_string(h.dim) +
                                  " is not an even head size times n_heads " + std::to_string(h.n_heads));
    }
    if (h.n_heads % h.n_kv_heads != 0) {
        return Status::Corruption(where + ": n_heads " + std::to_string(h.n_heads) +
                                  " is not a multiple of n_kv_heads " + std::to_string(h.n_kv_heads));
    }

    uint64_t weights = 0;
    for (const ArraySpec& spec : LayoutFor(h)) weights += ArrayBytes(spec, h.n_layers);
    const uint64_t classifier = h.shared_classifier ? 0 : static_cast<uint64_t>(h.vocab_size) * h.dim * 4;
    const uint64_t freq_cis = h.version == 0 ? static_cast<uint64_t>(h.seq_len) * h.head_size() * 4 : 0;
    const uint64_t without = h.weights_offset + weights + classifier;
    if (file.size() == without + freq_cis) {
        h.has_freq_cis = freq_cis > 0;
    } else if (h.version == 0 && file.size() == without) {
        h.has_freq_cis = false;
    } else {
        return Status::Corruption(where + ": file is " + std::to_string(file.size()) +
                                  " bytes but a llama2.c checkpoint with dim " + std::to_string(h.dim) +
                                  ", hidden_dim " + std::to_string(h.hidden_dim) + ", " + std::to_string(h.n_layers) +
                                  " layers and vocab " + std::to_string(h.vocab_size) +
                                  (h.shared_classifier ? " (shared classifier)" : " (separate classifier)") +
                                  " takes " + std::to_string(without + freq_cis) +
                                  (h.version == 0 ? " (or " + std::to_string(without) + " without freq_cis)" : "") +
                                  ": truncated or not a llama2.c file");
    }
    return h;
}

Result<std::unique_ptr<Llama2cReader>> Llama2cReader::Open(const std::string& path) {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
    TP_ASSIGN_OR_RETURN(Llama2cHeader header, ParseLlama2cHeader(file->bytes(), path));
    std::unique_ptr<Llama2cReader> reader(new Llama2cReader());
    reader->file_ = std::move(file);
    reader->header_ = header;

    uint64_t offset = header.weights_offset;
    auto add = [&](const std::string& name, const std::vector<int64_t>& shape) {
        TensorInfo info;
        info.name = name;
        info.dtype = DType::kF32;
        info.shape = shape;
        info.nbytes = info.NumElements() * 4;
        reader->tensors_.push_back(std::move(info));
        reader->offsets_.push_back(offset);
        offset += reader->tensors_.back().nbytes;
    };
    for (const ArraySpec& spec : LayoutFor(header)) {
        if (!spec.per_layer) {
            add(spec.name_pattern, spec.shape);
        } else {
            for (int32_t layer = 0; layer < header.n_layers; ++layer)
                add(LayerName(spec.name_pattern, layer), spec.shape);
        }
    }
    if (header.has_freq_cis) offset += static_cast<uint64_t>(header.seq_len) * header.head_size() * 4;
    if (!header.shared_classifier) add("output.weight", {header.vocab_size, header.dim});
    TP_CHECK(offset == reader->file_->size());
    return reader;
}

void Llama2cReader::Release(const TensorInfo& info) const {
    for (size_t i = 0; i < tensors_.size(); ++i) {
        if (tensors_[i].name == info.name) file_->Release(offsets_[i], tensors_[i].nbytes);
    }
}

Result<TensorData> Llama2cReader::Read(const TensorInfo& info) const {
    for (size_t i = 0; i < tensors_.size(); ++i) {
        if (tensors_[i].name == info.name) {
            return TensorData::View(file_->bytes().subspan(offsets_[i], tensors_[i].nbytes), file_);
        }
    }
    return Status::NotFound(origin() + ": no tensor named '" + info.name + "'");
}

}  // namespace tenpak::io
