// A progress bar for long jobs, drawn on stderr.
//
// It draws only when stderr is a terminal, at most ten times a second, so scripts and logs stay
// clean; TENPAK_PROGRESS=1 forces it on (one line per update when not a terminal) and
// TENPAK_PROGRESS=0 turns it off.
//
// Thread safety: Advance() may be called from several threads; the rest from one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tenpak {

class Progress {
public:
    enum class Unit : uint8_t { kItems, kBytes };

    Progress(std::string label, uint64_t total, Unit unit = Unit::kItems);
    ~Progress();  // calls Finish()
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void Advance(uint64_t n = 1);
    // Text shown after the bar, e.g. the tensor or layer being worked on.
    void SetDetail(std::string detail);
    // Draws the final state and ends the line. Idempotent.
    void Finish();

    static bool Enabled();

private:
    void Draw(bool final);

    std::string label_;
    uint64_t total_;
    Unit unit_;
    std::atomic<uint64_t> done_{0};
    std::mutex mutex_;
    std::string detail_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
    bool enabled_;
    bool finished_ = false;
    bool drawn_ = false;
};

// "1.5 GB", "512 B", "3.2 MB": decimal units, as disks and the Hub count.
std::string FormatBytes(uint64_t bytes);

}  // namespace tenpak
