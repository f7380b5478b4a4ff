// Selection on synthetic figures: the winner meets every constraint and nothing cheaper does; ties
// are broken the same whatever the order; with nothing feasible, the closest miss of each constraint.
#include "tenpak/optimize/selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tenpak::optimize {
namespace {

Entry MakeEntry(std::string preset, std::string hardware, int gpus, double cost, double ppl_delta, double compression,
                double p95 = 10, double ttft = 50, double tps = 100) {
    Entry e;
    e.preset = std::move(preset);
    e.hardware = std::move(hardware);
    e.gpu_count = gpus;
    e.cost_per_1m_tokens = cost;
    e.ppl_delta_pct = ppl_delta;
    e.compression = compression;
    e.latency_p95_ms = p95;
    e.ttft_ms = ttft;
    e.tokens_per_s = tps;
    e.bytes = static_cast<uint64_t>(1000 / compression);
    e.memory_needed_gb = 10;
    e.memory_usable_gb = 14.4;
    return e;
}

// Constraints from (flag, limit) pairs, as the command line would give them.
Constraints Limits(std::optional<double> ppl, std::optional<double> latency, std::optional<double> ttft,
                   std::optional<double> compression, std::optional<double> throughput = std::nullopt) {
    Constraints c;
    c.max_ppl_delta_pct = ppl;
    c.max_latency_ms = latency;
    c.max_ttft_ms = ttft;
    c.min_compression = compression;
    c.min_throughput = throughput;
    return c;
}
constexpr std::nullopt_t kNone = std::nullopt;

std::vector<Entry> Synthetic() {
    return {
        MakeEntry("fp16", "T4", 1, 2.0, 0.0, 2.0),
        MakeEntry("fp16", "A100-80GB", 1, 3.0, 0.0, 2.0),
        MakeEntry("bnb_nf4", "T4", 1, 1.5, 4.0, 4.5),
        MakeEntry("gptq_quality", "T4", 1, 1.2, 1.5, 3.8, /*p95=*/30),
        MakeEntry("gptq_quality", "A100-80GB", 1, 1.6, 1.5, 3.8, /*p95=*/8),
        MakeEntry("bnb_int8", "T4", 1, 2.5, 0.1, 3.4),
    };
}

TEST(SelectionTest, TheWinnerMeetsEveryConstraintAndNothingCheaperDoes) {
    std::vector<Entry> entries = Synthetic();
    const Constraints c = Limits(2.0, 20.0, kNone, 3.0);
    const Selection s = Select(entries, c);
    ASSERT_TRUE(s.winner.has_value());
    const Entry& w = entries[*s.winner];
    EXPECT_EQ(w.preset, "gptq_quality");
    EXPECT_EQ(w.hardware, "A100-80GB");  // the T4 triple is cheaper but misses the latency bound
    EXPECT_TRUE(w.feasible && w.winner && w.missed.empty());
    EXPECT_EQ(std::count_if(entries.begin(), entries.end(), [](const Entry& e) { return e.winner; }), 1);
    for (const Entry& e : entries) {
        if (e.cost_per_1m_tokens < w.cost_per_1m_tokens) {
            EXPECT_FALSE(e.feasible) << e.preset << " " << e.hardware;
        }
    }
    // Each miss is named by its flag.
    auto find = [&](const std::string& preset, const std::string& hw) {
        return *std::find_if(entries.begin(), entries.end(),
                             [&](const Entry& e) { return e.preset == preset && e.hardware == hw; });
    };
    EXPECT_EQ(find("gptq_quality", "T4").missed, std::vector<std::string>{"max-latency-ms"});
    EXPECT_EQ(find("bnb_nf4", "T4").missed, std::vector<std::string>{"max-ppl-delta"});
    EXPECT_EQ(find("fp16", "T4").missed, std::vector<std::string>{"min-compression"});
    EXPECT_TRUE(find("bnb_int8", "T4").feasible);
}

TEST(SelectionTest, WithoutConstraintsTheCheapestWins) {
    std::vector<Entry> entries = Synthetic();
    const Selection s = Select(entries, Constraints{});
    ASSERT_TRUE(s.winner.has_value());
    EXPECT_EQ(entries[*s.winner].preset, "gptq_quality");
    EXPECT_EQ(entries[*s.winner].hardware, "T4");
}

TEST(SelectionTest, MemoryIsAlwaysAConstraint) {
    std::vector<Entry> entries = Synthetic();
    for (Entry& e : entries) {
        if (e.hardware == "T4") e.fits = false;
    }
    const Selection s = Select(entries, Constraints{});
    ASSERT_TRUE(s.winner.has_value());
    EXPECT_EQ(entries[*s.winner].hardware, "A100-80GB");
    EXPECT_EQ(entries[0].missed, std::vector<std::string>{"memory"});
}

TEST(SelectionTest, TiesAreBrokenTheSameWhateverTheOrder) {
    // Same cost: the smaller perplexity change wins; then fewer bytes; then fewer GPUs; then names.
    std::vector<Entry> base = {
        MakeEntry("b", "T4", 1, 1.0, 0.5, 4.0), MakeEntry("a", "T4", 1, 1.0, 0.5, 4.0),
        MakeEntry("c", "T4", 1, 1.0, 0.7, 8.0), MakeEntry("a", "L4", 1, 1.0, 0.5, 4.0),
        MakeEntry("d", "T4", 2, 1.0, 0.5, 4.0),
    };
    std::mt19937 random(3);
    for (int trial = 0; trial < 20; ++trial) {
        std::vector<Entry> entries = base;
        std::shuffle(entries.begin(), entries.end(), random);
        const Selection s = Select(entries, Constraints{});
        ASSERT_TRUE(s.winner.has_value());
        EXPECT_EQ(entries[*s.winner].preset, "a");
        EXPECT_EQ(entries[*s.winner].hardware, "L4");
    }
    // Fewer bytes breaks a tie of cost and quality.
    std::vector<Entry> entries = {MakeEntry("big", "T4", 1, 1.0, 0.5, 2.0), MakeEntry("small", "T4", 1, 1.0, 0.5, 5.0)};
    EXPECT_EQ(entries[*Select(entries, Constraints{}).winner].preset, "small");
}

TEST(SelectionTest, NothingFeasibleGivesTheClosestMissOfEachConstraint) {
    std::vector<Entry> entries = Synthetic();
    const Constraints c = Limits(2.0, kNone, 10.0, 5.0);
    const Selection s = Select(entries, c);
    EXPECT_FALSE(s.winner.has_value());
    EXPECT_TRUE(std::none_of(entries.begin(), entries.end(), [](const Entry& e) { return e.winner || e.feasible; }));
    // max-ppl-delta is met by some entries, so it is not listed; ttft (all 50 ms) and compression are.
    ASSERT_EQ(s.closest.size(), 2u);
    EXPECT_EQ(s.closest[0].constraint, "max-ttft-ms");
    EXPECT_DOUBLE_EQ(s.closest[0].value, 50.0);
    EXPECT_EQ(entries[s.closest[0].entry].preset, "gptq_quality");  // all equal: the cheapest
    EXPECT_EQ(s.closest[1].constraint, "min-compression");
    EXPECT_EQ(entries[s.closest[1].entry].preset, "bnb_nf4");  // 4.5x, nearest to 5x
    EXPECT_DOUBLE_EQ(s.closest[1].value, 4.5);
    EXPECT_EQ(DescribeMiss(entries[s.closest[1].entry], "min-compression", c), "compression 4.5x < 5x");
}

TEST(SelectionTest, ExplanationsSayWhoWonWhatOthersMissAndHowMuchMoreTheyCost) {
    std::vector<Entry> entries = Synthetic();
    const Constraints c = Limits(2.0, 20.0, kNone, 3.0);
    const Selection s = Select(entries, c);
    const auto why = ExplainPresets(entries, s, c);
    ASSERT_EQ(why.size(), 4u);
    auto of = [&](const std::string& preset) {
        return std::find_if(why.begin(), why.end(), [&](const auto& p) { return p.first == preset; })->second;
    };
    EXPECT_EQ(of("gptq_quality").rfind("winner", 0), 0u) << of("gptq_quality");
    EXPECT_NE(of("bnb_int8").find("56.25% more"), std::string::npos) << of("bnb_int8");  // 2.5 vs 1.6
    EXPECT_NE(of("bnb_nf4").find("ppl change 4% > 2%"), std::string::npos) << of("bnb_nf4");
    EXPECT_NE(of("fp16").find("compression 2x < 3x"), std::string::npos) << of("fp16");
}

TEST(SelectionTest, ImpossibleLimitsAreRefused) {
    EXPECT_FALSE(ValidateConstraints(Limits(-1.0, kNone, kNone, kNone)).ok());
    EXPECT_FALSE(ValidateConstraints(Limits(kNone, 0.0, kNone, kNone)).ok());
    EXPECT_FALSE(ValidateConstraints(Limits(kNone, kNone, kNone, kNone, -5.0)).ok());
    const Status s = ValidateConstraints(Limits(kNone, kNone, kNone, -2.0));
    EXPECT_NE(s.message().find("--min-compression"), std::string::npos) << s.message();
    EXPECT_TRUE(ValidateConstraints(Limits(1.0, kNone, kNone, 3.0)).ok());
}

}  // namespace
}  // namespace tenpak::optimize
