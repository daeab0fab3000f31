#include "agent/metrics.h"

#include <cstring>

#include "agent/escape.h"
#include "agent/format.h"

namespace vg::agent {

const char* to_string(DropStage stage) {
  switch (stage) {
    case DropStage::kRingBuffer: return "ring_buffer";
    case DropStage::kDecode: return "decode";
    case DropStage::kOutput: return "output";
    case DropStage::kProbeRead: return "probe_read";
    case DropStage::kCount: break;
  }
  return "unknown";
}

void Metrics::count_classified(const Finding& finding) {
  const char* kind = finding_kind(finding);
  const auto verdict = static_cast<size_t>(finding.verdict);
  // Kind names are static strings: pointer identity first, then contents.
  for (auto& slot : kinds_) {
    if (slot.kind == nullptr) {
      slot.kind = kind;
      slot.by_verdict[verdict] += finding.count;
      return;
    }
    if (slot.kind == kind || std::strcmp(slot.kind, kind) == 0) {
      slot.by_verdict[verdict] += finding.count;
      return;
    }
  }
}

uint64_t Metrics::classified(const char* kind, Verdict verdict) const {
  for (const auto& slot : kinds_) {
    if (slot.kind != nullptr && std::strcmp(slot.kind, kind) == 0) {
      return slot.by_verdict[static_cast<size_t>(verdict)];
    }
  }
  return 0;
}

uint64_t Metrics::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t d : dropped_) total += d;
  return total;
}

namespace {

// Label values: backslash, double quote and newline escaped [Prometheus text format 0.0.4].
void append_label_value(std::string& out, const std::string& value) {
  for (char c : value) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
      out.push_back(c);
    }
  }
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, const char* name, uint64_t value) {
  out.append(name).append(" ");
  append_u64(out, value);
  out.push_back('\n');
}

}  // namespace

std::string Metrics::exposition(const std::string& kernel_release, const std::string& build_id,
                                const std::string& policy_digest,
                                const std::vector<ProbeStatus>& probes) const {
  std::string out;
  header(out, "vmplguard_violations_total", "counter",
         "Classified events by kind and verdict (verdict=\"violation\" are policy violations).");
  for (const auto& slot : kinds_) {
    if (slot.kind == nullptr) break;
    for (size_t v = 0; v < slot.by_verdict.size(); ++v) {
      out.append("vmplguard_violations_total{kind=\"").append(slot.kind).append("\",verdict=\"");
      out.append(to_string(static_cast<Verdict>(v))).append("\"} ");
      append_u64(out, slot.by_verdict[v]);
      out.push_back('\n');
    }
  }
  header(out, "vmplguard_events_produced_total", "counter", "Events the probes produced (BPF counters).");
  sample(out, "vmplguard_events_produced_total", produced_);
  header(out, "vmplguard_events_received_total", "counter", "Events read from the ring buffer.");
  sample(out, "vmplguard_events_received_total", received_);
  header(out, "vmplguard_events_exported_total", "counter", "Events exported to every sink.");
  sample(out, "vmplguard_events_exported_total", exported_);
  header(out, "vmplguard_events_dropped_total", "counter", "Events lost, by the stage that lost them.");
  for (size_t s = 0; s < dropped_.size(); ++s) {
    out.append("vmplguard_events_dropped_total{stage=\"").append(to_string(static_cast<DropStage>(s)));
    out.append("\"} ");
    append_u64(out, dropped_[s]);
    out.push_back('\n');
  }
  header(out, "vmplguard_dedup_suppressed_total", "counter",
         "Events merged into an earlier record by deduplication.");
  sample(out, "vmplguard_dedup_suppressed_total", dedup_suppressed_);
  header(out, "vmplguard_monitor_sequence_gaps_total", "counter",
         "Monitor records missing between consecutive sequence numbers.");
  sample(out, "vmplguard_monitor_sequence_gaps_total", sequence_gaps_);
  header(out, "vmplguard_agent_records_total", "counter",
         "Records the agent wrote about itself (telemetry loss).");
  sample(out, "vmplguard_agent_records_total", agent_records_);
  header(out, "vmplguard_probe_attached", "gauge", "1 if the probe is attached, by probe and mode.");
  for (const auto& probe : probes) {
    out.append("vmplguard_probe_attached{probe=\"");
    append_label_value(out, probe.name);
    out.append("\",mode=\"");
    append_label_value(out, probe.mode);
    out.append("\"} ").append(probe.attached ? "1" : "0").append("\n");
  }
  header(out, "vmplguard_build_info", "gauge", "Agent version, kernel and policy in use.");
  out.append("vmplguard_build_info{version=\"").append(kAgentVersion).append("\",kernel_release=\"");
  append_label_value(out, kernel_release);
  out.append("\",build_id=\"");
  append_label_value(out, build_id);
  out.append("\",policy_digest=\"");
  append_label_value(out, policy_digest);
  out.append("\"} 1\n");
  return out;
}

}  // namespace vg::agent
