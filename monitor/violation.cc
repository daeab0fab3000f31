#include "monitor/violation.h"

namespace vg::monitor {
namespace {

constexpr uint64_t kCr4La57 = 1ull << 12;  // [APM2 3.1.3]
constexpr uint32_t kPfPresent = 1u << 0;
constexpr uint32_t kPfUser = 1u << 2;
constexpr uint32_t kPfFetch = 1u << 4;

AccessKind access_of(uint64_t error_code) {
  if ((error_code & kNpfFetch) != 0) {
    return (error_code & kNpfUser) != 0 ? AccessKind::kUserExec : AccessKind::kSupervisorExec;
  }
  return (error_code & kNpfWrite) != 0 ? AccessKind::kWrite : AccessKind::kRead;
}

}  // namespace

Result<DecodedViolation, ViolationError> decode_violation(uint32_t vcpu, const hal::ExitInfo& info,
                                                          Vmpl guarded, const hal::VmsaState& faulting) {
  if (info.exit_code != hal::kExitCodeNpf) return Err{ViolationError::kNotNpf};
  // Only RMP faults caused by a VMPL permission check are ours; any other
  // #NPF is the host's own business [APM2 15.36.10].
  if ((info.info1 & kNpfRmp) == 0 || (info.info1 & kNpfVmpl) == 0) return Err{ViolationError::kNotVmplFault};
  if (info.vmpl != guarded.raw()) return Err{ViolationError::kWrongVmpl};
  DecodedViolation decoded{};
  decoded.access = access_of(info.info1);
  decoded.exit.vcpu = vcpu;
  decoded.exit.vmpl = guarded;
  decoded.exit.gpa = Gpa(info.info2);
  decoded.exit.error_code = info.info1;
  // RIP comes from the faulting VMPL's VMSA, which the host cannot forge.
  decoded.exit.rip = faulting.rip;
  // For a fetch, the faulting linear address is RIP itself; for data, the
  // #NPF carries only the GPA, and KCI maps it back through the kernel's
  // registered layout.
  const bool fetch = decoded.access == AccessKind::kSupervisorExec || decoded.access == AccessKind::kUserExec;
  decoded.exit.address = fetch ? faulting.rip : 0;
  return decoded;
}

Result<uint8_t, LengthError> faulting_instruction_length(const hal::VmsaState& faulting,
                                                         uint64_t c_bit_mask) {
  uint8_t bytes[kMaxInstructionLength] = {};
  const PagingMode mode{faulting.cr3, (faulting.cr4 & kCr4La57) != 0, c_bit_mask};
  const size_t got = read_guest_virtual(mode, Gva(faulting.rip), bytes, sizeof(bytes));
  return instruction_length(ByteView{bytes, got});
}

void inject_fault(hal::VmsaState& faulting, AccessKind access) {
  switch (access) {
    case AccessKind::kSupervisorExec:
      faulting.cr2 = faulting.rip;
      faulting.event_inject = exception_event(kVectorPf, kPfPresent | kPfFetch);
      return;
    case AccessKind::kUserExec:
      faulting.cr2 = faulting.rip;
      faulting.event_inject = exception_event(kVectorPf, kPfPresent | kPfFetch | kPfUser);
      return;
    case AccessKind::kRead:
    case AccessKind::kWrite: faulting.event_inject = exception_event(kVectorGp, 0); return;
  }
}

}  // namespace vg::monitor
