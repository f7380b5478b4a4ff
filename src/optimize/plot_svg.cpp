// The report's plot, drawn as plain SVG (no plotting library in Debian's C++ stack fits a single chart):
// perplexity change (up) against cost per 1M output tokens (across, log scale).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tenpak/optimize/report.h"

namespace tenpak::optimize {
namespace {

constexpr double kWidth = 760, kHeight = 480;
constexpr double kLeft = 80, kRight = 190, kTop = 40, kBottom = 60;  // margins; the legend sits on the right

std::string Num(double v) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f", v);
    return text;
}

std::string Label(double v) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.3g", v);
    return text;
}

std::string Escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

std::string QualityCostSvg(const OptimizeResult& result) {
    std::vector<const Entry*> shown;
    for (const CandidateResult& c : result.candidates) {
        if (!c.error.empty()) continue;
        if (const Entry* e = RepresentativeEntry(result, c.preset)) shown.push_back(e);
    }
    double cost_min = std::numeric_limits<double>::infinity(), cost_max = 0;
    double delta_min = 0, delta_max = 0;
    for (const Entry* e : shown) {
        cost_min = std::min(cost_min, e->cost_per_1m_tokens);
        cost_max = std::max(cost_max, e->cost_per_1m_tokens);
        delta_min = std::min(delta_min, e->ppl_delta_pct);
        delta_max = std::max(delta_max, e->ppl_delta_pct);
    }
    const std::optional<double> limit = result.request.constraints.max_ppl_delta_pct;
    if (limit) delta_max = std::max(delta_max, *limit);
    if (shown.empty() || !(cost_min > 0)) cost_min = 0.01, cost_max = 1;
    // Log axis padded by a tenth of the span each side (at least 0.02 decades, so close costs stay apart).
    const double span = std::log10(std::max(cost_max, cost_min)) - std::log10(cost_min);
    const double log_pad = std::max(0.02, span * 0.1);
    const double lx0 = std::log10(cost_min) - log_pad, lx1 = std::log10(std::max(cost_max, cost_min)) + log_pad;
    const double pad = std::max(0.1, (delta_max - delta_min) * 0.1);
    const double y0 = delta_min - pad, y1 = delta_max + pad;
    const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
    auto px = [&](double cost) { return kLeft + (std::log10(cost) - lx0) / (lx1 - lx0) * plot_w; };
    auto py = [&](double delta) { return kTop + (y1 - delta) / (y1 - y0) * plot_h; };

    std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(kWidth) + "\" height=\"" + Num(kHeight) +
                      "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += "<text x=\"" + Num(kLeft) + "\" y=\"24\" font-size=\"15\">Perplexity change against cost: " +
           Escape(result.model) + "</text>\n";
    // Axes and ticks.
    svg += "<rect x=\"" + Num(kLeft) + "\" y=\"" + Num(kTop) + "\" width=\"" + Num(plot_w) + "\" height=\"" + Num(plot_h) +
           "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (int i = 0; i <= 4; ++i) {
        const double cost = std::pow(10.0, lx0 + (lx1 - lx0) * i / 4);
        const double x = px(cost);
        svg += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(kTop) + "\" x2=\"" + Num(x) + "\" y2=\"" + Num(kTop + plot_h) +
               "\" stroke=\"#ddd\"/>\n<text x=\"" + Num(x) + "\" y=\"" + Num(kTop + plot_h + 16) +
               "\" text-anchor=\"middle\">$" + Label(cost) + "</text>\n";
    }
    for (int i = 0; i <= 4; ++i) {
        const double v = y0 + (y1 - y0) * i / 4;
        svg += "<text x=\"" + Num(kLeft - 6) + "\" y=\"" + Num(py(v) + 4) + "\" text-anchor=\"end\">" + Label(v) +
               "%</text>\n";
    }
    svg += "<text x=\"" + Num(kLeft + plot_w / 2) + "\" y=\"" + Num(kHeight - 16) +
           "\" text-anchor=\"middle\">cost per 1M output tokens (USD, log scale)</text>\n";
    svg += "<text transform=\"translate(18," + Num(kTop + plot_h / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">perplexity change (%)</text>\n";
    // The quality constraint.
    if (limit) {
        svg += "<line x1=\"" + Num(kLeft) + "\" y1=\"" + Num(py(*limit)) + "\" x2=\"" + Num(kLeft + plot_w) + "\" y2=\"" +
               Num(py(*limit)) + "\" stroke=\"#c33\" stroke-dasharray=\"6,4\"/>\n<text x=\"" + Num(kLeft + plot_w - 4) +
               "\" y=\"" + Num(py(*limit) - 5) + "\" text-anchor=\"end\" fill=\"#c33\">max-ppl-delta " + Label(*limit) +
               "%</text>\n";
    }
    // Points: green meets everything, grey misses something; the winner ringed. Candidates that land on
    // the same spot (two presets giving one checkpoint) share one label.
    std::vector<std::pair<std::string, std::string>> labels;  // "x,y" -> names
    for (const Entry* e : shown) {
        const double x = px(e->cost_per_1m_tokens), y = py(e->ppl_delta_pct);
        svg += "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"5\" fill=\"" + (e->feasible ? "#2a2" : "#999") +
               "\"><title>" + Escape(e->preset + " on " + std::to_string(e->gpu_count) + " x " + e->hardware) +
               "</title></circle>\n";
        if (e->winner) {
            svg += "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"10\" fill=\"none\" stroke=\"#c60\" stroke-width=\"2\"/>\n";
        }
        const std::string spot = Num(x) + "," + Num(y);
        const std::string name = e->preset + (e->winner ? " (winner)" : "");
        auto it = std::find_if(labels.begin(), labels.end(), [&](const auto& l) { return l.first == spot; });
        if (it == labels.end()) {
            labels.emplace_back(spot, name);
        } else {
            it->second += ", " + name;
        }
    }
    for (const auto& [spot, names] : labels) {
        const size_t comma = spot.find(',');
        const double x = std::stod(spot.substr(0, comma)), y = std::stod(spot.substr(comma + 1));
        svg += "<text x=\"" + Num(x + 8) + "\" y=\"" + Num(y - 6) + "\" font-size=\"10\">" + Escape(names) + "</text>\n";
    }
    // Legend.
    const double lx = kWidth - kRight + 16;
    svg += "<circle cx=\"" + Num(lx) + "\" cy=\"" + Num(kTop + 10) + "\" r=\"5\" fill=\"#2a2\"/><text x=\"" + Num(lx + 10) +
           "\" y=\"" + Num(kTop + 14) + "\">meets every constraint</text>\n";
    svg += "<circle cx=\"" + Num(lx) + "\" cy=\"" + Num(kTop + 30) + "\" r=\"5\" fill=\"#999\"/><text x=\"" + Num(lx + 10) +
           "\" y=\"" + Num(kTop + 34) + "\">misses one or more</text>\n";
    svg += "<circle cx=\"" + Num(lx) + "\" cy=\"" + Num(kTop + 50) + "\" r=\"9\" fill=\"none\" stroke=\"#c60\" stroke-width=\"2\"/><text x=\"" +
           Num(lx + 14) + "\" y=\"" + Num(kTop + 54) + "\">winner</text>\n";
    svg += "<text x=\"" + Num(lx - 6) + "\" y=\"" + Num(kTop + 80) +
           "\" font-size=\"10\">each candidate at its cheapest</text>\n<text x=\"" + Num(lx - 6) + "\" y=\"" +
           Num(kTop + 93) + "\" font-size=\"10\">feasible GPU triple, else its</text>\n<text x=\"" + Num(lx - 6) +
           "\" y=\"" + Num(kTop + 106) + "\" font-size=\"10\">nearest miss</text>\n";
    svg += "</svg>\n";
    return svg;
}

}  // namespace tenpak::optimize
