// What `tenpak optimize` shows and writes: the terminal table, the JSON (the same for --json and
// report.json; docs/optimize.md lists its keys), report.md, and a plot of quality change against cost.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tenpak/core/status.h"
#include "tenpak/optimize/optimizer.h"

namespace tenpak::optimize {

nlohmann::ordered_json ReportJson(const OptimizeResult& result);
std::string ReportMarkdown(const OptimizeResult& result);
std::string TerminalSummary(const OptimizeResult& result);
// An SVG scatter: one point per candidate (its cheapest feasible triple, else its nearest miss), cost
// per 1M tokens (log scale) across, perplexity change up; the max-ppl-delta line; the winner ringed.
std::string QualityCostSvg(const OptimizeResult& result);

// Whether `dir` may receive a report: absent, empty, or an earlier report (it has a report.json). Any
// other folder is refused, so that a mistyped -o cannot wipe someone's files. Checked before any work.
Status CheckReportFolder(const std::string& dir);

// report.md, report.json and quality_vs_cost.svg in `dir`, which appears complete or not at all.
Status WriteReportFolder(const std::string& dir, const OptimizeResult& result);

// Per preset, the entry the summaries show: the winner, else its cheapest feasible, else its nearest miss.
const Entry* RepresentativeEntry(const OptimizeResult& result, const std::string& preset);

}  // namespace tenpak::optimize
