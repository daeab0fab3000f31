// Decoding a violation exit: the host's report (hostile) checked against the
// faulting VMPL's VMSA and guest memory (trusted: encrypted, integrity
// protected), turned into the kci::ViolationExit that KCI judges, and the
// means to carry out its verdict on the VMSA.
#pragma once

#include <stdint.h>

#include "base/result.h"
#include "hal/hal.h"
#include "kci/service.h"
#include "monitor/insn_length.h"
#include "monitor/page_walk.h"

namespace vg::monitor {

// #NPF error-code bits [APM2 15.25.6, 15.36.10].
inline constexpr uint64_t kNpfWrite = 1ull << 1;
inline constexpr uint64_t kNpfUser = 1ull << 2;
inline constexpr uint64_t kNpfFetch = 1ull << 4;
inline constexpr uint64_t kNpfRmp = 1ull << 31;
inline constexpr uint64_t kNpfVmpl = 1ull << 36;

enum class ViolationError : uint8_t {
  kNotNpf,        // the exit code is not VMEXIT_NPF
  kNotVmplFault,  // the error code lacks the RMP or VMPL bit
  kWrongVmpl,     // the faulting VMPL is not the one the monitor guards
};

enum class AccessKind : uint8_t { kRead, kWrite, kSupervisorExec, kUserExec };

struct DecodedViolation {
  kci::ViolationExit exit;
  AccessKind access;
};

// Pure: checks and decodes; touches no state.
Result<DecodedViolation, ViolationError> decode_violation(uint32_t vcpu, const hal::ExitInfo& info,
                                                          Vmpl guarded, const hal::VmsaState& faulting);

// The faulting instruction's length, read at RIP through the faulting VMPL's
// page tables. Fails if the bytes cannot be read or decoded.
Result<uint8_t, LengthError> faulting_instruction_length(const hal::VmsaState& faulting, uint64_t c_bit_mask);

// Event injection [APM2 15.20]: vector 7:0, type 10:8 (3 = exception),
// error-code valid 11, valid 31, error code 63:32.
inline constexpr uint64_t kEventTypeException = 3;
inline constexpr uint64_t kEventErrorCodeValid = 1ull << 11;
inline constexpr uint64_t kEventValid = 1ull << 31;
inline constexpr uint8_t kVectorGp = 13;
inline constexpr uint8_t kVectorPf = 14;
constexpr uint64_t exception_event(uint8_t vector, uint32_t error_code) {
  return uint64_t{vector} | kEventTypeException << 8 | kEventErrorCodeValid | kEventValid |
         uint64_t{error_code} << 32;
}

// Sets the VMSA so that the kernel takes the fault for this violation on
// resume: #PF (CR2 = RIP, fetch error code) for an execute violation, #GP(0)
// for a data access, whose linear address the monitor does not know.
void inject_fault(hal::VmsaState& faulting, AccessKind access);

}  // namespace vg::monitor
