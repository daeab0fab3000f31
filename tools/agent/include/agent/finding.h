// A classified, symbolized event: what the exporters write.
#pragma once

#include <array>
#include <cstdint>

#include "agent/event.h"
#include "agent/symbolize.h"

namespace vg::agent {

enum class Verdict : uint8_t {
  kAllowed,     // the policy (or a known kernel mechanism) accounts for it
  kViolation,   // nothing accounts for it
  kUnverified,  // outside what the policy describes (module text, unknown memory)
};

// Why a verdict was reached; stable names in docs/agent-schema.md.
enum class Reason : uint8_t {
  kSitePattern,             // known site, allowed byte pattern
  kSiteFtraceTrampoline,    // ftrace site calling a trampoline the kernel created
  kSiteBpfTrampoline,       // ftrace site patched by bpf_arch_text_poke
  kSitePartialWrite,        // slice of an allowed pattern (or int3) inside a site
  kFtraceTrampolineUpdate,  // write inside a kernel-created ftrace trampoline
  kKprobeBreakpoint,        // int3 arm / byte restore by the kprobe machinery
  kKprobeOptimized,         // the optimizer's jmp into a registered detour page
  kKprobeUnoptimized,       // the optimizer's int3 and saved bytes going back
  kKprobesForbidden,        // any of the three when the policy does not allow kprobes
  kBpfJitCopy,              // BPF JIT writing into its own image
  kModuleText,              // module text: the policy has no sites for it
  kUnknownMemory,           // outside the image, any module and trampolines
  kNotASite,                // kernel text write where the policy lists no site
  kPatternNotAllowed,       // site known, bytes not among its patterns
  kBadLength,               // write longer than the site
  kModulesAllowed,          // module load permitted by the policy flags
  kModulesForbidden,
  kModuleUnloaded,
  kKernelImagePermission,  // set_memory_x/rw on the kernel image
  kOutsideKernelImage,     // set_memory_x/rw elsewhere
  kCr0WpCleared,
  kCr4PinnedCleared,
  kControlRegisterOk,
  kBpfJitAllowed,
  kBpfJitForbidden,
  kCodeRegistered,  // the kernel registered out-of-line code (trampoline, BPF)
  kCodeUnregistered,
  kMonitorAllowed,  // the monitor allowed it (audit record)
  kMonitorDenied,   // the monitor refused it
  kTelemetryLoss,
};

const char* to_string(Verdict verdict);
const char* to_string(Reason reason);
const char* to_string(EventType type);
const char* to_string(Origin origin);
const char* monitor_kind_name(uint16_t kind);
const char* monitor_verdict_name(uint8_t verdict);

struct Finding {
  Event event;
  Verdict verdict = Verdict::kViolation;
  Reason reason = Reason::kNotASite;
  uint16_t site_kinds = 0;  // policy SiteKind mask when a site matched
  bool has_text_offset = false;
  uint32_t text_offset = 0;                        // event.address - _text, if in the image
  Symbol target;                                   // where event.address is
  const policy::CriticalObject* object = nullptr;  // critical object at the address
  const char* object_name = nullptr;               // its name, borrowed from the policy
  uint8_t frame_count = 0;
  std::array<Symbol, kMaxFrames> frames{};
  int8_t culprit_frame = -1;  // first frame outside the kernel image
  // The epoch `frames` were symbolized under (stack_cache.h): findings with
  // the same raw frames and epoch have the same symbols, so formatters may
  // reuse their text. 0: not known (never cached).
  uint64_t stack_epoch = 0;
  bool has_call_target = false;  // the bytes are a call/jmp rel32
  uint64_t call_target = 0;
  Symbol call_target_symbol;
  uint64_t count = 1;          // events merged by dedup
  uint64_t first_seen_ns = 0;  // CLOCK_BOOTTIME of the first and last event
  uint64_t last_seen_ns = 0;
  uint64_t sequence = 0;  // agent's record number, set on export
  // Telemetry loss only: drops since the previous loss finding, and in total.
  uint64_t lost_since_last = 0;
  uint64_t lost_total = 0;
};

}  // namespace vg::agent
