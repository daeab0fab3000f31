// The JSON report. Every key written here is documented in
// docs/report-json.md; keep the two in step and bump kReportSchemaVersion on
// any incompatible change.
#include "json_writer.h"
#include "names.h"
#include "report.h"
#include "report_summary.h"

namespace vg::cli {
namespace {

using analyzer::Analysis;

void write_kernel(JsonWriter& w, const analyzer::KernelInfo& kernel) {
  w.key("kernel");
  w.begin_object();
  w.field("path", kernel.path);
  w.field("release", kernel.release);
  w.field("build_id", hex_bytes(kernel.build_id));
  w.field("text_va", hex(kernel.text_va));
  w.field("layout", layout_id(kernel.layout));
  w.end_object();
}

void write_policy(JsonWriter& w, const std::optional<PolicySummary>& policy) {
  w.key("policy");
  if (!policy) {
    w.null();
    return;
  }
  w.begin_object();
  w.field("path", policy->path);
  w.field("sha256", policy->digest);
  w.field("size", policy->size);
  w.end_object();
}

void write_regions(JsonWriter& w, const Analysis& analysis) {
  w.key("regions");
  w.begin_array();
  for (const analyzer::RegionInfo& region : analysis.regions) {
    w.begin_object();
    w.field("name", region.name);
    w.field("kind", region_kind_id(region.kind));
    w.field("start", hex(region.start));
    w.field("size", region.size);
    w.field("perms_boot", perms_string(region.perms_boot));
    w.field("perms_final", perms_string(region.perms_final));
    w.end_object();
  }
  w.end_array();
}

void write_sites(JsonWriter& w, const Analysis& analysis) {
  w.key("sites");
  w.begin_object();
  w.field("total", static_cast<uint64_t>(analysis.sites.size()));
  w.key("by_kind");
  w.begin_object();
  for (const auto& [bit, sites] : count_site_kinds(analysis)) w.field(site_kind_id(bit), sites);
  w.end_object();
  w.key("tables");
  w.begin_array();
  for (const analyzer::SiteTableStats& table : analysis.site_tables) {
    w.begin_object();
    w.field("section", table.section);
    w.field("entry_size", table.entry_size);
    w.field("entries", table.entries);
    w.field("sites", table.sites);
    w.field("skipped", table.skipped);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_privileged(JsonWriter& w, const Analysis& analysis) {
  w.key("privileged");
  w.begin_object();
  w.field("total", static_cast<uint64_t>(analysis.privileged.size()));
  w.key("by_kind");
  w.begin_array();
  for (const PrivilegedCounts& row : count_privileged(analysis)) {
    w.begin_object();
    w.field("kind", privileged_kind_id(row.kind));
    w.field("aligned_trusted", row.aligned_trusted);
    w.field("aligned_untrusted", row.aligned_untrusted);
    w.field("unintended_trusted", row.unintended_trusted);
    w.field("unintended_untrusted", row.unintended_untrusted);
    w.end_object();
  }
  w.end_array();
  w.key("instructions");
  w.begin_array();
  for (const analyzer::PrivilegedSite& site : analysis.privileged) {
    w.begin_object();
    w.field("address", hex(site.address));
    w.field("kind", privileged_kind_id(site.kind));
    w.field("length", static_cast<uint64_t>(site.length));
    w.field("unintended", site.unintended);
    w.field("trusted", site.trusted);
    w.field("init", site.init);
    w.field("replacement", site.replacement);
    w.field("function", site.function);
    w.field("function_offset", hex(site.function_offset));
    w.field("disassembly", site.disassembly);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_objects(JsonWriter& w, const Analysis& analysis) {
  w.key("objects");
  w.begin_array();
  for (const analyzer::CriticalObjectInfo& object : analysis.objects) {
    w.begin_object();
    w.field("name", object.name);
    w.field("present", object.present);
    w.field("protection", protection_id(object.protection));
    w.key("address");
    if (object.present) {
      w.value(hex(object.address));
    } else {
      w.null();
    }
    w.field("size", object.size);
    w.field("size_source", object.size_source);
    w.field("region", object.region);
    w.field("why", object.why);
    w.end_object();
  }
  w.end_array();
}

void write_trusted(JsonWriter& w, const analyzer::TrustedSummary& trusted) {
  w.key("trusted");
  w.begin_object();
  w.field("functions", trusted.functions);
  w.field("bytes", trusted.bytes);
  w.field("untrusted_functions", trusted.untrusted_functions);
  w.field("untrusted_bytes", trusted.untrusted_bytes);
  w.end_object();
}

void write_findings(JsonWriter& w, const std::vector<Finding>& findings) {
  const FindingCounts counts = count(findings);
  w.key("summary");
  w.begin_object();
  w.field("errors", counts.errors);
  w.field("warnings", counts.warnings);
  w.field("notes", counts.notes);
  w.end_object();
  w.key("findings");
  w.begin_array();
  for (const Finding& finding : findings) {
    w.begin_object();
    w.field("rule", finding.rule->id);
    w.field("severity", severity_name(finding.rule->severity));
    w.field("message", finding.message);
    w.key("address");
    if (finding.has_address) {
      w.value(hex(finding.address));
    } else {
      w.null();
    }
    w.field("function", finding.function);
    w.field("function_offset", hex(finding.function_offset));
    w.end_object();
  }
  w.end_array();
}

}  // namespace

std::string render_json(const ReportInput& input) {
  const Analysis& analysis = *input.analysis;
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("schema_version", kReportSchemaVersion);
  w.key("tool");
  w.begin_object();
  w.field("name", "vmplguard");
  w.field("version", input.tool_version);
  w.end_object();
  write_kernel(w, analysis.kernel);
  write_policy(w, input.policy);
  write_regions(w, analysis);
  write_sites(w, analysis);
  write_privileged(w, analysis);
  write_objects(w, analysis);
  write_trusted(w, analysis.trusted);
  write_findings(w, *input.findings);
  w.key("notes");
  w.begin_array();
  for (const std::string& note : analysis.notes) w.value(note);
  w.end_array();
  w.key("timings");
  w.begin_array();
  for (const analyzer::StageTiming& timing : analysis.timings) {
    w.begin_object();
    w.field("stage", timing.stage);
    w.field("seconds", timing.seconds);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace vg::cli
