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
};

// PVALIDATE return codes [APM3 PVALIDATE]; kFailUnchanged stands for
// rFLAGS.CF = 1 with RAX = 0 (the page was already in the requested state).
enum class PvalidateStatus : uint32_t {
  kSuccess = 0,
  kFailInput = 1,
  kFailSizeMismatch = 6,
  kFailUnchanged = 0x10,
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

}  // namespace vg::hal
