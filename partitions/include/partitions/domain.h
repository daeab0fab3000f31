// Domains: the isolation units the monitor builds on top of SEV-SNP's four
// VMPLs, Veil style [Veil, ASPLOS'23]. Each domain runs at one VMPL; several
// domains of the same kind share a VMPL by switching which domain's pages
// that VMPL may touch (RMP permission sets are per VMPL, not per domain).
#pragma once

#include <stdint.h>

#include "base/types.h"

namespace vg::partitions {

enum class DomainKind : uint8_t {
  kMonitor = 0,  // VMPL0: vmplguard itself
  kService = 1,  // VMPL1: protected services (e.g. a vTPM, a log service)
  kEnclave = 2,  // VMPL2: enclaves for user programs
  kKernel = 3,   // VMPL3: the untrusted kernel and its user space
};
inline constexpr uint8_t kDomainKinds = 4;

// The VMPL a kind of domain runs at; fixed by the design.
constexpr Vmpl vmpl_of(DomainKind kind) {
  return Vmpl(static_cast<uint8_t>(kind));
}

class DomainId {
 public:
  constexpr DomainId() = default;
  constexpr explicit DomainId(uint16_t raw) : raw_(raw) {}
  constexpr uint16_t raw() const { return raw_; }
  friend constexpr bool operator==(DomainId, DomainId) = default;

 private:
  uint16_t raw_ = 0xffff;
};

// Two domains exist from the start and can never be destroyed.
inline constexpr DomainId kMonitorDomain{0};
inline constexpr DomainId kKernelDomain{1};

enum class PartitionError : uint8_t {
  kTableFull,           // no free domain slot or page-table entry (sized at build time)
  kUnknownDomain,       // the id names no live domain
  kWrongKind,           // the operation does not apply to this kind of domain
  kNotCurrent,          // the switch does not start from the vCPU's current domain
  kEdgeNotAllowed,      // the partition policy has no such switch edge
  kBusy,                // the target VMPL hosts another domain running on another vCPU
  kNotOwner,            // the caller does not own the page
  kPageInUse,           // the page already belongs to a domain other than the kernel
  kShareNotAllowed,     // the policy does not let these kinds share pages
  kGrantExceedsHeld,    // the grant asks for permissions the owner does not hold
  kNotGuestPage,        // not a validated guest page (or misaligned)
  kVmsaExists,          // (vCPU, VMPL) already has a VMSA
  kHardwareRefused,     // RMPADJUST failed; the state was rolled back
  kDomainRunning,       // the domain is current on some vCPU
  kWritableExecutable,  // a page may be writable or executable, never both
};

const char* describe(PartitionError error);

}  // namespace vg::partitions
