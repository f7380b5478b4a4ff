// Printing helpers for subcommands: aligned key/value lines and numbers people can read.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace tenpak::cli {

// 260032 -> "260,032"
std::string WithThousands(uint64_t value);
// "  key        value" lines, keys padded to a fixed width.
void PrintField(const std::string& key, const std::string& value);
// Pretty JSON on stdout, with a trailing newline.
void PrintJson(const nlohmann::ordered_json& json);

}  // namespace tenpak::cli
