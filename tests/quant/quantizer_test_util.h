// Helpers for the quantizer tests: weight matrices with the shapes of trouble, and short ways to
// quantize and dequantize them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "tenpak/core/thread_pool.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/quantized_tensor.h"

namespace tenpak::quant::testing {

// Gaussian weights (std 0.02, as in a trained LLM) with a few large outliers, plus some rows that
// stress the parameter fits: all zeros, all positive, all negative, a single non-zero value.
inline std::vector<float> TroubleMatrix(int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& v : w) v = normal(rng);
    for (int64_t r = 0; r < rows; ++r) {
        float* row = w.data() + r * cols;
        switch (r % 11) {
            case 3:
                for (int64_t c = 0; c < cols; ++c) row[c] = 0.0f;
                break;
            case 5:
                for (int64_t c = 0; c < cols; ++c) row[c] = uniform(rng);
                break;
            case 7:
                for (int64_t c = 0; c < cols; ++c) row[c] = -uniform(rng) * 3.0f;
                break;
            case 9:
                for (int64_t c = 0; c < cols; ++c) row[c] = 0.0f;
                row[cols / 2] = -0.5f;
                break;
            default:
                if (uniform(rng) < 0.3f) row[static_cast<int64_t>(uniform(rng) * static_cast<float>(cols - 1))] = 1.5f;
                break;
        }
    }
    return w;
}

inline quantformat::QuantizedTensor QuantizeOrDie(const QuantOptions& options, std::span<const float> w, int64_t rows,
                                                  int64_t cols, size_t threads = 1) {
    Result<std::unique_ptr<Quantizer>> quantizer = MakeQuantizer(options);
    EXPECT_TRUE(quantizer.ok()) << quantizer.status().ToString();
    if (!quantizer.ok()) return {};
    ThreadPool pool(threads);
    Result<quantformat::QuantizedTensor> q = (*quantizer)->Quantize(w, rows, cols, pool);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    if (!q.ok()) return {};
    const Status valid = quantformat::Validate(*q);
    EXPECT_TRUE(valid.ok()) << valid.ToString();
    return std::move(q).value();
}

inline std::vector<float> DequantizeAll(const quantformat::QuantizedTensor& q) {
    std::vector<float> out(q.codes.size());
    quantformat::Dequantize(q, out);
    return out;
}

inline QuantOptions Options(Method method, int bits = 4, int64_t group_size = 128, bool symmetric = true,
                            bool double_quant = false) {
    QuantOptions o = DefaultOptions(method);
    o.bits = bits;
    o.group_size = group_size;
    o.symmetric = symmetric;
    o.double_quant = double_quant;
    return o;
}

}  // namespace tenpak::quant::testing
