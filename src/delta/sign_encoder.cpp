#include <cmath>

#include "approx_encoders_internal.h"

namespace tenpak::delta {
namespace {

class SignEncoder final : public ApproxEncoder {
public:
    std::string_view name() const override { return "sign"; }

    std::optional<Approximation> Encode(std::span<const float> d, int64_t rows, int64_t cols,
                                        double max_error) const override {
        std::vector<float> scales(static_cast<size_t>(rows));
        std::vector<uint8_t> bits((d.size() + 7) / 8);
        for (int64_t r = 0; r < rows; ++r) {
            double sum = 0;
            for (int64_t c = 0; c < cols; ++c) sum += std::fabs(d[static_cast<size_t>(r * cols + c)]);
            scales[static_cast<size_t>(r)] = static_cast<float>(sum / static_cast<double>(cols));
        }
        for (size_t i = 0; i < d.size(); ++i) {
            if (d[i] >= 0) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
        }
        ByteWriter out;
        out.Put<uint8_t>(bits);
        out.Put<float>(scales);
        Approximation a{"sign", nlohmann::json::object(), out.Take()};
        std::vector<float> decoded(d.size());
        if (!Decode(a.params, a.bytes, rows, cols, decoded).ok()) return std::nullopt;
        if (SquaredDistance(d, decoded) > max_error * max_error) return std::nullopt;
        return a;
    }

    Status Decode(const nlohmann::json& params, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                  std::span<float> out) const override {
        (void)params;
        std::vector<uint8_t> bits((out.size() + 7) / 8);
        std::vector<float> scales(static_cast<size_t>(rows));
        ByteReader in(bytes);
        if (!in.Get<uint8_t>(bits) || !in.Get<float>(scales) || !in.AtEnd()) {
            return Status::Corruption("sign delta: " + std::to_string(bytes.size()) + " bytes do not fit " +
                                      std::to_string(rows) + " x " + std::to_string(cols));
        }
        for (size_t i = 0; i < out.size(); ++i) {
            const float scale = scales[i / static_cast<size_t>(cols)];
            out[i] = (bits[i / 8] >> (i % 8) & 1u) != 0 ? scale : -scale;
        }
        return Status::Ok();
    }
};

}  // namespace

std::unique_ptr<ApproxEncoder> MakeSignEncoder() {
    return std::make_unique<SignEncoder>();
}

}  // namespace tenpak::delta
