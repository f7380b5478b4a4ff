#include "tenpak/optimize/selection.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <tuple>

namespace tenpak::optimize {
namespace {

// A constraint as data: its flag name, the entry's figure, and whether the limit is an upper bound.
struct Rule {
    const char* name;
    std::optional<double> limit;
    double (*value)(const Entry&);
    bool upper;  // figure must be <= limit (else >=)
    const char* label;
    const char* unit;
};

std::vector<Rule> RulesOf(const Constraints& c) {
    return {
        {"max-ppl-delta", c.max_ppl_delta_pct, [](const Entry& e) { return e.ppl_delta_pct; }, true, "ppl change", "%"},
        {"max-latency-ms", c.max_latency_ms, [](const Entry& e) { return e.latency_p95_ms; }, true, "p95 latency",
         " ms"},
        {"max-ttft-ms", c.max_ttft_ms, [](const Entry& e) { return e.ttft_ms; }, true, "ttft", " ms"},
        {"min-compression", c.min_compression, [](const Entry& e) { return e.compression; }, false, "compression",
         "x"},
        {"min-throughput", c.min_throughput, [](const Entry& e) { return e.tokens_per_s; }, false, "throughput",
         " tokens/s"},
    };
}

bool Meets(const Rule& rule, const Entry& e) {
    const double v = rule.value(e);
    return rule.upper ? v <= *rule.limit : v >= *rule.limit;
}

// How far past the limit, as a ratio (1 = at the limit): the measure of "closest".
double Shortfall(const Rule& rule, const Entry& e) {
    const double v = rule.value(e);
    if (rule.upper) return *rule.limit > 0 ? v / *rule.limit : std::numeric_limits<double>::infinity();
    return v > 0 ? *rule.limit / v : std::numeric_limits<double>::infinity();
}

auto Order(const Entry& e) {
    return std::make_tuple(e.cost_per_1m_tokens, e.ppl_delta_pct, e.bytes, e.gpu_count, e.preset, e.hardware);
}

std::string Figure(double value, const char* unit) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.4g%s", value, unit);
    return text;
}

}  // namespace

Status ValidateConstraints(const Constraints& constraints) {
    for (const Rule& rule : RulesOf(constraints)) {
        if (rule.limit && !(*rule.limit > 0)) {
            return Status::InvalidArgument(std::string("--") + rule.name + " must be a positive number, not " +
                                           Figure(*rule.limit, ""));
        }
    }
    return Status::Ok();
}

Selection Select(std::vector<Entry>& entries, const Constraints& constraints) {
    const std::vector<Rule> rules = RulesOf(constraints);
    Selection selection;
    for (size_t i = 0; i < entries.size(); ++i) {
        Entry& e = entries[i];
        e.missed.clear();
        e.winner = false;
        if (!e.fits) e.missed.push_back("memory");
        for (const Rule& rule : rules) {
            if (rule.limit && !Meets(rule, e)) e.missed.push_back(rule.name);
        }
        e.feasible = e.missed.empty();
        if (e.feasible && (!selection.winner || Order(e) < Order(entries[*selection.winner]))) selection.winner = i;
    }
    if (selection.winner) {
        entries[*selection.winner].winner = true;
        return selection;
    }
    // Nothing fits: for each constraint no entry meets, the entry nearest to it (among those that fit
    // in memory when any does).
    const bool any_fits = std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return e.fits; });
    for (const Rule& rule : rules) {
        if (!rule.limit) continue;
        std::optional<size_t> best;
        bool met = false;
        for (size_t i = 0; i < entries.size(); ++i) {
            if (any_fits && !entries[i].fits) continue;
            if (Meets(rule, entries[i])) met = true;
            if (!best || std::make_tuple(Shortfall(rule, entries[i]), Order(entries[i])) <
                             std::make_tuple(Shortfall(rule, entries[*best]), Order(entries[*best]))) {
                best = i;
            }
        }
        if (!met && best) selection.closest.push_back({rule.name, *rule.limit, rule.value(entries[*best]), *best});
    }
    if (!any_fits && !entries.empty()) {
        size_t best = 0;
        for (size_t i = 1; i < entries.size(); ++i) {
            if (entries[i].memory_ratio() < entries[best].memory_ratio()) best = i;
        }
        selection.closest.push_back({"memory", 1.0, entries[best].memory_ratio(), best});
    }
    return selection;
}

std::string DescribeMiss(const Entry& entry, const std::string& constraint, const Constraints& constraints) {
    if (constraint == "memory") {
        return "needs " + Figure(entry.memory_ratio() * 100, "%") + " of the usable memory of " +
               std::to_string(entry.gpu_count) + " x " + entry.hardware;
    }
    for (const Rule& rule : RulesOf(constraints)) {
        if (constraint != rule.name || !rule.limit) continue;
        return std::string(rule.label) + " " + Figure(rule.value(entry), rule.unit) + (rule.upper ? " > " : " < ") +
               Figure(*rule.limit, rule.unit);
    }
    return constraint;
}

std::vector<std::pair<std::string, std::string>> ExplainPresets(const std::vector<Entry>& entries,
                                                                const Selection& selection,
                                                                const Constraints& constraints) {
    std::vector<std::string> presets;
    for (const Entry& e : entries) {
        if (std::find(presets.begin(), presets.end(), e.preset) == presets.end()) presets.push_back(e.preset);
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& preset : presets) {
        const Entry* cheapest_feasible = nullptr;
        const Entry* nearest = nullptr;  // fewest misses, then cheapest
        for (const Entry& e : entries) {
            if (e.preset != preset) continue;
            if (e.feasible && (!cheapest_feasible || Order(e) < Order(*cheapest_feasible))) cheapest_feasible = &e;
            if (!nearest || std::make_tuple(e.missed.size(), Order(e)) < std::make_tuple(nearest->missed.size(), Order(*nearest))) {
                nearest = &e;
            }
        }
        const std::string where_of = [](const Entry& e) {
            return " on " + std::to_string(e.gpu_count) + " x " + e.hardware;
        }(cheapest_feasible ? *cheapest_feasible : *nearest);
        std::string why;
        if (cheapest_feasible && cheapest_feasible->winner) {
            why = "winner: $" + Figure(cheapest_feasible->cost_per_1m_tokens, "") + " per 1M tokens" + where_of;
        } else if (cheapest_feasible && selection.winner) {
            const Entry& w = entries[*selection.winner];
            const double extra = w.cost_per_1m_tokens > 0
                                     ? (cheapest_feasible->cost_per_1m_tokens / w.cost_per_1m_tokens - 1) * 100
                                     : 0;
            why = "meets every constraint but costs " + Figure(extra, "%") + " more ($" +
                  Figure(cheapest_feasible->cost_per_1m_tokens, "") + " vs $" + Figure(w.cost_per_1m_tokens, "") +
                  " per 1M tokens)" + where_of;
        } else {
            why = "misses";
            for (size_t i = 0; i < nearest->missed.size(); ++i) {
                why += (i ? "; " : " ") + DescribeMiss(*nearest, nearest->missed[i], constraints);
            }
            why += where_of;
        }
        out.emplace_back(preset, why);
    }
    return out;
}

}  // namespace tenpak::optimize
