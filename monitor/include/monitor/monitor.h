// The VMPL0 monitor's entry and exit dispatch: the one place where control
// arrives when the host runs VMPL0 on a vCPU.
//
// At each entry, in order:
//  1. pinned-register check of the kernel's VMSA (CR0/CR4/EFER/syscall
//     MSRs/IDTR/GDTR against the values locked at kernel registration);
//  2. a violation exit, if the host reported one: decode it, ask KCI for the
//     verdict, carry it out (skip the instruction, inject a fault, stop);
//  3. an SVSM call, if the kernel's calling area has its call-pending byte
//     set: core protocol 0 (QUERY_PROTOCOL) here, vmplguard's protocol to
//     KCI (which also sets up the ring: it knows the pages it protects),
//     except VG_CALL_ACK_RING, which only moves the monitor's ring state;
//  4. KCI's watched-object check.
// Then the kernel's VMSA is written back once, and the host is asked to run
// the kernel's VMPL again (or to terminate the guest).
//
// Portable and freestanding: no allocation, no virtual calls; everything
// per-vCPU is in fixed arrays sized by kMaxVcpus.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/spinlock.h"
#include "base/types.h"
#include "hal/hal.h"
#include "kci/service.h"
#include "monitor/pinned_registers.h"
#include "monitor/telemetry.h"

namespace vg::monitor {

namespace svsm {
class CoreProtocol;
}  // namespace svsm

inline constexpr uint32_t kMaxVcpus = 64;

// Reason codes for the GHCB termination request (reason set 0x3 is
// vmplguard's) [GHCB 56421 2.3.6 leaves sets other than 0 and 1 to the guest].
inline constexpr uint8_t kTerminateReasonSet = 3;
inline constexpr uint8_t kTerminateViolation = 1;
inline constexpr uint8_t kTerminatePinnedRegister = 2;
inline constexpr uint8_t kTerminateBadState = 3;

struct MonitorConfig {
  Vmpl kernel_vmpl{3};
  uint32_t vcpus = 1;
  // 1 << C-bit position in guest page-table entries (CPUID 0x8000001F
  // EBX[5:0] on hardware), masked out of the addresses the monitor walks.
  uint64_t c_bit_mask = 0;
  PinResponse pin_response = PinResponse::kRestore;
};

// What happened at an entry, for tests and the monitor's own counters.
struct MonitorStats {
  uint64_t entries = 0;
  uint64_t calls = 0;
  uint64_t violations = 0;
  uint64_t spurious_exits = 0;  // host reports that failed the checks
  uint64_t skipped = 0;         // instructions skipped after a denial
  uint64_t injected = 0;
  uint64_t pinned_changes = 0;
  uint64_t vmsa_failures = 0;
};

enum class EntryResult : uint8_t { kResume, kStop };

class Monitor {
 public:
  Monitor(kci::Service& service, TelemetryRing& ring, const MonitorConfig& config);

  // The calling area of `vcpu` [SVSM 58019 4.1.1]; chosen by the monitor at
  // boot (or REMAP_CA later) and told to the kernel through the secrets page.
  bool set_calling_area(uint32_t vcpu, Gpa caa);

  // Routes the SVSM core protocol's calls other than QUERY_PROTOCOL
  // (REMAP_CA, PVALIDATE, CREATE_VCPU, DELETE_VCPU, ...) to `core`, with KCI
  // vetoing PVALIDATE of the pages it protects. Without it they are answered
  // with SVSM_ERR_UNSUPPORTED_CALL.
  void attach_core_protocol(svsm::CoreProtocol& core);

  // Handles one entry on `vcpu`; changes nothing in the host's view. Entries
  // are serialized: each holds entry_lock() throughout, because KCI's state,
  // the telemetry ring and the RMP permissions KCI manages are shared by all
  // vCPUs and an entry reads, decides and commits as one step.
  EntryResult handle_entry(uint32_t vcpu);
  // Held by every entry; a caller that must change shared monitor state
  // between entries (e.g. bringing up an AP) holds it too.
  SpinLock& entry_lock() { return entry_lock_; }

  // handle_entry, then the request to the host: run the kernel's VMPL, or
  // terminate. The snp image's per-vCPU loop is `for (;;) run_once(vcpu);`,
  // the sim calls it from its VMPL0 entry hook.
  void run_once(uint32_t vcpu);
  static void entry_trampoline(void* monitor, uint32_t vcpu) {
    static_cast<Monitor*>(monitor)->run_once(vcpu);
  }

  const MonitorStats& stats() const { return stats_; }
  const MonitorConfig& config() const { return config_; }
  bool pins_locked(uint32_t vcpu) const { return vcpu < kMaxVcpus && pins_[vcpu].locked(); }

 private:
  struct Entry;  // one entry's working state (the kernel's VMSA copy, flags)

  void check_pinned(Entry& entry);
  EntryResult handle_violation(Entry& entry, const hal::ExitInfo& info);
  void handle_call(Entry& entry);
  kci::CallOutcome vmplguard_call(Entry& entry, uint32_t call);
  kci::CallOutcome core_call(Entry& entry, uint32_t call);

  SpinLock entry_lock_;
  kci::Service& service_;
  TelemetryRing& ring_;
  MonitorConfig config_;
  MonitorStats stats_{};
  Gpa calling_area_[kMaxVcpus] = {};
  bool has_calling_area_[kMaxVcpus] = {};
  PinnedRegisters pins_[kMaxVcpus];
  svsm::CoreProtocol* core_ = nullptr;
};

}  // namespace vg::monitor
