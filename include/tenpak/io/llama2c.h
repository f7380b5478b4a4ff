// llama2.c checkpoints (karpathy/llama2.c): a small header and raw F32 arrays, no names.
//
// Legacy ("version 0", run.c's format): 7 x i32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len}, vocab_size negative when the classifier is separate; then token
// embeddings, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3 (each for all layers), rms_final,
// then freq_cis_real and freq_cis_imag (seq_len x head_size/2 each, unused; some exports omit
// them), then wcls when not shared.
// Version 1 (export.py `version1_export`): u32 magic "ak42", i32 version 1, the same 7 x i32,
// u8 shared_classifier, zero padding to 256 bytes; then all norms first (rms_att, rms_ffn,
// rms_final), token embeddings, wq, wk, wv, wo, w1, w2, w3, and wcls when not shared.
// The layout is told apart by the magic, then by the exact file size.
//
// Tensors are exposed under Meta's llama names ("layers.0.attention.wq.weight", shape
// [out, in]); the rotary layout of wq/wk is Meta's (adjacent pairs), which model/ converts.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/io/mapped_file.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::io {

constexpr uint32_t kLlama2cMagic = 0x616b3432;  // "ak42" as written by export.py

struct Llama2cHeader {
    int32_t dim = 0;
    int32_t hidden_dim = 0;
    int32_t n_layers = 0;
    int32_t n_heads = 0;
    int32_t n_kv_heads = 0;
    int32_t vocab_size = 0;  // always positive here; `shared_classifier` says how it was signed
    int32_t seq_len = 0;
    bool shared_classifier = true;
    int32_t version = 0;        // 0 legacy, 1 "ak42" v1
    bool has_freq_cis = false;  // legacy files with the unused RoPE tables
    uint64_t weights_offset = 0;

    int32_t head_size() const { return dim / n_heads; }
};

// Validates the header against the file size: positive sizes within sane limits, heads that
// divide dim, and a total that matches one known layout exactly.
Result<Llama2cHeader> ParseLlama2cHeader(std::span<const std::byte> file, std::string_view origin);

class Llama2cReader final : public TensorSource {
public:
    static Result<std::unique_ptr<Llama2cReader>> Open(const std::string& path);

    const std::vector<TensorInfo>& tensors() const override { return tensors_; }
    using TensorSource::Read;
    Result<TensorData> Read(const TensorInfo& info) const override;
    std::string origin() const override { return file_->path(); }
    void Release(const TensorInfo& info) const override;
    const Llama2cHeader& header() const { return header_; }
    // Absolute file offset of each tensor's data, in tensors() order.
    const std::vector<uint64_t>& offsets() const { return offsets_; }

private:
    Llama2cReader() = default;

    std::shared_ptr<const MappedFile> file_;
    Llama2cHeader header_;
    std::vector<TensorInfo> tensors_;
    std::vector<uint64_t> offsets_;  // absolute, same order as tensors_
};

}  // namespace tenpak::io
