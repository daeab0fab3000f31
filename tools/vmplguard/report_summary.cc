#include "report_summary.h"

#include <map>

#include "names.h"

namespace vg::cli {

std::vector<PrivilegedCounts> count_privileged(const analyzer::Analysis& analysis) {
  std::map<uint16_t, PrivilegedCounts> by_kind;
  for (const analyzer::PrivilegedSite& site : analysis.privileged) {
    PrivilegedCounts& counts = by_kind[static_cast<uint16_t>(site.kind)];
    counts.kind = site.kind;
    if (site.unintended) {
      ++(site.trusted ? counts.unintended_trusted : counts.unintended_untrusted);
    } else {
      ++(site.trusted ? counts.aligned_trusted : counts.aligned_untrusted);
    }
  }
  std::vector<PrivilegedCounts> rows;
  rows.reserve(by_kind.size());
  for (const auto& [kind, counts] : by_kind) rows.push_back(counts);
  return rows;
}

std::vector<std::pair<uint16_t, uint64_t>> count_site_kinds(const analyzer::Analysis& analysis) {
  std::vector<std::pair<uint16_t, uint64_t>> rows;
  for (uint16_t bit : site_kind_bits()) {
    uint64_t sites = 0;
    for (const analyzer::PatchSite& site : analysis.sites) {
      if ((site.kind & bit) != 0) ++sites;
    }
    if (sites > 0) rows.emplace_back(bit, sites);
  }
  return rows;
}

}  // namespace vg::cli
