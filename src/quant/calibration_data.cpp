#include "quant/calibration_data.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tenpak/core/utf8.h"

#ifndef TENPAK_DEFAULT_CALIB_TEXT
#define TENPAK_DEFAULT_CALIB_TEXT ""
#endif

namespace tenpak::quant {

std::string DefaultCalibrationText() {
    if (const char* env = std::getenv("TENPAK_CALIB_TEXT"); env != nullptr && *env != '\0') return env;
    return TENPAK_DEFAULT_CALIB_TEXT;
}

namespace internal {
namespace {

bool LooksLikeJsonl(const std::string& path, const std::string& content) {
    if (path.ends_with(".jsonl")) return true;
    const size_t first = content.find_first_not_of(" \t\r\n");
    return first != std::string::npos && content[first] == '{';
}

// 1-based line of byte `offset`.
int64_t LineOf(const std::string& content, size_t offset) {
    return 1 + std::count(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
}

Result<std::string> JsonlText(const std::string& path, const std::string& content) {
    std::string text;
    std::istringstream lines(content);
    std::string line;
    int64_t number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        const std::string where = path + " line " + std::to_string(number);
        if (!row.is_object()) return Status::InvalidArgument(where + " is not a JSON object");
        const auto field = row.find("text");
        if (field == row.end() || !field->is_string()) {
            return Status::InvalidArgument(where + " has no string \"text\" field");
        }
        if (!text.empty()) text += "\n\n";
        text += field->get<std::string>();
    }
    return text;
}

}  // namespace

Status CheckCalibration(const CalibrationOptions& options) {
    if (options.samples < 1) {
        return Status::InvalidArgument("--calib-samples must be at least 1, not " + std::to_string(options.samples));
    }
    if (options.seqlen < 1) {
        return Status::InvalidArgument("--calib-seqlen must be at least 1, not " + std::to_string(options.seqlen));
    }
    return Status::Ok();
}

Result<std::string> ReadCalibrationText(const std::string& path) {
    if (path.empty()) {
        return Status::NotFound("no calibration text: pass --calib FILE (the bundled default was not found; set "
                                "TENPAK_CALIB_TEXT)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound("cannot open calibration text " + path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    std::string content = std::move(buffer).str();
    if (!IsValidUtf8(content)) {
        // Find the first line that is not UTF-8, to name it.
        size_t start = 0;
        while (start < content.size()) {
            size_t end = content.find('\n', start);
            if (end == std::string::npos) end = content.size();
            if (!IsValidUtf8(std::string_view(content).substr(start, end - start))) {
                return Status::InvalidArgument(path + " line " + std::to_string(LineOf(content, start)) +
                                               " is not UTF-8 text");
            }
            start = end + 1;
        }
    }
    if (LooksLikeJsonl(path, content)) return JsonlText(path, content);
    return content;
}

Result<std::vector<int32_t>> CalibrationWindows(const std::string& text, const tokenizer::Tokenizer& tokenizer,
                                                const CalibrationOptions& options, const std::string& origin) {
    TP_RETURN_IF_ERROR(CheckCalibration(options));
    const std::vector<int32_t> tokens = tokenizer.Encode(text, /*add_bos=*/false);
    const auto n = static_cast<int64_t>(tokens.size());
    const int64_t slots = n / options.seqlen;
    if (slots < options.samples) {
        return Status::InvalidArgument(
            "calibration text " + origin + " has " + std::to_string(n) + " tokens; " +
            std::to_string(options.samples) + " samples of " + std::to_string(options.seqlen) + " tokens need " +
            std::to_string(options.samples * options.seqlen) +
            ": give a longer --calib text or fewer --calib-samples / a shorter --calib-seqlen");
    }
    // Distinct windows: a random subset of the text's seqlen-long slots, shifted together by a
    // random offset into the slack at the end, then taken in text order.
    std::mt19937_64 rng(options.seed);
    std::vector<int64_t> order(static_cast<size_t>(slots));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(static_cast<size_t>(options.samples));
    std::sort(order.begin(), order.end());
    const int64_t slack = n - slots * options.seqlen;
    const int64_t offset = slack == 0 ? 0 : static_cast<int64_t>(rng() % static_cast<uint64_t>(slack + 1));
    std::vector<int32_t> out;
    out.reserve(static_cast<size_t>(options.samples * options.seqlen));
    for (int64_t slot : order) {
        const auto first = tokens.begin() + offset + slot * options.seqlen;
        out.insert(out.end(), first, first + options.seqlen);
    }
    return out;
}

}  // namespace internal
}  // namespace tenpak::quant
