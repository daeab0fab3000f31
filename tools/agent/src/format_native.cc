#include "agent/format.h"
#include "json_out.h"
#include "policy/format.h"

namespace vg::agent {

namespace {

constexpr struct {
  uint16_t bit;
  const char* name;
} kSiteKindNames[] = {
    {policy::kSiteAlternative, "alternative"},
    {policy::kSiteJumpLabel, "jump_label"},
    {policy::kSiteStaticCall, "static_call"},
    {policy::kSiteFtrace, "ftrace"},
    {policy::kSiteRetpoline, "retpoline"},
    {policy::kSiteReturn, "return"},
    {policy::kSiteCall, "call"},
    {policy::kSiteEndbrSeal, "endbr_seal"},
    {policy::kSiteParavirt, "paravirt"},
    {policy::kSiteRuntimeConst, "runtime_const"},
    {policy::kSiteSmpLock, "smp_lock"},
};

}  // namespace

void format_native(std::string& out, const Finding& finding, const FormatContext& context) {
  const Event& event = finding.event;
  out.push_back('{');
  json::field(out, "schema", kNativeSchema);
  json::field_u64(out, "seq", finding.sequence);
  json::field_time(out, "time", context, finding.last_seen_ns);
  json::field_string(out, "host", context.hostname);
  json::field(out, "kind", finding_kind(finding));
  json::field(out, "verdict", to_string(finding.verdict));
  json::field(out, "reason", to_string(finding.reason));
  if (event.type == EventType::kTelemetryLoss) {
    json::field_u64(out, "lost", finding.lost_since_last);
    json::field_u64(out, "lost_total", finding.lost_total);
  } else {
    json::field(out, "origin", to_string(event.origin));
    json::field_hex(out, "address", event.address);
    json::key(out, "text_offset");
    if (finding.has_text_offset) {
      out.push_back('"');
      append_hex_u64(out, finding.text_offset);
      out.append("\",");
    } else {
      out.append("null,");
    }
    json::field_symbol(out, "symbol", finding.target);
    json::key(out, "object");
    if (finding.object != nullptr) {
      out.push_back('"');
      out.append(finding.object_name);
      out.append("\",");
    } else {
      out.append("null,");
    }
    json::key(out, "site_kinds");
    out.push_back('[');
    for (const auto& kind : kSiteKindNames) {
      if ((finding.site_kinds & kind.bit) != 0) {
        out.push_back('"');
        out.append(kind.name);
        out.append("\",");
      }
    }
    json::close(out, ']');
    out.push_back(',');
    json::field_u64(out, "size", event.size);
    json::key(out, "bytes");
    out.push_back('"');
    append_hex_bytes(out, event.bytes.data(), event.length);
    out.append("\",");
    if (finding.has_call_target) {
      json::field_hex(out, "call_target", finding.call_target);
      json::field_symbol(out, "call_target_symbol", finding.call_target_symbol);
    }
    json::field_hex(out, "value", event.value);
    if (event.name_length > 0) {
      json::field_raw(out, "module", event.name.data(), event.name_length);
    }
    json::key(out, "process");
    out.push_back('{');
    json::field_u64(out, "pid", event.pid);
    json::field_u64(out, "tgid", event.tgid);
    json::field_raw(out, "comm", event.comm.data(), event.comm_length);
    json::close(out, '}');
    out.push_back(',');
    json::field_u64(out, "cpu", event.cpu);
    json::key(out, "stack");
    out.push_back('[');
    for (size_t i = 0; i < finding.frame_count; ++i) {
      out.push_back('"');
      if (finding.frames[i].space == Space::kNone) {
        append_hex_u64(out, event.frames[i]);
      } else {
        append_symbol(out, finding.frames[i], true);
      }
      out.append("\",");
    }
    json::close(out, ']');
    out.push_back(',');
    json::key(out, "culprit");
    if (finding.culprit_frame >= 0) {
      const auto index = static_cast<size_t>(finding.culprit_frame);
      out.push_back('"');
      if (finding.frames[index].space == Space::kNone) {
        append_hex_u64(out, event.frames[index]);
      } else {
        append_symbol(out, finding.frames[index], true);
      }
      out.append("\",");
    } else {
      out.append("null,");
    }
    if (event.type == EventType::kMonitorRecord) {
      const vg_record& record = event.record;
      json::key(out, "monitor");
      out.push_back('{');
      json::field_u64(out, "sequence", record.sequence);
      json::field_u64(out, "tsc", record.tsc);
      json::field(out, "verdict", monitor_verdict_name(record.verdict));
      json::field_u64(out, "vmpl", record.vmpl);
      json::field_u64(out, "vcpu", record.vcpu);
      json::field_hex(out, "rip", record.rip);
      json::field_hex(out, "gpa", record.gpa);
      json::field_u64(out, "detail", record.detail);
      json::field_hex(out, "value", record.value);
      json::field(out, "tracepoint",
                  event.from_request_tracepoint ? "vmplguard:request" : "vmplguard:violation");
      json::close(out, '}');
      out.push_back(',');
    }
  }
  json::field_u64(out, "count", finding.count);
  json::field_time(out, "first_seen", context, finding.first_seen_ns);
  json::field_time(out, "last_seen", context, finding.last_seen_ns);
  json::key(out, "kernel");
  out.push_back('{');
  json::field_string(out, "release", context.kernel_release);
  json::field_string(out, "build_id", context.build_id_hex);
  json::field_hex(out, "kaslr_offset", context.kaslr_offset);
  json::close(out, '}');
  out.push_back(',');
  json::field_string(out, "policy_digest", context.policy_digest_hex);
  json::close(out, '}');
}

}  // namespace vg::agent
