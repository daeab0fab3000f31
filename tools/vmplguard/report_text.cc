// The human report: one section per part of the analysis, then the findings
// and a one-line summary. Color marks severities only, so that the report
// reads the same without it.
#include <cstdio>

#include "names.h"
#include "report.h"
#include "report_summary.h"
#include "text_table.h"

namespace vg::cli {
namespace {

using analyzer::Analysis;
using Align = TextTable::Align;

constexpr const char* kBold = "\x1b[1m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kCyan = "\x1b[36m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kReset = "\x1b[0m";

class Painter {
 public:
  explicit Painter(bool color) : color_(color) {}
  std::string paint(const char* style, const std::string& text) const {
    return color_ ? style + text + kReset : text;
  }
  std::string heading(const std::string& text) const { return paint(kBold, text) + "\n"; }
  std::string severity(Severity severity) const {
    switch (severity) {
      case Severity::kError: return paint(kRed, "error");
      case Severity::kWarning: return paint(kYellow, "warning");
      case Severity::kNote: return paint(kCyan, "note");
    }
    return "error";
  }

 private:
  bool color_;
};

std::string count_text(uint64_t n) {
  return std::to_string(n);
}

std::string plural(uint64_t n, const char* singular, const char* plural_form) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural_form);
}

void kernel_section(const Analysis& analysis, const Painter& p, std::string& out) {
  const analyzer::KernelInfo& kernel = analysis.kernel;
  out += p.heading("Kernel");
  TextTable table({"", ""}, {Align::kLeft, Align::kLeft});
  table.add_row({"file", kernel.path});
  table.add_row({"release", kernel.release.empty() ? "(unknown)" : kernel.release});
  table.add_row({"build id", kernel.build_id.empty() ? "(none)" : hex_bytes(kernel.build_id)});
  table.add_row({"_text", hex(kernel.text_va)});
  table.add_row({"layout", layout_id(kernel.layout)});
  std::string rendered = table.render(2);
  out += rendered.substr(rendered.find('\n') + 1);  // no header row for a key/value list
}

void regions_section(const Analysis& analysis, const Painter& p, std::string& out) {
  out += p.heading("Regions");
  TextTable table({"region", "kind", "start", "size", "boot", "final"},
                  {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kLeft, Align::kLeft});
  for (const analyzer::RegionInfo& region : analysis.regions) {
    table.add_row({region.name, region_kind_id(region.kind), hex(region.start), human_size(region.size),
                   perms_string(region.perms_boot), perms_string(region.perms_final)});
  }
  out += table.render(2);
  out += "  (permissions: r read, w write, u user execute, x supervisor execute)\n";
}

void sites_section(const Analysis& analysis, const Painter& p, std::string& out) {
  out += p.heading("Patch sites: " + count_text(analysis.sites.size()) + " distinct addresses");
  TextTable tables({"section", "entry", "entries", "sites", "skipped"},
                   {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  for (const analyzer::SiteTableStats& table : analysis.site_tables) {
    tables.add_row({table.section, std::to_string(table.entry_size) + " B", count_text(table.entries),
                    count_text(table.sites), count_text(table.skipped)});
  }
  out += tables.render(2);
  TextTable kinds({"kind", "sites"}, {Align::kLeft, Align::kRight});
  for (const auto& [bit, sites] : count_site_kinds(analysis))
    kinds.add_row({site_kind_id(bit), count_text(sites)});
  if (!kinds.empty()) out += kinds.render(2);
}

void privileged_section(const Analysis& analysis, const Painter& p, std::string& out) {
  out += p.heading("Privileged instructions: " + count_text(analysis.privileged.size()));
  TextTable table(
      {"kind", "aligned trusted", "aligned untrusted", "unintended trusted", "unintended untrusted"},
      {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  for (const PrivilegedCounts& row : count_privileged(analysis)) {
    table.add_row({privileged_kind_label(row.kind), count_text(row.aligned_trusted),
                   count_text(row.aligned_untrusted), count_text(row.unintended_trusted),
                   count_text(row.unintended_untrusted)});
  }
  out += table.render(2);
}

void objects_section(const Analysis& analysis, const Painter& p, std::string& out) {
  uint64_t present = 0;
  for (const auto& object : analysis.objects) present += object.present ? 1 : 0;
  out += p.heading("Critical objects: " + count_text(present) + " of " + count_text(analysis.objects.size()) +
                   " present");
  TextTable table(
      {"object", "present", "address", "size", "from", "region", "protection"},
      {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight, Align::kLeft, Align::kLeft, Align::kLeft});
  for (const analyzer::CriticalObjectInfo& object : analysis.objects) {
    if (!object.present) {
      table.add_row(
          {object.name, p.paint(kYellow, "no"), "-", "-", "-", "-", protection_id(object.protection)});
      continue;
    }
    table.add_row({object.name, p.paint(kGreen, "yes"), hex(object.address),
                   std::to_string(object.size) + " B", object.size_source.empty() ? "-" : object.size_source,
                   object.region.empty() ? "-" : object.region, protection_id(object.protection)});
  }
  out += table.render(2);
}

void trusted_section(const Analysis& analysis, const Painter& p, std::string& out) {
  const analyzer::TrustedSummary& trusted = analysis.trusted;
  out += p.heading("Trusted region");
  out += "  trusted    " + plural(trusted.functions, "function", "functions") + ", " +
         human_size(trusted.bytes) + "\n";
  out += "  untrusted  " + plural(trusted.untrusted_functions, "function", "functions") + ", " +
         human_size(trusted.untrusted_bytes) + "\n";
}

void findings_section(const ReportInput& input, const Painter& p, std::string& out) {
  const std::vector<Finding>& findings = *input.findings;
  out += p.heading("Findings: " + count_text(findings.size()));
  const std::string& file = input.analysis->kernel.path;
  for (const Finding& finding : findings) {
    // objtool's form: "file: func+0x12: severity: message [rule]".
    std::string line = "  " + file + ": ";
    if (finding.has_address) {
      line += symbolic_location(finding.function, finding.function_offset, finding.address);
      if (!finding.function.empty()) line += " (" + hex(finding.address) + ")";
      line += ": ";
    }
    line += p.severity(finding.rule->severity) + ": " + finding.message + " [" + finding.rule->id + "]\n";
    out += line;
  }
}

void notes_section(const Analysis& analysis, const Painter& p, std::string& out) {
  if (analysis.notes.empty()) return;
  out += p.heading("Notes");
  for (const std::string& note : analysis.notes) out += "  " + note + "\n";
}

void timings_section(const Analysis& analysis, const Painter& p, std::string& out) {
  out += p.heading("Stage timings");
  TextTable table({"stage", "seconds"}, {Align::kLeft, Align::kRight});
  for (const analyzer::StageTiming& timing : analysis.timings) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.3f", timing.seconds);
    table.add_row({timing.stage, seconds});
  }
  out += table.render(2);
}

std::string summary_line(const ReportInput& input, const Painter& p) {
  const FindingCounts counts = count(*input.findings);
  std::string line =
      "vmplguard: " + p.paint(counts.errors > 0 ? kRed : kGreen, plural(counts.errors, "error", "errors")) +
      ", " + plural(counts.warnings, "warning", "warnings") + ", " + plural(counts.notes, "note", "notes");
  if (input.policy) line += "; policy " + input.policy->path + " (sha256 " + input.policy->digest + ")";
  return line + "\n";
}

}  // namespace

std::string render_text(const ReportInput& input, const TextOptions& options) {
  const Painter p(options.color);
  const Analysis& analysis = *input.analysis;
  std::string out;
  if (!options.quiet) {
    out += p.heading("vmplguard " + input.tool_version + " analysis of " + analysis.kernel.path);
    out += "\n";
    kernel_section(analysis, p, out);
    out += "\n";
    regions_section(analysis, p, out);
    out += "\n";
    sites_section(analysis, p, out);
    out += "\n";
    privileged_section(analysis, p, out);
    out += "\n";
    objects_section(analysis, p, out);
    out += "\n";
    trusted_section(analysis, p, out);
    out += "\n";
    notes_section(analysis, p, out);
    if (!analysis.notes.empty()) out += "\n";
    if (options.show_timings) {
      timings_section(analysis, p, out);
      out += "\n";
    }
  }
  if (!options.quiet || !input.findings->empty()) {
    findings_section(input, p, out);
    if (!options.quiet) out += "\n";
  }
  out += summary_line(input, p);
  return out;
}

}  // namespace vg::cli
