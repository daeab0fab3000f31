// RFC 5424 syslog messages. Structured data carries the machine-readable
// fields under SD-ID vmplguard@32473 (32473 is the private enterprise number
// reserved for documentation [RFC5612]; operators may map it).
#include "agent/escape.h"
#include "agent/format.h"

namespace vg::agent {

namespace {

constexpr uint32_t kFacilityAuthpriv = 10;  // security/authorization [RFC5424 6.2.1]
constexpr uint32_t kSeverityCritical = 2;
constexpr uint32_t kSeverityWarning = 4;
constexpr uint32_t kSeverityNotice = 5;
constexpr uint32_t kSeverityInformational = 6;

uint32_t syslog_severity(const Finding& finding) {
  switch (finding.verdict) {
    case Verdict::kAllowed: return kSeverityInformational;
    case Verdict::kUnverified: return kSeverityNotice;
    case Verdict::kViolation:
      return finding.event.type == EventType::kTelemetryLoss ? kSeverityWarning : kSeverityCritical;
  }
  return kSeverityWarning;
}

void param(std::string& out, const char* name, const char* value) {
  out.push_back(' ');
  out.append(name);
  out.append("=\"");
  append_sd_escaped(out, value, std::char_traits<char>::length(value));
  out.push_back('"');
}

void param_hex(std::string& out, const char* name, uint64_t value) {
  out.push_back(' ');
  out.append(name);
  out.append("=\"");
  append_hex_u64(out, value);
  out.push_back('"');
}

void param_u64(std::string& out, const char* name, uint64_t value) {
  out.push_back(' ');
  out.append(name);
  out.append("=\"");
  append_u64(out, value);
  out.push_back('"');
}

// HOSTNAME is PRINTUSASCII, at most 255 characters, or "-" [RFC5424 6.2.4].
void append_hostname(std::string& out, const std::string& hostname) {
  size_t written = 0;
  for (char c : hostname) {
    if (written == 255) break;
    if (c > 0x20 && c < 0x7f) {
      out.push_back(c);
      ++written;
    }
  }
  if (written == 0) out.push_back('-');
}

}  // namespace

void format_syslog(std::string& out, const Finding& finding, const FormatContext& context) {
  const Event& event = finding.event;
  out.push_back('<');
  append_u64(out, kFacilityAuthpriv * 8 + syslog_severity(finding));
  out.append(">1 ");
  append_rfc3339(out, context, finding.last_seen_ns);
  out.push_back(' ');
  append_hostname(out, context.hostname);
  out.append(" vmplguard-agent ");
  append_u64(out, context.agent_pid);
  out.push_back(' ');
  out.append(finding_kind(finding));  // MSGID: our constant names, <= 32 chars
  out.append(" [vmplguard@32473");
  param(out, "verdict", to_string(finding.verdict));
  param(out, "reason", to_string(finding.reason));
  param_u64(out, "seq", finding.sequence);
  param_u64(out, "count", finding.count);
  if (event.type != EventType::kTelemetryLoss) {
    param_hex(out, "address", event.address);
    std::string symbol;
    append_symbol(symbol, finding.target, false);
    if (!symbol.empty()) param(out, "symbol", symbol.c_str());
    param_u64(out, "pid", event.tgid);
    out.append(" comm=\"");
    append_sd_escaped(out, event.comm.data(), event.comm_length);
    out.push_back('"');
    if (finding.culprit_frame >= 0) {
      std::string culprit;
      append_symbol(culprit, finding.frames[static_cast<size_t>(finding.culprit_frame)], false);
      if (culprit.empty()) append_hex_u64(culprit, event.frames[static_cast<size_t>(finding.culprit_frame)]);
      param(out, "culprit", culprit.c_str());
    }
  } else {
    param_u64(out, "lost", finding.lost_since_last);
    param_u64(out, "lost_total", finding.lost_total);
  }
  out.append("] ");
  // MSG: a readable sentence, escaped to one printable line.
  out.append(to_string(finding.verdict));
  out.push_back(' ');
  out.append(finding_kind(finding));
  if (finding.target.space != Space::kNone) {
    out.append(" at ");
    append_symbol(out, finding.target, false);
  }
  if (event.type != EventType::kTelemetryLoss) {
    out.append(" by ");
    append_text_escaped(out, event.comm.data(), event.comm_length);
    out.push_back('[');
    append_u64(out, event.tgid);
    out.push_back(']');
  }
  out.append(" (");
  out.append(to_string(finding.reason));
  out.push_back(')');
}

}  // namespace vg::agent
