// The partition manager: domains, page ownership, sharing, domain switches
// and VMSAs, enforced through RMPADJUST.
//
// Rules it guarantees (and tests/partitions checks after every operation):
//  - a page belongs to exactly one domain; pages the manager does not track
//    belong to the kernel;
//  - a domain's pages are accessible at another VMPL only through a share
//    the policy allows, with no more permissions than the owner holds;
//  - a VMPL shared by several domains (services, enclaves) grants access to
//    the pages of its resident domain only; switching the resident domain
//    revokes the old set before granting the new one;
//  - switches happen only along policy edges, from the vCPU's current domain;
//  - VMSA pages are made by the monitor (RMPADJUST with the VMSA bit), one per
//    (vCPU, VMPL), on pages taken away from every other VMPL first.
// Every operation decodes and checks everything before it changes anything;
// if the hardware still refuses, what was done is rolled back.
//
// Freestanding: fixed-size tables, no heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"
#include "base/types.h"
#include "hal/hal.h"
#include "partitions/domain.h"
#include "partitions/partition_policy.h"

namespace vg::partitions {

inline constexpr uint16_t kMaxDomains = 64;
inline constexpr uint32_t kMaxPartitionedPages = 4096;
inline constexpr uint32_t kMaxVcpus = 64;

struct Domain {
  DomainKind kind = DomainKind::kKernel;
  bool alive = false;
};

// One page taken from the kernel.
struct PageRecord {
  Pfn pfn;
  DomainId owner;
  uint8_t owner_perms = 0;   // at the owner's VMPL, when it is resident
  uint8_t share_perms = 0;   // for every domain in shared_with
  uint64_t shared_with = 0;  // bit i: DomainId(i)
  bool vmsa = false;
};

class Partitions {
 public:
  // `vcpus` vCPUs, all starting in the kernel domain. The kernel's own page
  // permissions are KCI's business; this manager only touches pages it takes.
  Partitions(const PartitionPolicy& policy, uint32_t vcpus);

  Result<DomainId, PartitionError> create_domain(DomainKind kind);
  // Scrubs and returns every page of the domain to the kernel.
  Result<void, PartitionError> destroy_domain(DomainId domain);

  // Moves a kernel page to `domain` with `perms` at its VMPL. The kernel
  // loses all access.
  Result<void, PartitionError> donate(DomainId domain, Gpa page, uint8_t perms);
  Result<void, PartitionError> share(DomainId owner, Gpa page, DomainId with, uint8_t perms);
  Result<void, PartitionError> unshare(DomainId owner, Gpa page, DomainId with);

  // `from` asks the monitor to run `to` on `vcpu`.
  Result<void, PartitionError> switch_domain(uint32_t vcpu, DomainId from, DomainId to);

  // Makes `page` (a kernel page) the VMSA of (vcpu, the domain's VMPL).
  Result<void, PartitionError> create_vmsa(DomainId domain, uint32_t vcpu, Gpa page);

  // Turns a VMSA page made by create_vmsa back into a kernel data page.
  Result<void, PartitionError> delete_vmsa(Gpa page);

  const Domain* domain(DomainId id) const;
  DomainId current(uint32_t vcpu) const { return current_[vcpu]; }
  DomainId resident(Vmpl vmpl) const { return resident_[vmpl.raw()]; }
  // The owner of a page: the kernel for every page not taken.
  DomainId owner_of(Gpa page) const;
  bool is_vmsa(Gpa page) const;
  // Read-only access to the table, for invariant checks.
  const PageRecord* pages() const { return pages_; }
  uint32_t page_count() const { return page_count_; }

  // The permissions the manager intends `vmpl` to have on a page it tracks.
  uint8_t intended_perms(const PageRecord& record, Vmpl vmpl) const;

 private:
  PageRecord* find(Pfn pfn);
  const PageRecord* find(Pfn pfn) const;
  Result<void, PartitionError> live(DomainId id) const;
  // Re-applies the intended permissions at `vmpl` of every page owned by or
  // shared with `domain`. False if the hardware refused one.
  bool reapply(DomainId domain, Vmpl vmpl);
  bool set_perms(const PageRecord& record, Vmpl vmpl, uint8_t perms);
  bool running_elsewhere(DomainId domain, uint32_t vcpu) const;
  void remove_record(PageRecord* record);

  PartitionPolicy policy_;
  uint32_t vcpus_;
  Domain domains_[kMaxDomains];
  PageRecord pages_[kMaxPartitionedPages];
  uint32_t page_count_ = 0;
  DomainId current_[kMaxVcpus];
  DomainId resident_[Vmpl::kCount];
  // The VMSA page of each (vCPU, VMPL) the monitor created, 0 if none.
  uint64_t vmsa_pfn_[kMaxVcpus][Vmpl::kCount] = {};
};

}  // namespace vg::partitions
