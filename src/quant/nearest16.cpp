#include "quant/nearest16.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "quant/group_math.h"
#include "tenpak/core/check.h"
#include "tenpak/core/cpu_features.h"

namespace tenpak::quant {
namespace {

constexpr int kBuckets = 32;  // over [-1, 1]: 1/16 wide
// How far past its nominal ends a bucket is taken to reach: the bucket of x is computed as
// trunc((x + 1) * 16), whose rounding moves an end by about 1e-7.
constexpr float kBucketMargin = 1e-3f;

}  // namespace

Nearest16Table::Nearest16Table(const std::array<float, 16>& sorted_values) {
    for (size_t i = 0; i + 1 < sorted_values.size(); ++i) {
        TP_CHECK(sorted_values[i] < sorted_values[i + 1]);
        mid[i] = (sorted_values[i] + sorted_values[i + 1]) / 2.0f;
    }
    constexpr float kInf = std::numeric_limits<float>::infinity();
    buckets_exact = true;
    for (int b = 0; b < kBuckets; ++b) {
        const float width = 2.0f / kBuckets;
        // The first and last buckets also take every x clamped into them.
        const float low = b == 0 ? -kInf : -1.0f + static_cast<float>(b) * width - kBucketMargin;
        const float high = b == kBuckets - 1 ? kInf : -1.0f + static_cast<float>(b + 1) * width + kBucketMargin;
        int below = 0;
        int inside = 0;
        bucket_threshold[b] = kInf;  // x > +Inf never holds: no midpoint to compare against
        for (int i = 0; i < 15; ++i) {
            if (mid[i] < low) {
                ++below;
            } else if (mid[i] <= high) {
                ++inside;
                bucket_threshold[b] = mid[i];
            }
        }
        bucket_base[b] = below;
        if (inside > 1) buckets_exact = false;
    }
}

TP_QUANT_MULTIVERSION
void EncodeNearestOf16Scalar(const float* x, size_t n, float inv, const Nearest16Table& table, uint8_t* codes) {
    float mid[15];  // a copy the output cannot alias, so that the loop vectorises
    std::copy(std::begin(table.mid), std::end(table.mid), mid);
    for (size_t i = 0; i < n; ++i) {
        codes[i] = static_cast<uint8_t>(static_cast<int32_t>(NearestOf16(mid, x[i] * inv)));
    }
}

void EncodeNearestOf16(const float* x, size_t n, float inv, const Nearest16Table& table, uint8_t* codes) {
    using Encoder = void (*)(const float*, size_t, float, const Nearest16Table&, uint8_t*);
    static const Encoder encode =
        SelectedIsa() == Isa::kAvx512 ? &EncodeNearestOf16Avx512 : &EncodeNearestOf16Scalar;
    encode(x, n, inv, table, codes);
}

}  // namespace tenpak::quant
