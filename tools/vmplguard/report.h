// The three report formats of `vmplguard analyze`. Each writer only reads the
// analysis and the findings; none of them decides anything.
//
//   text   a table for people, colored only when asked (a TTY without NO_COLOR)
//   json   stable keys for scripts, documented in docs/report-json.md
//   sarif  SARIF 2.1.0 for CI code scanning
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analyzer/model.h"
#include "findings.h"

namespace vg::cli {

// The report schema version: bumped on any incompatible change of the JSON
// keys (docs/report-json.md).
inline constexpr int kReportSchemaVersion = 1;

struct PolicySummary {
  std::string path;    // where the policy was written
  std::string digest;  // SHA-256 trailer, lowercase hex
  uint64_t size = 0;   // bytes
};

struct ReportInput {
  const analyzer::Analysis* analysis = nullptr;
  const std::vector<Finding>* findings = nullptr;
  std::optional<PolicySummary> policy;  // absent without -o
  std::string tool_version;             // "0.1.0"
};

struct TextOptions {
  bool color = false;
  bool quiet = false;         // findings and the summary line only
  bool show_timings = false;  // --verbose
};

std::string render_text(const ReportInput& input, const TextOptions& options);
std::string render_json(const ReportInput& input);
std::string render_sarif(const ReportInput& input);

}  // namespace vg::cli
