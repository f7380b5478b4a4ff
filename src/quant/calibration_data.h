// Calibration inputs for GPTQ and AWQ: a text (plain, or JSONL with a "text" field), tokenized
// with the model's tokenizer, cut into random windows of `seqlen` tokens (GPTQ's reference takes
// random slices of the tokenized text the same way).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/quant/quantize_model.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::quant::internal {

// Sizes and counts alone (before any file is read).
Status CheckCalibration(const CalibrationOptions& options);

// The text of a calibration file. A file whose name ends in .jsonl (or whose first non-blank
// character is '{') is JSON Lines: the "text" fields of its lines, joined by blank lines. Errors
// name the file and line: bytes that are not UTF-8, a line that is not a JSON object, or has no
// string "text" field.
Result<std::string> ReadCalibrationText(const std::string& path);

// samples * seqlen tokens: `samples` distinct windows of the tokenized text, chosen at random
// (seeded) and in text order. A text with fewer than samples * seqlen tokens is an error that
// gives both numbers.
Result<std::vector<int32_t>> CalibrationWindows(const std::string& text, const tokenizer::Tokenizer& tokenizer,
                                                const CalibrationOptions& options, const std::string& origin);

}  // namespace tenpak::quant::internal
