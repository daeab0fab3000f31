// The SARIF 2.1.0 report (OASIS SARIF v2.1.0, sections 3.13 run, 3.19 tool
// component, 3.27 result, 3.29 physicalLocation, 3.32 address, 3.33
// logicalLocation, 3.49 reportingDescriptor). A vmlinux has no source lines,
// so a result points at its artifact and an address object: relativeAddress
// is the offset from `_text` (KASLR-independent, and it fits a JSON integer),
// fullyQualifiedName is "function+0xoffset".
#include "json_writer.h"
#include "names.h"
#include "report.h"

namespace vg::cli {
namespace {

constexpr const char* kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

void write_message(JsonWriter& w, const char* key, const std::string& text) {
  w.key(key);
  w.begin_object();
  w.field("text", text);
  w.end_object();
}

void write_rules(JsonWriter& w) {
  w.key("rules");
  w.begin_array();
  for (const Rule& rule : rules()) {
    w.begin_object();
    w.field("id", rule.id);
    w.field("name", rule.name);
    write_message(w, "shortDescription", rule.summary);
    write_message(w, "fullDescription", rule.description);
    write_message(w, "help", rule.description);
    w.key("defaultConfiguration");
    w.begin_object();
    w.field("level", severity_name(rule.severity));
    w.end_object();
    w.end_object();
  }
  w.end_array();
}

uint64_t rule_index(const Rule* rule) {
  const std::vector<Rule>& all = rules();
  return static_cast<uint64_t>(rule - all.data());
}

void write_location(JsonWriter& w, const analyzer::Analysis& analysis, const Finding& finding) {
  w.key("locations");
  w.begin_array();
  w.begin_object();
  w.key("physicalLocation");
  w.begin_object();
  w.key("artifactLocation");
  w.begin_object();
  w.field("uri", analysis.kernel.path);
  w.field("index", 0);
  w.end_object();
  if (finding.has_address && finding.address >= analysis.kernel.text_va) {
    w.key("address");
    w.begin_object();
    w.field("relativeAddress", finding.address - analysis.kernel.text_va);
    if (finding.length > 0) w.field("length", static_cast<uint64_t>(finding.length));
    w.field("kind", finding.function.empty() ? "data" : "instruction");
    w.field("fullyQualifiedName",
            symbolic_location(finding.function, finding.function_offset, finding.address));
    w.end_object();
  }
  w.end_object();
  if (!finding.function.empty()) {
    w.key("logicalLocations");
    w.begin_array();
    w.begin_object();
    w.field("name", finding.function);
    w.field("kind", "function");
    w.end_object();
    w.end_array();
  }
  w.end_object();
  w.end_array();
}

void write_result(JsonWriter& w, const analyzer::Analysis& analysis, const Finding& finding) {
  w.begin_object();
  w.field("ruleId", finding.rule->id);
  w.field("ruleIndex", rule_index(finding.rule));
  w.field("level", severity_name(finding.rule->severity));
  std::string text = finding.message;
  if (finding.has_address) {
    text += " at " + symbolic_location(finding.function, finding.function_offset, finding.address);
    if (!finding.function.empty()) text += " (" + hex(finding.address) + ")";
  }
  write_message(w, "message", text);
  write_location(w, analysis, finding);
  // Stable across rebuilds of the same source: a function offset survives a
  // relink that moves the function, an absolute address does not.
  w.key("partialFingerprints");
  w.begin_object();
  w.field("vmplguardLocation/v1",
          std::string(finding.rule->id) + ":" +
              (finding.function.empty() ? finding.message
                                        : finding.function + "+" + hex(finding.function_offset)));
  w.end_object();
  w.key("properties");
  w.begin_object();
  if (finding.has_address) w.field("address", hex(finding.address));
  w.end_object();
  w.end_object();
}

}  // namespace

std::string render_sarif(const ReportInput& input) {
  const analyzer::Analysis& analysis = *input.analysis;
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("$schema", kSarifSchema);
  w.field("version", "2.1.0");
  w.key("runs");
  w.begin_array();
  w.begin_object();
  w.key("tool");
  w.begin_object();
  w.key("driver");
  w.begin_object();
  w.field("name", "vmplguard");
  w.field("version", input.tool_version);
  w.field("semanticVersion", input.tool_version);
  write_rules(w);
  w.end_object();
  w.end_object();
  w.key("artifacts");
  w.begin_array();
  w.begin_object();
  w.key("location");
  w.begin_object();
  w.field("uri", analysis.kernel.path);
  w.end_object();
  write_message(
      w, "description",
      "Linux kernel " +
          (analysis.kernel.release.empty() ? std::string("(unknown release)") : analysis.kernel.release) +
          ", build id " + hex_bytes(analysis.kernel.build_id));
  w.end_object();
  w.end_array();
  w.key("results");
  w.begin_array();
  for (const Finding& finding : *input.findings) write_result(w, analysis, finding);
  w.end_array();
  w.key("properties");
  w.begin_object();
  w.field("kernelRelease", analysis.kernel.release);
  w.field("buildId", hex_bytes(analysis.kernel.build_id));
  w.field("textAddress", hex(analysis.kernel.text_va));
  if (input.policy) w.field("policySha256", input.policy->digest);
  w.end_object();
  w.end_object();
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace vg::cli
