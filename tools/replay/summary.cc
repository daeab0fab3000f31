#include "replay/summary.h"

#include <cstdio>

namespace vg::replay {
namespace {

PhaseStats total_of(const ReplayReport& report, const std::string& run) {
  PhaseStats total{run, "total"};
  for (const PhaseStats& p : report.phases) {
    if (p.run != run) continue;
    total.events += p.events;
    total.allowed += p.allowed;
    total.denied += p.denied;
    total.false_positives += p.false_positives;
    total.attacks += p.attacks;
    total.attacks_missed += p.attacks_missed;
    total.round_trips += p.round_trips;
    total.sites_patched += p.sites_patched;
    total.patch_entries += p.patch_entries;
  }
  return total;
}

std::string row(const PhaseStats& p) {
  char line[256];
  std::snprintf(
      line, sizeof(line), "%-7s %-12s %7llu %7llu %6llu %4llu %7llu %6llu %8llu %8llu %15llu %15llu\n",
      p.run.c_str(), p.phase.c_str(), static_cast<unsigned long long>(p.events),
      static_cast<unsigned long long>(p.allowed), static_cast<unsigned long long>(p.denied),
      static_cast<unsigned long long>(p.false_positives), static_cast<unsigned long long>(p.attacks),
      static_cast<unsigned long long>(p.attacks_missed), static_cast<unsigned long long>(p.round_trips),
      static_cast<unsigned long long>(p.sites_patched),
      static_cast<unsigned long long>(p.round_trips * kCyclesPerRoundTrip),
      static_cast<unsigned long long>(p.patch_entries * kCyclesPerRoundTrip));
  return line;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_phase(const PhaseStats& p) {
  char text[512];
  std::snprintf(
      text, sizeof(text),
      "{\"run\":%s,\"phase\":%s,\"events\":%llu,\"allowed\":%llu,\"denied\":%llu,\"false_positives\":%llu,"
      "\"attacks\":%llu,\"attacks_missed\":%llu,\"round_trips\":%llu,\"sites_patched\":%llu,"
      "\"patch_entries\":%llu,\"cycles_batched\":%llu,\"cycles_one_per_site\":%llu}",
      json_string(p.run).c_str(), json_string(p.phase).c_str(), static_cast<unsigned long long>(p.events),
      static_cast<unsigned long long>(p.allowed), static_cast<unsigned long long>(p.denied),
      static_cast<unsigned long long>(p.false_positives), static_cast<unsigned long long>(p.attacks),
      static_cast<unsigned long long>(p.attacks_missed), static_cast<unsigned long long>(p.round_trips),
      static_cast<unsigned long long>(p.sites_patched), static_cast<unsigned long long>(p.patch_entries),
      static_cast<unsigned long long>(p.round_trips * kCyclesPerRoundTrip),
      static_cast<unsigned long long>(p.patch_entries * kCyclesPerRoundTrip));
  return text;
}

std::vector<std::string> runs_of(const ReplayReport& report) {
  std::vector<std::string> runs;
  for (const PhaseStats& p : report.phases) {
    bool seen = false;
    for (const std::string& run : runs) seen = seen || run == p.run;
    if (!seen) runs.push_back(p.run);
  }
  return runs;
}

}  // namespace

bool accepted(const ReplayReport& report, const std::string& cause) {
  for (const std::string& known : report.accepted_causes)
    if (!known.empty() && cause.find(known) != std::string::npos) return true;
  return false;
}

std::string summary_text(const ReplayReport& report, const RunFacts& facts) {
  std::string out;
  out += "vmplguard replay (simulated SEV-SNP platform, real monitor + KCI, policy " + facts.policy + ")\n\n";
  const BootCheck& boot = report.boot;
  char line[512];
  std::snprintf(
      line, sizeof(line),
      "boot (pre-lock) patches: %llu records, %llu bytes, %llu sites touched, %llu allowed by the policy, "
      "%llu records outside every site, %llu outside the image\n",
      static_cast<unsigned long long>(boot.lines), static_cast<unsigned long long>(boot.bytes),
      static_cast<unsigned long long>(boot.sites), static_cast<unsigned long long>(boot.sites_allowed),
      static_cast<unsigned long long>(boot.outside_sites),
      static_cast<unsigned long long>(boot.outside_image));
  out += line;
  if (boot.runtime_const_filled != 0)
    out += "  of them runtime_const sites filled by runtime_const_init (any bytes before the lock): " +
           std::to_string(boot.runtime_const_filled) + "\n";
  for (const auto& [kind, misses] : boot.misses_by_kind)
    out += "  misses, " + kind + ": " + std::to_string(misses) + "\n";
  for (const std::string& example : boot.examples) out += "    " + example + "\n";
  out +=
      "\nrun     phase         events allowed denied   FP attacks missed  rtrips    sites  cycles(batched) "
      "cycles(1/site)\n";
  for (const std::string& run : runs_of(report)) {
    for (const PhaseStats& p : report.phases)
      if (p.run == run && (p.events != 0 || p.round_trips != 0)) out += row(p);
    out += row(total_of(report, run));
  }
  if (!report.data.empty()) {
    out +=
        "\ncritical data the kernel rewrote after boot (trace `data` records; docs/replay.md):\n"
        "run     phase         protection         records   bytes  allowed  denied  alarms  reported\n";
    for (const DataStats& d : report.data) {
      std::snprintf(line, sizeof(line), "%-7s %-12s  %-17s %8llu %7llu %8llu %7llu %7llu %9llu\n",
                    d.run.c_str(), d.phase.c_str(), d.protection.c_str(),
                    static_cast<unsigned long long>(d.records),
                    static_cast<unsigned long long>(d.bytes_changed),
                    static_cast<unsigned long long>(d.allowed), static_cast<unsigned long long>(d.denied),
                    static_cast<unsigned long long>(d.alarms), static_cast<unsigned long long>(d.reported));
      out += line;
    }
  }
  if (!report.locked_rewrites.empty()) {
    out +=
        "\nFALSE POSITIVES: locked_after_boot objects the real kernel rewrote after boot (the monitor "
        "refuses or reports these legitimate writes; the policy's class for them is wrong):\n";
    for (const std::string& rewrite : report.locked_rewrites) out += "  FALSE POSITIVE " + rewrite + "\n";
  }
  if (!report.attacks.empty()) out += "\nattacks (expected -> got):\n";
  for (const AttackOutcome& a : report.attacks) {
    const char* verdict = !a.denied ? "ALLOWED" : a.detected_only ? "detected" : "denied";
    out += std::string("  ") + (a.denied && a.attributed ? "ok   " : "FAIL ") + a.name + ": " + verdict +
           ", " + a.got + " (expected " + a.expected + ")\n";
  }
  if (!report.not_applicable.empty()) out += "\nscenarios not translated:\n";
  for (const std::string& n : report.not_applicable) out += "  " + n + "\n";
  if (!report.false_positive_causes.empty()) out += "\nfalse positives by cause:\n";
  for (const auto& [cause, n] : report.false_positive_causes)
    out += "  " + std::to_string(n) + "  " + cause +
           (accepted(report, cause) ? "  [accepted known gap]" : "") + "\n";
  if (!report.false_positive_details.empty()) out += "\nfalse positives (first 40):\n";
  for (const std::string& fp : report.false_positive_details) out += "  " + fp + "\n";
  if (report.trace_mismatches != 0)
    out += "\ntrace OLD bytes differing from the replayed text: " + std::to_string(report.trace_mismatches) +
           "\n";
  if (report.allowed_not_written != 0)
    out += "\nALLOWED BUT NOT WRITTEN (a monitor bug; fails the replay): " +
           std::to_string(report.allowed_not_written) + "\n";
  if (report.unmodelled_writes != 0)
    out += "patches outside the kernel image and every mapped module/JIT image (not modelled): " +
           std::to_string(report.unmodelled_writes) + "\n";
  for (const std::string& note : report.notes) out += "note: " + note + "\n";
  std::snprintf(line, sizeof(line), "\nwall %.2f s, peak RSS %ld MiB\n", facts.wall_seconds,
                facts.max_rss_kib / 1024);
  out += line;
  return out;
}

std::string summary_json(const ReplayReport& report, const RunFacts& facts) {
  std::string out =
      "{\"policy\":" + json_string(facts.policy) + ",\"vmlinux\":" + json_string(facts.vmlinux) + ",";
  const BootCheck& boot = report.boot;
  out += "\"boot\":{\"records\":" + std::to_string(boot.lines) + ",\"bytes\":" + std::to_string(boot.bytes) +
         ",\"sites\":" + std::to_string(boot.sites) +
         ",\"sites_allowed\":" + std::to_string(boot.sites_allowed) +
         ",\"outside_sites\":" + std::to_string(boot.outside_sites) +
         ",\"outside_image\":" + std::to_string(boot.outside_image) + ",\"misses_by_kind\":{";
  bool first = true;
  for (const auto& [kind, misses] : boot.misses_by_kind) {
    out += (first ? "" : ",") + json_string(kind) + ":" + std::to_string(misses);
    first = false;
  }
  out += "}},\"phases\":[";
  first = true;
  for (const PhaseStats& p : report.phases) {
    out += (first ? "" : ",") + json_phase(p);
    first = false;
  }
  for (const std::string& run : runs_of(report)) out += "," + json_phase(total_of(report, run));
  out += "],\"data\":[";
  first = true;
  for (const DataStats& d : report.data) {
    out += std::string(first ? "" : ",") + "{\"run\":" + json_string(d.run) +
           ",\"phase\":" + json_string(d.phase) + ",\"protection\":" + json_string(d.protection) +
           ",\"records\":" + std::to_string(d.records) +
           ",\"bytes_changed\":" + std::to_string(d.bytes_changed) +
           ",\"pieces\":" + std::to_string(d.pieces) + ",\"allowed\":" + std::to_string(d.allowed) +
           ",\"denied\":" + std::to_string(d.denied) + ",\"alarms\":" + std::to_string(d.alarms) +
           ",\"reported\":" + std::to_string(d.reported) + ",\"unnoticed\":" + std::to_string(d.unnoticed) +
           "}";
    first = false;
  }
  out += "],\"locked_rewrites\":[";
  first = true;
  for (const std::string& rewrite : report.locked_rewrites) {
    out += (first ? "" : ",") + json_string(rewrite);
    first = false;
  }
  out += "],\"attacks\":[";
  first = true;
  for (const AttackOutcome& a : report.attacks) {
    out += std::string(first ? "" : ",") + "{\"name\":" + json_string(a.name) +
           ",\"source\":" + json_string(a.source) + ",\"expected\":" + json_string(a.expected) +
           ",\"got\":" + json_string(a.got) + ",\"denied\":" + (a.denied ? "true" : "false") +
           ",\"detected_only\":" + (a.detected_only ? "true" : "false") +
           ",\"attributed\":" + (a.attributed ? "true" : "false") + "}";
    first = false;
  }
  out += "],\"false_positive_causes\":[";
  first = true;
  for (const auto& [cause, n] : report.false_positive_causes) {
    out += std::string(first ? "" : ",") + "{\"cause\":" + json_string(cause) +
           ",\"count\":" + std::to_string(n) +
           ",\"accepted\":" + (accepted(report, cause) ? "true" : "false") + "}";
    first = false;
  }
  out += "],\"not_applicable\":[";
  first = true;
  for (const std::string& n : report.not_applicable) {
    out += (first ? "" : ",") + json_string(n);
    first = false;
  }
  char tail[256];
  std::snprintf(tail, sizeof(tail),
                "],\"unmodelled_writes\":%llu,\"trace_mismatches\":%llu,\"wall_seconds\":%.3f,\"max_rss_"
                "kib\":%ld,\"status\":%d}\n",
                static_cast<unsigned long long>(report.unmodelled_writes),
                static_cast<unsigned long long>(report.trace_mismatches), facts.wall_seconds,
                facts.max_rss_kib, summary_status(report));
  return out + tail;
}

int summary_status(const ReplayReport& report) {
  if (report.allowed_not_written != 0) return 1;
  for (const PhaseStats& p : report.phases)
    if (p.attacks_missed != 0) return 1;
  for (const auto& [cause, n] : report.false_positive_causes)
    if (n != 0 && !accepted(report, cause)) return 1;
  for (const AttackOutcome& a : report.attacks)
    if (!a.denied || !a.attributed) return 1;
  return 0;
}

}  // namespace vg::replay
