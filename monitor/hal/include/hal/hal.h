// The monitor's hardware layer. One interface, two implementations chosen at
// build time by CMake (VMPLGUARD_HAL): hal/snp (real SEV-SNP instructions in
// the VMPL0 image) and hal/sim (the simulated platform for hosted tests).
// Plain functions, not virtual calls: the hot paths inline straight through.
//
// Every function here is a privileged or guest-memory operation; the
// implementations carry the SAFETY reasoning.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/types.h"

namespace vg::hal {

enum class PageSize : uint8_t { k4K = 0, k2M = 1 };

// RMPADJUST return codes [APM2 15.36.7; APM3 RMPADJUST].
enum class RmpStatus : uint32_t {
  kSuccess = 0,
  kFailInput = 1,
  kFailPermission = 2,
  kFailSizeMismatch = 6,
  // Not a return code: the instruction did not complete. On hardware the
  // page is not assigned to this guest (#NPF to the host) or not validated
  // (#VC PAGE_NOT_VALIDATED); the sim reports it so that callers see it.
  kNotAssigned = 0x20,
  kNotValidated = 0x21,
};

// PVALIDATE return codes [APM3 PVALIDATE]; kFailUnchanged stands for
// rFLAGS.CF = 1 with RAX = 0 (the page was already in the requested state).
enum class PvalidateStatus : uint32_t {
  kSuccess = 0,
  kFailInput = 1,
  kFailSizeMismatch = 6,
  kFailUnchanged = 0x10,
  kNotAssigned = 0x20,  // #NPF on hardware: the page is not the guest's
};

// RMPADJUST's RDX operand [APM3 RMPADJUST]: target VMPL in bits 7:0,
// permission mask in bits 15:8, VMSA page in bit 16.
struct RmpAdjustAttributes {
  Vmpl target;
  uint8_t perms;  // policy::Perm bits: read, write, user-exec, supervisor-exec
  bool vmsa;

  constexpr uint64_t encode() const {
    return uint64_t{target.raw()} | uint64_t{perms} << 8 | uint64_t{vmsa ? 1u : 0u} << 16;
  }
};

RmpStatus rmpadjust(Gpa page, PageSize size, RmpAdjustAttributes attributes);
PvalidateStatus pvalidate(Gpa page, PageSize size, bool validate);

// Guest memory as the monitor sees it (VMPL0 can access every guest page).
// Return false if the range is not guest memory; they never fault.
bool read_guest(Gpa source, void* destination, size_t length);
bool write_guest(Gpa destination, const void* source, size_t length);

// The saved state of (vcpu, vmpl), as far as the monitor inspects or edits it
// [APM2 Table B-4, VMSA layout]. Read and written as a copy: the monitor
// decodes a snapshot and commits changes explicitly.
struct VmsaState {
  uint64_t rip, rsp, rax, rcx, rdx, r8, r9;
  uint64_t cr0, cr2, cr3, cr4, efer;
  uint64_t lstar, star, cstar, sfmask;
  uint64_t idtr_base, gdtr_base;
  uint16_t idtr_limit, gdtr_limit;
  uint8_t cpl;
  // Event injection field [APM2 15.20]: vector, type, valid bit.
  uint64_t event_inject;
  uint64_t guest_exit_code, guest_exit_info1, guest_exit_info2;
};

bool read_vmsa(uint32_t vcpu, Vmpl vmpl, VmsaState& out);
bool write_vmsa(uint32_t vcpu, Vmpl vmpl, const VmsaState& state);

// GHCB MSR protocol request to the host [GHCB 56421 2.3.1]: ask it to run the
// given VMPL on this vCPU (request 0x016, response 0x017).
bool request_run_vmpl(Vmpl vmpl);

// Monotonic timestamp for records (RDTSC on hardware).
uint64_t timestamp();

// ---- Additions for the monitor's entry path (additive; see docs/host-contract.md).

// #VMEXIT code of a nested page fault [APM2 Appendix C, VMEXIT_NPF].
inline constexpr uint64_t kExitCodeNpf = 0x400;
// Exit code meaning "VMPL0 was run on request, no fault to report".
inline constexpr uint64_t kExitCodeNone = 0;

// Why the host ran VMPL0 on this vCPU, as the host reports it. Host-written,
// hence hostile: the monitor checks it against state it trusts (the lower
// VMPL's VMSA, guest memory, its own RMP settings) before acting on it.
// For a forwarded VMPL violation: exit_code = kExitCodeNpf, info1 = #NPF
// error code (RMP bit 31, VMPL bit 36), info2 = faulting GPA, vmpl = the
// VMPL that faulted [APM2 15.36.10].
struct ExitInfo {
  uint64_t exit_code = kExitCodeNone;
  uint64_t info1 = 0;
  uint64_t info2 = 0;
  uint8_t vmpl = 0;
};

// Reads (and consumes) the host's report for `vcpu`. Returns false if none
// can be read; the monitor then treats the entry as a plain run request.
bool read_exit_info(uint32_t vcpu, ExitInfo& out);

// Asks the host to terminate the guest [GHCB 56421 2.3.6, MSR protocol
// termination request 0x100]. On hardware it does not return; the sim marks
// the guest stopped and returns so that tests can inspect the state.
void terminate_guest(uint8_t reason_set, uint8_t reason_code);

}  // namespace vg::hal
