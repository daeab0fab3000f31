// Aggregates that the text and JSON reports both show, computed once here so
// the two formats can never disagree.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "analyzer/model.h"

namespace vg::cli {

struct PrivilegedCounts {
  policy::PrivilegedKind kind{};
  uint64_t aligned_trusted = 0;
  uint64_t aligned_untrusted = 0;
  uint64_t unintended_trusted = 0;
  uint64_t unintended_untrusted = 0;

  uint64_t total() const {
    return aligned_trusted + aligned_untrusted + unintended_trusted + unintended_untrusted;
  }
};

// One row per kind present, ordered by kind value.
std::vector<PrivilegedCounts> count_privileged(const analyzer::Analysis& analysis);

// Sites per SiteKind bit (a site with several kinds counts under each), only
// bits that occur, in the order of format.h.
std::vector<std::pair<uint16_t, uint64_t>> count_site_kinds(const analyzer::Analysis& analysis);

}  // namespace vg::cli
