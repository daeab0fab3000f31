#include "progress.h"

#include <algorithm>
#include <cstdio>

namespace vg::cli {
namespace {

// Redrawing more often than this only costs time on slow terminals.
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

}  // namespace

void ProgressReporter::stage_begin(std::string_view stage) {
  if (!live_) return;
  const std::lock_guard lock(mutex_);
  running_.push_back(Running{std::string(stage), -1});
  redraw_locked();
}

void ProgressReporter::update(std::string_view stage, uint64_t done, uint64_t total) {
  if (!live_ || total == 0) return;
  const std::lock_guard lock(mutex_);
  auto it =
      std::find_if(running_.begin(), running_.end(), [&](const Running& r) { return r.stage == stage; });
  if (it == running_.end()) return;
  const int percent = static_cast<int>(std::min<uint64_t>(done, total) * 100 / total);
  if (percent == it->percent) return;
  it->percent = percent;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedrawInterval && percent != 100) return;
  redraw_locked();
}

void ProgressReporter::stage_end(std::string_view stage, double seconds) {
  const std::lock_guard lock(mutex_);
  running_.erase(
      std::remove_if(running_.begin(), running_.end(), [&](const Running& r) { return r.stage == stage; }),
      running_.end());
  if (verbose_) {
    if (live_ && drawn_) err_ << "\r\x1b[K";
    char line[160];
    std::snprintf(line, sizeof(line), "vmplguard: %-14.*s done in %.3f s\n", static_cast<int>(stage.size()),
                  stage.data(), seconds);
    err_ << line;
    drawn_ = false;
  }
  if (live_) redraw_locked();
}

void ProgressReporter::finish() {
  const std::lock_guard lock(mutex_);
  if (live_ && drawn_) err_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

void ProgressReporter::redraw_locked() {
  std::string line = "\r\x1b[Kvmplguard: ";
  if (running_.empty()) {
    line += "...";
  }
  for (size_t i = 0; i < running_.size(); ++i) {
    if (i > 0) line += " | ";
    line += running_[i].stage;
    if (running_[i].percent >= 0) line += " " + std::to_string(running_[i].percent) + "%";
  }
  err_ << line << std::flush;
  drawn_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

}  // namespace vg::cli
