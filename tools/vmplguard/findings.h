// Findings: what `vmplguard analyze` flags in an analysis, each under a
// stable rule id with a severity. The catalog is documented in docs/cli.md;
// SARIF consumers key on the ids, so ids are never reused or renumbered.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/model.h"
#include "base/result.h"

namespace vg::cli {

enum class Severity : uint8_t { kNote = 0, kWarning = 1, kError = 2 };

// "note", "warning", "error" (also SARIF's level names).
const char* severity_name(Severity severity);

struct Rule {
  const char* id;    // "VG001"
  const char* name;  // "UnintendedControlRegisterWrite" (SARIF rule name)
  Severity severity;
  const char* summary;      // one line
  const char* description;  // why it matters and what to do about it
};

// Every rule, ordered by id.
const std::vector<Rule>& rules();
const Rule* find_rule(std::string_view id);

struct Finding {
  const Rule* rule = nullptr;
  std::string message;  // one sentence, lower case start, no trailing period
  bool has_address = false;
  uint64_t address = 0;  // VA of the instruction or object
  uint8_t length = 0;    // bytes at `address` (0 if not known)
  std::string function;  // containing function, "" if none
  uint64_t function_offset = 0;
};

// Applies every rule to the analysis. The order is stable: by rule id, then
// by address, so that reports diff cleanly between runs.
std::vector<Finding> evaluate(const analyzer::Analysis& analysis);

struct FindingCounts {
  uint64_t errors = 0;
  uint64_t warnings = 0;
  uint64_t notes = 0;
};
FindingCounts count(const std::vector<Finding>& findings);

// What --fail-on selects: a severity threshold or a list of rule ids.
class FailOn {
 public:
  // Never fails (the default without --fail-on).
  FailOn() = default;
  // "error", "warning", "note", or "VG001,VG004". Unknown words are errors.
  static Result<FailOn, std::string> parse(std::string_view text);

  bool selects(const Finding& finding) const;
  bool any(const std::vector<Finding>& findings) const;

 private:
  bool enabled_ = false;
  bool by_severity_ = false;
  Severity threshold_ = Severity::kError;
  std::vector<std::string> rule_ids_;
};

}  // namespace vg::cli
