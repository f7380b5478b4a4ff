// `tenpak quantize` as a library call: a model in, a folder (GPTQ, AWQ, bitsandbytes) or a GGUF file
// out, written one tensor at a time (peak memory about one layer) and atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/dtype.h"
#include "tenpak/core/result.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/model/model.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quant {

enum class OutputFormat : uint8_t {
    kGptq = 0,
    kAwq = 1,
    kBnb = 2,
    kGguf = 3,
    kHf = 4,  // plain float weights (the fp16 preset)
};
std::string_view OutputFormatName(OutputFormat format);  // "gptq", "awq", "bnb", "gguf", "hf"
Result<OutputFormat> ParseOutputFormat(std::string_view text);

// Where the calibrated methods (gptq, awq) get their inputs: random windows of a tokenized text.
struct CalibrationOptions {
    std::string text_path;  // plain text, or JSONL with a "text" field; empty: DefaultCalibrationText()
    int64_t samples = 128;  // windows
    int64_t seqlen = 512;   // tokens per window
    uint64_t seed = 0;
};

// The bundled calibration text (models/text/tinystories_train_head.txt): TENPAK_CALIB_TEXT if set,
// else beside the executable's tree, else in the source tree TenPak was built from.
std::string DefaultCalibrationText();

struct QuantizeRequest {
    QuantOptions options;
    CalibrationOptions calibration;  // gptq, awq
    OutputFormat format = OutputFormat::kGptq;
    // GGUF: the block type of the weights (Q8_0, Q4_0, Q4_1) or F16. Unset: from options (rtn 8-bit
    // g32 sym -> Q8_0, 4-bit g32 sym -> Q4_0, 4-bit g32 asym -> Q4_1).
    std::optional<DType> gguf_type;
    int threads = 0;  // 0: all cores
    uint64_t max_shard_bytes = io::kDefaultMaxShardBytes;
    bool overwrite = false;
    bool progress = true;
};

// A named preset: gptq_quality (GPTQ 4-bit g128 act-order), gptq_aggressive (GPTQ 3-bit g128),
// awq_balanced (AWQ 4-bit g128), awq_fast (AWQ 4-bit g64), bnb_nf4 (NF4 + double quant), bnb_fp4,
// bnb_int8, fp16.
Result<QuantizeRequest> PresetRequest(std::string_view preset);
std::vector<std::string> PresetNames();

// Presets choose GPTQ / AWQ group sizes for 7B-class layers (128 inputs per group). When no linear
// layer of `config` has an input size that the group size divides (a small model's are 64 wide),
// lowers it to the largest of 64 and 32 that divides one, and returns a note saying so; otherwise
// (or when neither fits, which QuantizeModel then reports per layer) leaves it and returns nothing.
// `tenpak quantize --preset` and `tenpak optimize` both apply it; an explicit --group-size is kept.
std::optional<std::string> FitPresetGroupSize(QuantizeRequest& request, const model::ModelConfig& config);

// Checks the request against the model before any work starts: the method's options, the format's
// combinations (AWQ is 4-bit only, bitsandbytes has no group size, GGUF types and their blocks ...).
// Layers a format cannot hold are not errors: they stay F16 and are listed in the report.
Status CheckRequest(const QuantizeRequest& request);

struct KeptLayer {
    std::string name;
    std::string reason;
};

struct QuantizeReport {
    std::string output;
    std::string format;         // "gptq", "awq", "bnb", "gguf Q4_0" ...
    std::string method;         // "rtn", "nf4" ...
    uint64_t bytes_before = 0;  // tensor bytes of the input as stored
    uint64_t bytes_after = 0;   // tensor bytes written
    double seconds = 0;
    int64_t quantized_layers = 0;
    std::vector<KeptLayer> kept;  // linear layers left in F16 (or another float type), with why
    std::vector<std::string> files;
    std::vector<std::string> notes;
    // Calibrated methods: the calibration actually used, and seconds per transformer block.
    int64_t calibration_tokens = 0;
    std::vector<double> layer_seconds;
    std::vector<std::string> warnings;  // e.g. GPTQ's extra dampening, naming the layer
    double compression() const { return bytes_after == 0 ? 0.0 : static_cast<double>(bytes_before) / bytes_after; }
};

Result<QuantizeReport> QuantizeModel(const model::Model& model, const QuantizeRequest& request,
                                     const std::string& output);

}  // namespace tenpak::quant
