#include <algorithm>
#include <cmath>
#include <numeric>

#include "approx_encoders_internal.h"

namespace tenpak::delta {
namespace {

constexpr uint64_t kBytesPerEntry = sizeof(uint32_t) + sizeof(float);

class SparseEncoder final : public ApproxEncoder {
public:
    std::string_view name() const override { return "sparse"; }

    std::optional<Approximation> Encode(std::span<const float> d, int64_t rows, int64_t cols,
                                        double max_error) const override {
        if (d.size() > UINT32_MAX) return std::nullopt;
        // Largest magnitudes first, as many as the error needs and no more than would pay.
        const size_t limit = static_cast<size_t>(WorthwhileBytes(rows, cols) / kBytesPerEntry);
        std::vector<uint32_t> order(d.size());
        std::iota(order.begin(), order.end(), 0u);
        const auto larger = [&](uint32_t a, uint32_t b) {
            return std::fabs(d[a]) > std::fabs(d[b]) || (std::fabs(d[a]) == std::fabs(d[b]) && a < b);
        };
        const size_t candidates = std::min(limit + 1, order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(candidates), order.end(), larger);
        double left = SquaredNorm(d);  // the error when the first `count` entries are kept
        size_t count = 0;
        const double allowed = max_error * max_error;
        while (left > allowed && count < candidates) {
            left -= static_cast<double>(d[order[count]]) * static_cast<double>(d[order[count]]);
            ++count;
        }
        if (left > allowed || count > limit) return std::nullopt;
        std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
        std::vector<uint32_t> gaps(count);
        std::vector<float> values(count);
        for (size_t i = 0; i < count; ++i) {
            gaps[i] = order[i] - (i == 0 ? 0 : order[i - 1]);
            values[i] = d[order[i]];
        }
        ByteWriter out;
        out.Put<uint32_t>(gaps);
        out.Put<float>(values);
        return Approximation{"sparse", {{"count", count}}, out.Take()};
    }

    Status Decode(const nlohmann::json& params, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                  std::span<float> out) const override {
        const auto bad = [&](const std::string& what) {
            return Status::Corruption("sparse delta of " + std::to_string(rows) + " x " + std::to_string(cols) + ": " +
                                      what);
        };
        if (!params.contains("count") || !params["count"].is_number_integer() || params["count"].get<int64_t>() < 0) return bad("no 'count'");
        const uint64_t count = params["count"].get<uint64_t>();
        if (count > out.size() || bytes.size() != count * kBytesPerEntry) return bad("'count' does not fit the bytes");
        std::vector<uint32_t> gaps(count);
        std::vector<float> values(count);
        ByteReader in(bytes);
        in.Get<uint32_t>(gaps);
        in.Get<float>(values);
        std::fill(out.begin(), out.end(), 0.0f);
        uint64_t at = 0;
        for (size_t i = 0; i < count; ++i) {
            at += gaps[i];
            if (at >= out.size() || (i > 0 && gaps[i] == 0)) return bad("an index is out of order or past the end");
            out[at] = values[i];
        }
        return Status::Ok();
    }
};

}  // namespace

std::unique_ptr<ApproxEncoder> MakeSparseEncoder() {
    return std::make_unique<SparseEncoder>();
}

}  // namespace tenpak::delta
