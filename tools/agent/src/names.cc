#include "agent/finding.h"
#include "agent/format.h"

namespace vg::agent {

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllowed: return "allowed";
    case Verdict::kViolation: return "violation";
    case Verdict::kUnverified: return "unverified";
  }
  return "unknown";
}

const char* to_string(Reason reason) {
  switch (reason) {
    case Reason::kSitePattern: return "site_pattern";
    case Reason::kSiteFtraceTrampoline: return "site_ftrace_trampoline";
    case Reason::kSiteBpfTrampoline: return "bpf_trampoline";
    case Reason::kSitePartialWrite: return "site_partial_write";
    case Reason::kFtraceTrampolineUpdate: return "ftrace_trampoline_update";
    case Reason::kKprobeBreakpoint: return "kprobe_breakpoint";
    case Reason::kKprobeOptimized: return "kprobe_optimized";
    case Reason::kKprobeUnoptimized: return "kprobe_unoptimized";
    case Reason::kKprobesForbidden: return "kprobes_forbidden";
    case Reason::kBpfJitCopy: return "bpf_jit_copy";
    case Reason::kModuleText: return "module_text";
    case Reason::kUnknownMemory: return "unknown_memory";
    case Reason::kNotASite: return "not_a_site";
    case Reason::kPatternNotAllowed: return "pattern_not_allowed";
    case Reason::kBadLength: return "bad_length";
    case Reason::kModulesAllowed: return "modules_allowed";
    case Reason::kModulesForbidden: return "modules_forbidden";
    case Reason::kModuleUnloaded: return "module_unloaded";
    case Reason::kKernelImagePermission: return "kernel_image_permission";
    case Reason::kOutsideKernelImage: return "outside_kernel_image";
    case Reason::kCr0WpCleared: return "cr0_wp_cleared";
    case Reason::kCr4PinnedCleared: return "cr4_pinned_bit_cleared";
    case Reason::kControlRegisterOk: return "control_register_ok";
    case Reason::kBpfJitAllowed: return "bpf_jit_allowed";
    case Reason::kBpfJitForbidden: return "bpf_jit_forbidden";
    case Reason::kCodeRegistered: return "code_registered";
    case Reason::kCodeUnregistered: return "code_unregistered";
    case Reason::kMonitorAllowed: return "monitor_allowed";
    case Reason::kMonitorDenied: return "monitor_denied";
    case Reason::kTelemetryLoss: return "telemetry_loss";
  }
  return "unknown";
}

const char* to_string(EventType type) {
  switch (type) {
    case EventType::kTextPatch: return "text_patch";
    case EventType::kTextPoke: return "text_poke";
    case EventType::kModuleLoad: return "module_load";
    case EventType::kModuleFree: return "module_unload";
    case EventType::kSetMemoryX: return "set_memory_x";
    case EventType::kSetMemoryRw: return "set_memory_rw";
    case EventType::kWriteCr0: return "write_cr0";
    case EventType::kWriteCr4: return "write_cr4";
    case EventType::kBpfJitAlloc: return "bpf_jit_alloc";
    case EventType::kKsymbol: return "runtime_code";
    case EventType::kMonitorRecord: return "monitor";
    case EventType::kTelemetryLoss: return "telemetry_loss";
  }
  return "unknown";
}

const char* to_string(Origin origin) {
  switch (origin) {
    case Origin::kUnknown: return "unknown";
    case Origin::kJumpLabel: return "jump_label";
    case Origin::kStaticCall: return "static_call";
    case Origin::kFtrace: return "ftrace";
  }
  return "unknown";
}

const char* monitor_kind_name(uint16_t kind) {
  switch (kind) {
    case VG_KIND_TEXT_WRITE: return "monitor_text_write";
    case VG_KIND_PATCH_DENIED: return "monitor_patch_denied";
    case VG_KIND_PATCH_APPLIED: return "monitor_patch_applied";
    case VG_KIND_DATA_WRITE: return "monitor_data_write";
    case VG_KIND_MEDIATED_DENIED: return "monitor_mediated_denied";
    case VG_KIND_EXEC_VIOLATION: return "monitor_exec_violation";
    case VG_KIND_PINNED_REGISTER: return "monitor_pinned_register";
    case VG_KIND_MODULE_DENIED: return "monitor_module_denied";
    case VG_KIND_MODULE_LOADED: return "monitor_module_loaded";
    case VG_KIND_RMP_TAMPER: return "monitor_rmp_tamper";
    case VG_KIND_REQUEST_MALFORMED: return "monitor_request_malformed";
    case VG_KIND_WATCHED_CHANGED: return "monitor_watched_changed";
    case VG_KIND_POLICY_REFUSED: return "monitor_policy_refused";
    default: return "monitor_unknown";
  }
}

const char* monitor_verdict_name(uint8_t verdict) {
  switch (verdict) {
    case VG_VERDICT_ALLOWED: return "allowed";
    case VG_VERDICT_DENIED: return "denied";
    case VG_VERDICT_INJECTED: return "injected";
    case VG_VERDICT_STOPPED: return "stopped";
    default: return "unknown";
  }
}

const char* finding_kind(const Finding& finding) {
  if (finding.event.type == EventType::kMonitorRecord) {
    return monitor_kind_name(finding.event.record.kind);
  }
  return to_string(finding.event.type);
}

AttackMapping attack_for(const Finding& finding) {
  constexpr AttackMapping kRootkit{"T1014", "Rootkit", "TA0005", "Defense Evasion"};
  constexpr AttackMapping kKernelModules{"T1547.006",
                                         "Boot or Logon Autostart Execution: Kernel Modules and Extensions",
                                         "TA0003", "Persistence"};
  constexpr AttackMapping kExploitation{"T1068", "Exploitation for Privilege Escalation", "TA0004",
                                        "Privilege Escalation"};
  constexpr AttackMapping kIndicatorBlocking{"T1562.006", "Impair Defenses: Indicator Blocking", "TA0005",
                                             "Defense Evasion"};
  if (finding.verdict != Verdict::kViolation) return {};
  switch (finding.event.type) {
    case EventType::kTextPatch:
    case EventType::kTextPoke:
    case EventType::kSetMemoryX:
    case EventType::kSetMemoryRw:
    case EventType::kWriteCr0:
    case EventType::kBpfJitAlloc: return kRootkit;
    case EventType::kWriteCr4: return kExploitation;
    case EventType::kModuleLoad: return kKernelModules;
    case EventType::kTelemetryLoss: return kIndicatorBlocking;
    case EventType::kMonitorRecord:
      switch (finding.event.record.kind) {
        case VG_KIND_PINNED_REGISTER:
        case VG_KIND_RMP_TAMPER: return kExploitation;
        case VG_KIND_MODULE_DENIED: return kKernelModules;
        default: return kRootkit;
      }
    default: return {};
  }
}

}  // namespace vg::agent
