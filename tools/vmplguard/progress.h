// Progress of `vmplguard analyze` on standard error. Stages may run on two
// threads at once, so every method is thread-safe.
//
// live:    one line redrawn in place (a terminal only): running stages with
//          their percentage.
// verbose: a line when each stage ends, with its wall time.
// Neither: silent, which is what pipes and CI logs get by default.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace vg::cli {

class ProgressReporter {
 public:
  ProgressReporter(std::ostream& err, bool live, bool verbose) : err_(err), live_(live), verbose_(verbose) {}

  void stage_begin(std::string_view stage);
  void update(std::string_view stage, uint64_t done, uint64_t total);
  void stage_end(std::string_view stage, double seconds);
  // Clears the live line so that the next output starts on a clean line.
  void finish();

 private:
  struct Running {
    std::string stage;
    int percent = -1;  // -1: no measure of progress yet
  };
  void redraw_locked();

  std::ostream& err_;
  const bool live_;
  const bool verbose_;
  std::mutex mutex_;
  std::vector<Running> running_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace vg::cli
