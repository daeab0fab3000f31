// OCSF 1.1 Detection Finding (class_uid 2004, category Findings). Field names
// follow the OCSF schema; vmplguard's own fields ride in `unmapped`.
#include "agent/format.h"
#include "json_out.h"

namespace vg::agent {

namespace {

constexpr uint32_t kClassUid = 2004;
constexpr uint32_t kCategoryUid = 2;
constexpr uint32_t kActivityCreate = 1;

struct Severity {
  uint32_t id;
  const char* name;
};

Severity severity_of(const Finding& finding) {
  switch (finding.verdict) {
    case Verdict::kAllowed: return {1, "Informational"};
    case Verdict::kUnverified: return {2, "Low"};
    case Verdict::kViolation:
      return finding.event.type == EventType::kTelemetryLoss ? Severity{3, "Medium"} : Severity{4, "High"};
  }
  return {0, "Unknown"};
}

uint64_t to_epoch_ms(const FormatContext& context, uint64_t boot_ns) {
  return static_cast<uint64_t>((static_cast<int64_t>(boot_ns) + context.boot_to_realtime_ns) / 1000000);
}

}  // namespace

void format_ocsf(std::string& out, const Finding& finding, const FormatContext& context) {
  const Event& event = finding.event;
  const Severity severity = severity_of(finding);
  const uint64_t time_ms = to_epoch_ms(context, finding.last_seen_ns);
  out.push_back('{');
  json::field_u64(out, "class_uid", kClassUid);
  json::field(out, "class_name", "Detection Finding");
  json::field_u64(out, "category_uid", kCategoryUid);
  json::field(out, "category_name", "Findings");
  json::field_u64(out, "activity_id", kActivityCreate);
  json::field(out, "activity_name", "Create");
  json::field_u64(out, "type_uid", kClassUid * 100 + kActivityCreate);
  json::field(out, "type_name", "Detection Finding: Create");
  json::field_u64(out, "severity_id", severity.id);
  json::field(out, "severity", severity.name);
  json::field_u64(out, "status_id", 1);
  json::field(out, "status", "New");
  json::field_u64(out, "time", time_ms);
  json::field_u64(out, "count", finding.count);
  // message: one readable line; symbols are escaped like every guest string.
  json::key(out, "message");
  out.push_back('"');
  out.append(to_string(finding.verdict));
  out.push_back(' ');
  out.append(finding_kind(finding));
  if (finding.target.space != Space::kNone) {
    out.append(" at ");
    append_symbol(out, finding.target, true);
  }
  out.append(" (");
  out.append(to_string(finding.reason));
  out.append(")\",");

  json::key(out, "metadata");
  out.push_back('{');
  json::field(out, "version", "1.1.0");
  json::key(out, "product");
  out.append("{\"name\":\"vmplguard-agent\",\"vendor_name\":\"vmplguard\",\"version\":\"");
  out.append(kAgentVersion);
  out.append("\"},");
  json::field(out, "log_name", "vmplguard");
  json::key(out, "uid");
  out.push_back('"');
  append_json_escaped(out, context.hostname.data(), context.hostname.size());
  out.push_back('-');
  append_u64(out, finding.sequence);
  out.append("\",");
  json::close(out, '}');
  out.push_back(',');

  json::key(out, "finding_info");
  out.push_back('{');
  json::key(out, "uid");
  out.push_back('"');
  append_json_escaped(out, context.hostname.data(), context.hostname.size());
  out.push_back('-');
  append_u64(out, finding.sequence);
  out.append("\",");
  json::key(out, "title");
  out.append("\"vmplguard ");
  out.append(to_string(finding.verdict));
  out.append(": ");
  out.append(finding_kind(finding));
  out.append("\",");
  json::key(out, "types");
  out.append("[\"");
  out.append(finding_kind(finding));
  out.append("\"],");
  json::field_u64(out, "created_time", time_ms);
  json::field_u64(out, "first_seen_time", to_epoch_ms(context, finding.first_seen_ns));
  json::field_u64(out, "last_seen_time", time_ms);
  json::key(out, "analytic");
  out.append("{\"name\":\"vmplguard policy\",\"type_id\":1,\"type\":\"Rule\",\"uid\":\"");
  out.append(to_string(finding.reason));
  out.append("\"},");
  const AttackMapping attack = attack_for(finding);
  if (attack.technique_uid != nullptr) {
    json::key(out, "attacks");
    out.append("[{\"tactic\":{\"name\":\"");
    out.append(attack.tactic_name);
    out.append("\",\"uid\":\"");
    out.append(attack.tactic_uid);
    out.append("\"},\"technique\":{\"name\":\"");
    out.append(attack.technique_name);
    out.append("\",\"uid\":\"");
    out.append(attack.technique_uid);
    out.append("\"},\"version\":\"14.1\"}],");
  }
  json::close(out, '}');
  out.push_back(',');

  json::key(out, "device");
  out.push_back('{');
  json::field_string(out, "hostname", context.hostname);
  json::field_u64(out, "type_id", 6);  // Virtual
  json::field(out, "type", "Virtual");
  json::key(out, "os");
  out.append("{\"name\":\"Linux\",\"type_id\":200,\"type\":\"Linux\",\"version\":\"");
  append_json_escaped(out, context.kernel_release.data(), context.kernel_release.size());
  out.append("\"},");
  json::close(out, '}');
  out.push_back(',');

  if (event.type != EventType::kTelemetryLoss) {
    json::key(out, "actor");
    out.append("{\"process\":{");
    json::field_u64(out, "pid", event.tgid);
    json::field_u64(out, "tid", event.pid);
    json::field_raw(out, "name", event.comm.data(), event.comm_length);
    json::close(out, '}');
    out.append("},");
  }

  // vmplguard's native record, for fields OCSF has no place for.
  json::key(out, "unmapped");
  format_native(out, finding, context);
  out.push_back(',');
  json::close(out, '}');
}

}  // namespace vg::agent
