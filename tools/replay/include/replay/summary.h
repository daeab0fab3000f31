// The replay's summary: a text table for people, JSON for machines.
#pragma once

#include <string>

#include "replay/stats.h"

namespace vg::replay {

struct RunFacts {
  double wall_seconds = 0;
  long max_rss_kib = 0;
  std::string policy;
  std::string vmlinux;
};

std::string summary_text(const ReplayReport& report, const RunFacts& facts);
std::string summary_json(const ReplayReport& report, const RunFacts& facts);
// 0 when every benign event was allowed and every attack denied with the
// right attribution; 1 otherwise.
int summary_status(const ReplayReport& report);
// True if `cause` contains one of the report's accepted causes.
bool accepted(const ReplayReport& report, const std::string& cause);

}  // namespace vg::replay
