// Kernel code integrity (KCI): the policy-enforcing service inside the
// monitor. The monitor's dispatcher decodes an exit and calls in here; KCI
// decides, changes RMP permissions through the HAL and writes records
// through the telemetry ring.
//
// Every handler is decode-then-commit [seL4 style]: it copies the request out
// of guest memory into monitor memory, validates all of it against the
// policy, and only then changes state. A refused request changes nothing.
#pragma once

#include <stdint.h>

#include "base/result.h"
#include "base/types.h"
#include "monitor/telemetry.h"
#include "monitor/vmplguard_abi.h"
#include "policy/reader.h"

namespace vg::kci {

enum class LoadError : uint8_t {
  kTooLarge,         // over the monitor's policy buffer (sized at build time)
  kMalformed,        // PolicyView::parse refused it; see parse_error
  kReplayed,         // serial lower than the last accepted policy's
  kAlreadyEnforcing, // a kernel is registered; policies cannot be swapped under it
};

struct LoadFailure {
  LoadError error;
  policy::ParseError parse_error;  // meaningful when error == kMalformed
};

// Register values of a vmplguard call, as read from the caller's VMSA.
struct CallArgs {
  uint64_t rcx = 0, rdx = 0, r8 = 0, r9 = 0;
};
struct CallOutcome {
  uint32_t result = VG_RESULT_SUCCESS;  // becomes RAX
  uint64_t rcx = 0, rdx = 0;            // optional outputs
};

// A VMPL #NPF the host forwarded: exit info 1 is the #NPF error code (RMP bit
// 31, VMPL bit 36, write bit 1, execute bit 4), exit info 2 the GPA
// [APM2 15.36.10].
struct ViolationExit {
  uint32_t vcpu = 0;
  Vmpl vmpl{3};
  Gpa gpa{};
  uint64_t error_code = 0;
  uint64_t rip = 0;      // from the faulting VMPL's VMSA
  uint64_t address = 0;  // faulting VA when the monitor could decode it, else 0
};

enum class Verdict : uint8_t {
  kAllowed,        // not a violation of ours (for example a page the policy does not cover)
  kDeniedSkip,     // skip the faulting instruction, guest continues
  kInjectFault,    // inject #PF/#GP into the kernel
  kStopGuest,
};

class Service {
 public:
  explicit Service(monitor::TelemetryRing& ring) : ring_(ring) {}

  // Copies `bytes` into the monitor's policy buffer and parses the copy.
  Result<void, LoadFailure> load_policy(ByteView bytes);
  bool policy_loaded() const { return loaded_; }
  const policy::PolicyView& policy() const { return policy_; }

  // One vmplguard protocol call (VG_CALL_*) made by `vcpu` at `caller`.
  CallOutcome handle_call(uint32_t vcpu, Vmpl caller, uint32_t call, const CallArgs& args);

  // A forwarded VMPL violation: attribute it, decide, record it.
  Verdict handle_violation(const ViolationExit& exit);

  // Checks at every monitor entry that cannot wait for a fault: watched
  // objects against their baseline. Records each change once.
  void check_watched();

  bool kernel_registered() const { return registered_; }

 private:
  monitor::TelemetryRing& ring_;
  policy::PolicyView policy_{};
  bool loaded_ = false;
  bool registered_ = false;
  // The KCI implementation adds its state here (registered kernel layout,
  // locked ranges, modules, baselines), sized at build time.
};

}  // namespace vg::kci
