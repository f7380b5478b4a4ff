#include "cli/output.h"

#include <cstdio>

namespace tenpak::cli {

std::string WithThousands(uint64_t value) {
    std::string digits = std::to_string(value);
    std::string out;
    const size_t n = digits.size();
    for (size_t i = 0; i < n; ++i) {
        out += digits[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n) out += ',';
    }
    return out;
}

void PrintField(const std::string& key, const std::string& value) {
    std::printf("%-12s %s\n", key.c_str(), value.c_str());
}

void PrintJson(const nlohmann::ordered_json& json) {
    std::printf("%s\n", json.dump(2).c_str());
}

}  // namespace tenpak::cli
