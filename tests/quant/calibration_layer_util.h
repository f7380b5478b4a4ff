// A generated linear layer with the statistics that make calibration matter (the test
// layer, scaled down): weights with a few outlier input columns, activations with a few large
// channels, heavy (Student-t) tails and correlated channels, and separate calibration and held-out
// token sets drawn from the same distribution. GPTQ's and AWQ's quality tests measure on the held-out set, because with
// fewer tokens than inputs the Hessian is rank-deficient and the error on the calibration tokens
// flatters GPTQ.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tenpak::quant::testing {

struct CalibrationLayer {
    int64_t rows = 0;  // out
    int64_t cols = 0;  // in
    std::vector<float> w;        // [rows, cols]
    std::vector<float> calib;    // [calib_tokens, cols]
    std::vector<float> held_out; // [held_out_tokens, cols]
    int64_t calib_tokens = 0;
    int64_t held_out_tokens = 0;
};

// Activations: x = scale ⊙ (z M + 0.3 e): a Student-t (3 degrees of freedom) latent z of cols / 16
// factors mixed into every channel by a Gaussian M, plus independent Student-t noise e; every
// channel has its own scale (log-normal around 1), and 1 channel in 64 is 20x larger. The latent
// factors make the channels correlated, as a transformer's hidden states are (they live near a
// subspace of much lower dimension than the hidden size); with independent channels the Hessian
// is diagonal and there is nothing for GPTQ to compensate with (measured: GPTQ then matches RTN on
// held-out tokens and beats it only on the calibration tokens it overfits). Weights: Gaussian,
// std 0.02, with 1 in 128 input columns 8x larger.
inline CalibrationLayer MakeCalibrationLayer(int64_t rows, int64_t cols, int64_t calib_tokens,
                                             int64_t held_out_tokens, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::student_t_distribution<float> heavy(3.0f);
    CalibrationLayer layer;
    layer.rows = rows;
    layer.cols = cols;
    layer.calib_tokens = calib_tokens;
    layer.held_out_tokens = held_out_tokens;

    std::vector<float> channel_scale(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) {
        channel_scale[c] = std::exp(0.5f * normal(rng));
        if (c % 64 == 17) channel_scale[c] *= 20.0f;
    }
    layer.w.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const float outlier = c % 128 == 45 ? 8.0f : 1.0f;
            layer.w[r * cols + c] = 0.02f * outlier * normal(rng);
        }
    }
    const int64_t factors = std::max<int64_t>(1, cols / 16);
    std::vector<float> mixing(static_cast<size_t>(factors * cols));
    for (float& m : mixing) m = normal(rng) / std::sqrt(static_cast<float>(factors));
    auto tokens = [&](int64_t n) {
        std::vector<float> x(static_cast<size_t>(n * cols));
        std::vector<float> z(static_cast<size_t>(factors));
        for (int64_t t = 0; t < n; ++t) {
            for (float& v : z) v = heavy(rng);
            for (int64_t c = 0; c < cols; ++c) {
                float mixed = 0.0f;
                for (int64_t f = 0; f < factors; ++f) mixed += z[f] * mixing[f * cols + c];
                x[t * cols + c] = channel_scale[c] * (mixed + 0.3f * heavy(rng));
            }
        }
        return x;
    };
    layer.calib = tokens(calib_tokens);
    layer.held_out = tokens(held_out_tokens);
    return layer;
}

// ||W X^T - W_hat X^T||^2 / ||W X^T||^2 over the tokens of x ([tokens, cols]), in double.
inline double RelativeOutputError(std::span<const float> w, std::span<const float> w_hat, int64_t rows,
                                  int64_t cols, std::span<const float> x, int64_t tokens) {
    double err = 0.0;
    double ref = 0.0;
    for (int64_t t = 0; t < tokens; ++t) {
        const float* xt = x.data() + t * cols;
        for (int64_t r = 0; r < rows; ++r) {
            const float* wr = w.data() + r * cols;
            const float* hr = w_hat.data() + r * cols;
            double y = 0.0;
            double y_hat = 0.0;
            for (int64_t c = 0; c < cols; ++c) {
                y += static_cast<double>(wr[c]) * xt[c];
                y_hat += static_cast<double>(hr[c]) * xt[c];
            }
            err += (y - y_hat) * (y - y_hat);
            ref += y * y;
        }
    }
    return ref == 0.0 ? 0.0 : err / ref;
}

}  // namespace tenpak::quant::testing
