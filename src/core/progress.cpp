#include "tenpak/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tenpak {
namespace {
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 30;
}  // namespace

bool Progress::Enabled() {
    const char* env = std::getenv("TENPAK_PROGRESS");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    if (env != nullptr && std::strcmp(env, "1") == 0) return true;
    return isatty(STDERR_FILENO) != 0;
}

Progress::Progress(std::string label, uint64_t total, Unit unit)
    : label_(std::move(label)),
      total_(total),
      unit_(unit),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawInterval),
      enabled_(Enabled()) {}

Progress::~Progress() {
    Finish();
}

void Progress::Advance(uint64_t n) {
    done_.fetch_add(n, std::memory_order_relaxed);
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    if (now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    Draw(false);
}

void Progress::SetDetail(std::string detail) {
    std::lock_guard<std::mutex> lock(mutex_);
    detail_ = std::move(detail);
}

void Progress::Finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = true;
    if (enabled_ && drawn_) Draw(true);
}

void Progress::Draw(bool final) {
    drawn_ = true;
    const uint64_t done = done_.load(std::memory_order_relaxed);
    const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
    const int filled = static_cast<int>(fraction * kBarWidth + 0.5);
    std::string bar(static_cast<size_t>(filled > kBarWidth ? kBarWidth : filled), '#');
    bar.resize(kBarWidth, '.');
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string amount;
    if (unit_ == Unit::kBytes) {
        amount = FormatBytes(done) + " / " + FormatBytes(total_);
        if (seconds > 0)
            amount += ", " + FormatBytes(static_cast<uint64_t>(static_cast<double>(done) / seconds)) + "/s";
    } else {
        amount = std::to_string(done) + "/" + std::to_string(total_);
    }
    const bool tty = isatty(STDERR_FILENO) != 0;
    std::fprintf(stderr, "%s%s [%s] %3d%% %s %.1fs %s%s", tty ? "\r\033[K" : "", label_.c_str(), bar.c_str(),
                 static_cast<int>(fraction * 100), amount.c_str(), seconds, detail_.c_str(),
                 (final || !tty) ? "\n" : "");
    std::fflush(stderr);
}

std::string FormatBytes(uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1000.0 && unit < 4) {
        value /= 1000.0;
        ++unit;
    }
    char buf[32];
    if (unit == 0) {
        std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
    } else {
        std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
    }
    return buf;
}

}  // namespace tenpak
