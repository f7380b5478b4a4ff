#include "approx_encoder.h"

#include "approx_encoders_internal.h"

namespace tenpak::delta {

const std::vector<std::unique_ptr<ApproxEncoder>>& ApproxEncoders() {
    static const std::vector<std::unique_ptr<ApproxEncoder>> encoders = [] {
        std::vector<std::unique_ptr<ApproxEncoder>> all;
        all.push_back(MakeSignEncoder());
        all.push_back(MakeLowRankEncoder());
        all.push_back(MakeQuantizedEncoder(4));
        all.push_back(MakeQuantizedEncoder(8));
        all.push_back(MakeSparseEncoder());
        return all;
    }();
    return encoders;
}

const ApproxEncoder* FindApproxEncoder(std::string_view name) {
    for (const std::unique_ptr<ApproxEncoder>& encoder : ApproxEncoders()) {
        if (encoder->name() == name) return encoder.get();
    }
    return nullptr;
}

double SquaredDistance(std::span<const float> a, std::span<const float> b) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        sum += d * d;
    }
    return sum;
}

double SquaredNorm(std::span<const float> a) {
    double sum = 0;
    for (float v : a) sum += static_cast<double>(v) * static_cast<double>(v);
    return sum;
}

}  // namespace tenpak::delta
