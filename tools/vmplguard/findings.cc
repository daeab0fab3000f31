#include "findings.h"

#include <algorithm>
#include <tuple>

#include "names.h"

namespace vg::cli {
namespace {

using analyzer::Analysis;
using analyzer::PrivilegedSite;
using policy::PrivilegedKind;

const std::vector<Rule> kRules{
    {"VG001", "UnintendedControlRegisterWrite", Severity::kError,
     "unintended mov to CR0/CR3/CR4 in untrusted code",
     "Bytes inside another instruction decode as a write to CR0, CR3 or CR4. An attacker who controls "
     "the instruction pointer can jump there to clear CR0.WP, disable SMEP/SMAP in CR4 or switch page "
     "tables, which are the first steps of most kernel code-integrity bypasses. The monitor pins these "
     "registers, but the gadget should not exist: rebuild the function so that its encoding no longer "
     "contains the byte sequence (the compiler often changes an immediate or a register choice)."},
    {"VG002", "UnintendedSystemStateWrite", Severity::kWarning,
     "unintended wrmsr/lgdt/lidt/lldt/ltr/xsetbv/mov to DRn/SNP instruction in untrusted code",
     "Bytes inside another instruction decode as an instruction that changes system state (MSRs, "
     "descriptor tables, debug registers, XCR0, or SEV-SNP page state). Such a gadget lets a hijacked "
     "control flow redirect system calls (LSTAR) or interrupts (IDTR). The monitor checks pinned values "
     "at each entry; review the function and prefer a build that removes the gadget."},
    {"VG003", "PrivilegedOutsideTrustedRegion", Severity::kWarning,
     "privileged instruction at an instruction boundary in untrusted code",
     "The kernel itself executes this privileged instruction, but the analyzer did not place the "
     "containing code in the trusted region (for example because it is not inside any function "
     "symbol). Its effect cannot be attributed to known kernel machinery: check the function, and "
     "report it if the trust classification should cover it."},
    {"VG004", "CriticalObjectAbsent", Severity::kNote, "critical object absent from this kernel",
     "A data object the monitor protects on other kernels does not exist in this build (for example "
     "selinux_state in a kernel without SELinux). Nothing is protected for it; this is expected when "
     "the feature is configured out."},
    {"VG005", "UnintendedPrivilegedInstruction", Severity::kNote,
     "other unintended privileged instruction in untrusted code",
     "Bytes inside another instruction decode as a privileged instruction that does not change "
     "protected state on its own (rdmsr, wbinvd, invlpg, swapgs, iretq, hlt, ...). Listed so that the "
     "gadget inventory is complete; no action is needed unless the count grows between builds."},
    {"VG006", "CriticalObjectWithoutSize", Severity::kWarning, "critical object of unknown size",
     "The object exists but neither BTF, DWARF nor the symbol table gives its size, so the monitor "
     "cannot protect its full extent. Analyze the debug vmlinux (the -dbg package), which has DWARF."},
    {"VG007", "PatchSiteEntriesSkipped", Severity::kNote,
     "special-section entries skipped while collecting patch sites",
     "Entries of a patch-site table (alternatives, jump labels, static calls, ...) point outside kernel "
     "text (or are zero, as the linker leaves some __mcount_loc entries) and were not turned into sites. A "
     "run-time patch at such an address would be refused by the monitor. Expected in small numbers on stock "
     "kernels; the analysis notes say which entries and why."},
    {"VG008", "WritableExecutableRegion", Severity::kError, "region writable and executable",
     "The policy would leave a kernel region both writable and supervisor-executable after the final "
     "lock, which breaks the monitor's W^X invariant. This points at a misclassified section; the "
     "policy must not be deployed."},
};

bool is_control_register_write(PrivilegedKind kind) {
  return kind == PrivilegedKind::kMovToCr0 || kind == PrivilegedKind::kMovToCr3 ||
         kind == PrivilegedKind::kMovToCr4;
}

bool changes_system_state(PrivilegedKind kind) {
  switch (kind) {
    case PrivilegedKind::kMovToCr2:
    case PrivilegedKind::kMovToCr8:
    case PrivilegedKind::kMovToDr:
    case PrivilegedKind::kWrmsr:
    case PrivilegedKind::kLgdt:
    case PrivilegedKind::kLidt:
    case PrivilegedKind::kLldt:
    case PrivilegedKind::kLtr:
    case PrivilegedKind::kXsetbv:
    case PrivilegedKind::kPvalidate:
    case PrivilegedKind::kRmpadjust:
    case PrivilegedKind::kPsmash:
    case PrivilegedKind::kWrpkru:
    case PrivilegedKind::kClts: return true;
    default: return false;
  }
}

Finding at_site(const Rule& rule, const PrivilegedSite& site, std::string message) {
  Finding finding;
  finding.rule = &rule;
  finding.message = std::move(message);
  finding.has_address = true;
  finding.address = site.address;
  finding.length = site.length;
  finding.function = site.function;
  finding.function_offset = site.function_offset;
  return finding;
}

std::string describe_site(const PrivilegedSite& site, std::string_view what) {
  const std::string label = privileged_kind_label(site.kind);
  std::string text = std::string(what) + " " + label;
  if (!site.disassembly.empty() && site.disassembly != label) text += " (" + site.disassembly + ")";
  text += site.function.empty() ? " outside any function" : " in " + site.function;
  if (site.init) text += " (init text)";
  if (site.replacement) text += " (alternative replacement, copied over text at boot)";
  return text;
}

void check_privileged(const Analysis& analysis, std::vector<Finding>& out) {
  for (const PrivilegedSite& site : analysis.privileged) {
    if (site.trusted) continue;
    if (site.unintended) {
      if (is_control_register_write(site.kind)) {
        out.push_back(at_site(*find_rule("VG001"), site, describe_site(site, "unintended")));
      } else if (changes_system_state(site.kind)) {
        out.push_back(at_site(*find_rule("VG002"), site, describe_site(site, "unintended")));
      } else {
        out.push_back(at_site(*find_rule("VG005"), site, describe_site(site, "unintended")));
      }
    } else {
      out.push_back(at_site(*find_rule("VG003"), site, describe_site(site, "untrusted")));
    }
  }
}

void check_objects(const Analysis& analysis, std::vector<Finding>& out) {
  for (const analyzer::CriticalObjectInfo& object : analysis.objects) {
    Finding finding;
    if (!object.present) {
      finding.rule = find_rule("VG004");
      finding.message = "critical object " + object.name + " is absent";
    } else if (object.size == 0) {
      finding.rule = find_rule("VG006");
      finding.message = "critical object " + object.name + " has no known size";
      finding.has_address = true;
      finding.address = object.address;
    } else {
      continue;
    }
    out.push_back(std::move(finding));
  }
}

void check_site_tables(const Analysis& analysis, std::vector<Finding>& out) {
  for (const analyzer::SiteTableStats& table : analysis.site_tables) {
    if (table.skipped == 0) continue;
    Finding finding;
    finding.rule = find_rule("VG007");
    finding.message = std::to_string(table.skipped) + " of " + std::to_string(table.entries) +
                      " entries of " + table.section + " skipped";
    out.push_back(std::move(finding));
  }
}

void check_regions(const Analysis& analysis, std::vector<Finding>& out) {
  constexpr uint8_t kWriteExec = policy::kPermWrite | policy::kPermSupervisorExec;
  for (const analyzer::RegionInfo& region : analysis.regions) {
    if ((region.perms_final & kWriteExec) != kWriteExec) continue;
    Finding finding;
    finding.rule = find_rule("VG008");
    finding.message =
        "region " + region.name + " is " + perms_string(region.perms_final) + " after the final lock";
    finding.has_address = true;
    finding.address = region.start;
    out.push_back(std::move(finding));
  }
}

}  // namespace

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::kNote: return "note";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
  }
  return "error";
}

const std::vector<Rule>& rules() {
  return kRules;
}

const Rule* find_rule(std::string_view id) {
  for (const Rule& rule : kRules) {
    if (id == rule.id) return &rule;
  }
  return nullptr;
}

std::vector<Finding> evaluate(const Analysis& analysis) {
  std::vector<Finding> findings;
  check_privileged(analysis, findings);
  check_objects(analysis, findings);
  check_site_tables(analysis, findings);
  check_regions(analysis, findings);
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::forward_as_tuple(std::string_view(a.rule->id), a.address) <
           std::forward_as_tuple(std::string_view(b.rule->id), b.address);
  });
  return findings;
}

FindingCounts count(const std::vector<Finding>& findings) {
  FindingCounts counts;
  for (const Finding& finding : findings) {
    switch (finding.rule->severity) {
      case Severity::kError: ++counts.errors; break;
      case Severity::kWarning: ++counts.warnings; break;
      case Severity::kNote: ++counts.notes; break;
    }
  }
  return counts;
}

Result<FailOn, std::string> FailOn::parse(std::string_view text) {
  FailOn fail_on;
  fail_on.enabled_ = true;
  if (text == "error" || text == "warning" || text == "note") {
    fail_on.by_severity_ = true;
    fail_on.threshold_ = text == "error"     ? Severity::kError
                         : text == "warning" ? Severity::kWarning
                                             : Severity::kNote;
    return fail_on;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view word = text.substr(start, comma - start);
    if (find_rule(word) == nullptr) {
      return Err{std::string("--fail-on: '") + std::string(word) +
                 "' is neither a severity (error, warning, note) nor a rule id (" + kRules.front().id + ".." +
                 kRules.back().id + ")"};
    }
    fail_on.rule_ids_.emplace_back(word);
    start = comma + 1;
  }
  return fail_on;
}

bool FailOn::selects(const Finding& finding) const {
  if (!enabled_) return false;
  if (by_severity_) return finding.rule->severity >= threshold_;
  return std::find(rule_ids_.begin(), rule_ids_.end(), finding.rule->id) != rule_ids_.end();
}

bool FailOn::any(const std::vector<Finding>& findings) const {
  return std::any_of(findings.begin(), findings.end(), [this](const Finding& f) { return selects(f); });
}

}  // namespace vg::cli
