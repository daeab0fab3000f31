// Exporter formats: the native NDJSON schema (docs/agent-schema.md), OCSF
// Detection Finding (class_uid 2004) and RFC 5424 syslog. Each appends one
// record to a caller-owned buffer (reused, so the hot path does not allocate).
#pragma once

#include <cstdint>
#include <string>

#include "agent/finding.h"

namespace vg::agent {

// What every record says about where it comes from; fixed at start-up.
struct FormatContext {
  std::string hostname;
  std::string kernel_release;
  std::string build_id_hex;
  std::string policy_digest_hex;
  uint64_t kaslr_offset = 0;
  // CLOCK_REALTIME minus CLOCK_BOOTTIME, to turn probe times into wall time.
  int64_t boot_to_realtime_ns = 0;
  uint32_t agent_pid = 0;
};

inline constexpr const char* kAgentVersion = "0.1.0";
inline constexpr const char* kNativeSchema = "vmplguard.agent/1";

enum class Format : uint8_t { kNative, kOcsf, kSyslog };

// RFC 3339 UTC time with microseconds, from a CLOCK_BOOTTIME stamp.
void append_rfc3339(std::string& out, const FormatContext& context, uint64_t boot_ns);
// The same into `out` (room for kRfc3339Max bytes); returns the length.
inline constexpr size_t kRfc3339Max = 48;
size_t format_rfc3339(char* out, const FormatContext& context, uint64_t boot_ns);
// "func+0x1a", "[module]+0x10", "[ftrace_trampoline]", or "" when unknown.
void append_symbol(std::string& out, const Symbol& symbol, bool json);

void format_native(std::string& out, const Finding& finding, const FormatContext& context);
void format_ocsf(std::string& out, const Finding& finding, const FormatContext& context);
// One RFC 5424 message without transport framing.
void format_syslog(std::string& out, const Finding& finding, const FormatContext& context);

void format_finding(Format format, std::string& out, const Finding& finding, const FormatContext& context);

// The MITRE ATT&CK technique a violation maps to, or null fields if none fits.
struct AttackMapping {
  const char* technique_uid = nullptr;
  const char* technique_name = nullptr;
  const char* tactic_uid = nullptr;
  const char* tactic_name = nullptr;
};
AttackMapping attack_for(const Finding& finding);

// The record's short kind name ("text_patch", "monitor_data_write", ...).
const char* finding_kind(const Finding& finding);

}  // namespace vg::agent
