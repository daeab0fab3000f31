#include "partitions/partitions.h"

namespace vg::partitions {
namespace {

constexpr uint8_t kPermRead = 1u << 0;
constexpr uint8_t kPermWrite = 1u << 1;
constexpr uint8_t kPermUserExec = 1u << 2;
constexpr uint8_t kPermSupervisorExec = 1u << 3;
constexpr uint8_t kPermMask = kPermRead | kPermWrite | kPermUserExec | kPermSupervisorExec;
// What the kernel gets back when a page returns to it: data, never code.
// Execute permission for kernel pages is KCI's to grant, against its policy.
constexpr uint8_t kKernelDataPerms = kPermRead | kPermWrite;
constexpr DomainId kNoDomain{};

bool writable_and_executable(uint8_t perms) {
  return (perms & kPermWrite) != 0 && (perms & (kPermUserExec | kPermSupervisorExec)) != 0;
}

}  // namespace

Partitions::Partitions(const PartitionPolicy& policy, uint32_t vcpus)
    : policy_(policy), vcpus_(vcpus > kMaxVcpus ? kMaxVcpus : vcpus) {
  domains_[kMonitorDomain.raw()] = Domain{DomainKind::kMonitor, true};
  domains_[kKernelDomain.raw()] = Domain{DomainKind::kKernel, true};
  for (DomainId& current : current_) current = kKernelDomain;
  for (DomainId& resident : resident_) resident = kNoDomain;
  resident_[0] = kMonitorDomain;
  resident_[3] = kKernelDomain;
}

const Domain* Partitions::domain(DomainId id) const {
  if (id.raw() >= kMaxDomains || !domains_[id.raw()].alive) return nullptr;
  return &domains_[id.raw()];
}

Result<void, PartitionError> Partitions::live(DomainId id) const {
  if (domain(id) == nullptr) return Err{PartitionError::kUnknownDomain};
  return Ok{};
}

PageRecord* Partitions::find(Pfn pfn) {
  for (uint32_t i = 0; i < page_count_; ++i) {
    if (pages_[i].pfn == pfn) return &pages_[i];
  }
  return nullptr;
}

const PageRecord* Partitions::find(Pfn pfn) const {
  for (uint32_t i = 0; i < page_count_; ++i) {
    if (pages_[i].pfn == pfn) return &pages_[i];
  }
  return nullptr;
}

void Partitions::remove_record(PageRecord* record) {
  *record = pages_[page_count_ - 1];
  --page_count_;
}

DomainId Partitions::owner_of(Gpa page) const {
  const PageRecord* record = find(Pfn::of(page));
  return record == nullptr ? kKernelDomain : record->owner;
}

bool Partitions::is_vmsa(Gpa page) const {
  const PageRecord* record = find(Pfn::of(page));
  return record != nullptr && record->vmsa;
}

uint8_t Partitions::intended_perms(const PageRecord& record, Vmpl vmpl) const {
  if (record.vmsa || vmpl.raw() == 0) return 0;
  const DomainId resident = resident_[vmpl.raw()];
  if (resident == kNoDomain) return 0;
  uint8_t perms = 0;
  if (resident == record.owner && vmpl_of(domains_[record.owner.raw()].kind) == vmpl)
    perms |= record.owner_perms;
  if (resident.raw() < 64 && (record.shared_with >> resident.raw()) & 1u) perms |= record.share_perms;
  return perms;
}

bool Partitions::set_perms(const PageRecord& record, Vmpl vmpl, uint8_t perms) {
  // SAFETY: RMPADJUST from VMPL0 on a 4K guest page, targeting a numerically
  // greater VMPL, only ever lowering or setting that VMPL's permissions
  // [APM2 15.36.7]. The HAL reports refusal; nothing is assumed.
  return hal::rmpadjust(record.pfn.gpa(), hal::PageSize::k4K, hal::RmpAdjustAttributes{vmpl, perms, false}) ==
         hal::RmpStatus::kSuccess;
}

bool Partitions::reapply(DomainId domain, Vmpl vmpl) {
  bool ok = true;
  for (uint32_t i = 0; i < page_count_; ++i) {
    const PageRecord& record = pages_[i];
    const bool related =
        record.owner == domain || (domain.raw() < 64 && (record.shared_with >> domain.raw()) & 1u);
    if (!related || record.vmsa) continue;
    ok = set_perms(record, vmpl, intended_perms(record, vmpl)) && ok;
  }
  return ok;
}

bool Partitions::running_elsewhere(DomainId domain, uint32_t vcpu) const {
  for (uint32_t v = 0; v < vcpus_; ++v) {
    if (v != vcpu && current_[v] == domain) return true;
  }
  return false;
}

Result<DomainId, PartitionError> Partitions::create_domain(DomainKind kind) {
  // The monitor and the kernel exist once; only services and enclaves are made.
  if (kind != DomainKind::kService && kind != DomainKind::kEnclave) return Err{PartitionError::kWrongKind};
  for (uint16_t id = 2; id < kMaxDomains; ++id) {
    if (!domains_[id].alive) {
      domains_[id] = Domain{kind, true};
      return DomainId(id);
    }
  }
  return Err{PartitionError::kTableFull};
}

Result<void, PartitionError> Partitions::destroy_domain(DomainId id) {
  VG_TRY_VOID(live(id));
  if (id == kMonitorDomain || id == kKernelDomain) return Err{PartitionError::kWrongKind};
  if (running_elsewhere(id, kMaxVcpus)) return Err{PartitionError::kDomainRunning};

  const Vmpl vmpl = vmpl_of(domains_[id.raw()].kind);
  // Give the domain's pages back to the kernel, scrubbed first: the kernel
  // must never read what an enclave or service left behind.
  for (uint32_t i = 0; i < page_count_;) {
    PageRecord& record = pages_[i];
    if (record.owner == id) {
      static constexpr uint8_t kZeros[256] = {};
      for (uint64_t offset = 0; offset < kPageSize4K; offset += sizeof(kZeros)) {
        // SAFETY: VMPL0 writes a whole 4K page it tracks as the domain's;
        // no other VMPL can access it at this point except through shares,
        // which are revoked below before the kernel gets the page.
        (void)hal::write_guest(record.pfn.gpa() + offset, kZeros, sizeof(kZeros));
      }
      (void)set_perms(record, Vmpl(1), 0);
      (void)set_perms(record, Vmpl(2), 0);
      (void)set_perms(record, Vmpl(3), kKernelDataPerms);
      remove_record(&record);
      continue;
    }
    if (id.raw() < 64 && (record.shared_with >> id.raw()) & 1u) {
      record.shared_with &= ~(uint64_t{1} << id.raw());
      (void)set_perms(record, vmpl, intended_perms(record, vmpl));
    }
    ++i;
  }
  if (resident_[vmpl.raw()] == id) resident_[vmpl.raw()] = kNoDomain;
  domains_[id.raw()] = Domain{};
  return Ok{};
}

Result<void, PartitionError> Partitions::donate(DomainId id, Gpa page, uint8_t perms) {
  VG_TRY_VOID(live(id));
  const DomainKind kind = domains_[id.raw()].kind;
  if (kind != DomainKind::kService && kind != DomainKind::kEnclave) return Err{PartitionError::kWrongKind};
  if (!page.is_aligned(kPageSize4K)) return Err{PartitionError::kNotGuestPage};
  if ((perms & ~kPermMask) != 0 || perms == 0) return Err{PartitionError::kGrantExceedsHeld};
  if (writable_and_executable(perms)) return Err{PartitionError::kWritableExecutable};
  if (find(Pfn::of(page)) != nullptr) return Err{PartitionError::kPageInUse};
  if (page_count_ == kMaxPartitionedPages) return Err{PartitionError::kTableFull};

  PageRecord record{};
  record.pfn = Pfn::of(page);
  record.owner = id;
  record.owner_perms = perms;
  // The kernel loses access first; if the hardware refuses that, the page is
  // not a validated guest page and nothing has changed.
  if (!set_perms(record, Vmpl(3), 0)) return Err{PartitionError::kNotGuestPage};
  const Vmpl other = kind == DomainKind::kService ? Vmpl(2) : Vmpl(1);
  const Vmpl own = vmpl_of(kind);
  pages_[page_count_++] = record;
  if (!set_perms(record, other, 0) || !set_perms(record, own, intended_perms(record, own))) {
    (void)set_perms(record, other, 0);
    (void)set_perms(record, own, 0);
    (void)set_perms(record, Vmpl(3), kKernelDataPerms);
    --page_count_;
    return Err{PartitionError::kHardwareRefused};
  }
  return Ok{};
}

Result<void, PartitionError> Partitions::share(DomainId owner, Gpa page, DomainId with, uint8_t perms) {
  VG_TRY_VOID(live(owner));
  VG_TRY_VOID(live(with));
  PageRecord* record = find(Pfn::of(page));
  // Pages the manager does not track are the kernel's; the kernel cannot
  // hand out what KCI governs, and nobody can share a page it does not own.
  if (record == nullptr || record->owner != owner) return Err{PartitionError::kNotOwner};
  if (record->vmsa) return Err{PartitionError::kPageInUse};
  if (with == owner || with.raw() >= 64) return Err{PartitionError::kWrongKind};
  if (!policy_.can_share(domains_[owner.raw()].kind, domains_[with.raw()].kind)) {
    return Err{PartitionError::kShareNotAllowed};
  }
  if ((perms & ~record->owner_perms) != 0 || perms == 0) return Err{PartitionError::kGrantExceedsHeld};

  const PageRecord before = *record;
  record->share_perms = perms;
  record->shared_with |= uint64_t{1} << with.raw();
  // One permission set per page for all sharers: re-apply it everywhere.
  for (uint8_t v = 1; v < Vmpl::kCount; ++v) {
    if (!set_perms(*record, Vmpl(v), intended_perms(*record, Vmpl(v)))) {
      *record = before;
      for (uint8_t u = 1; u < Vmpl::kCount; ++u)
        (void)set_perms(*record, Vmpl(u), intended_perms(*record, Vmpl(u)));
      return Err{PartitionError::kHardwareRefused};
    }
  }
  return Ok{};
}

Result<void, PartitionError> Partitions::unshare(DomainId owner, Gpa page, DomainId with) {
  VG_TRY_VOID(live(owner));
  VG_TRY_VOID(live(with));
  PageRecord* record = find(Pfn::of(page));
  if (record == nullptr || record->owner != owner) return Err{PartitionError::kNotOwner};
  if (with.raw() >= 64) return Err{PartitionError::kWrongKind};
  record->shared_with &= ~(uint64_t{1} << with.raw());
  const Vmpl vmpl = vmpl_of(domains_[with.raw()].kind);
  if (!set_perms(*record, vmpl, intended_perms(*record, vmpl))) return Err{PartitionError::kHardwareRefused};
  return Ok{};
}

Result<void, PartitionError> Partitions::switch_domain(uint32_t vcpu, DomainId from, DomainId to) {
  if (vcpu >= vcpus_) return Err{PartitionError::kNotCurrent};
  VG_TRY_VOID(live(from));
  VG_TRY_VOID(live(to));
  // The vCPU's current domain is the monitor's record, not the caller's
  // claim: a kernel pretending to be an enclave is refused here.
  if (current_[vcpu] != from) return Err{PartitionError::kNotCurrent};
  if (!policy_.can_switch(domains_[from.raw()].kind, domains_[to.raw()].kind)) {
    return Err{PartitionError::kEdgeNotAllowed};
  }
  const Vmpl vmpl = vmpl_of(domains_[to.raw()].kind);
  const DomainId previous = resident_[vmpl.raw()];
  if (previous != to) {
    if (previous != kNoDomain && running_elsewhere(previous, vcpu)) return Err{PartitionError::kBusy};
    // Revoke the old set before granting the new one, so that no instant
    // exists where the VMPL can touch both domains' pages.
    resident_[vmpl.raw()] = kNoDomain;
    bool ok = previous == kNoDomain || reapply(previous, vmpl);
    if (ok) {
      resident_[vmpl.raw()] = to;
      ok = reapply(to, vmpl);
    }
    if (!ok) {
      resident_[vmpl.raw()] = kNoDomain;
      (void)reapply(to, vmpl);
      resident_[vmpl.raw()] = previous;
      if (previous != kNoDomain) (void)reapply(previous, vmpl);
      return Err{PartitionError::kHardwareRefused};
    }
  }
  current_[vcpu] = to;
  return Ok{};
}

Result<void, PartitionError> Partitions::create_vmsa(DomainId id, uint32_t vcpu, Gpa page) {
  VG_TRY_VOID(live(id));
  const DomainKind kind = domains_[id.raw()].kind;
  // The monitor's own VMSA comes from the launch; the monitor never makes a
  // VMPL0 VMSA at run time.
  if (kind == DomainKind::kMonitor) return Err{PartitionError::kWrongKind};
  if (vcpu >= vcpus_) return Err{PartitionError::kNotCurrent};
  const Vmpl vmpl = vmpl_of(kind);
  if (vmsa_pfn_[vcpu][vmpl.raw()] != 0) return Err{PartitionError::kVmsaExists};
  if (!page.is_aligned(kPageSize4K) || page.raw() == 0) return Err{PartitionError::kNotGuestPage};
  if (find(Pfn::of(page)) != nullptr) return Err{PartitionError::kPageInUse};
  if (page_count_ == kMaxPartitionedPages) return Err{PartitionError::kTableFull};

  PageRecord record{};
  record.pfn = Pfn::of(page);
  record.owner = kMonitorDomain;
  // Take the page from every lower VMPL first: a VMSA the kernel can still
  // write is a vCPU the kernel controls [APM2 15.36.9].
  if (!set_perms(record, Vmpl(3), 0)) return Err{PartitionError::kNotGuestPage};
  const bool ok = set_perms(record, Vmpl(2), 0) && set_perms(record, Vmpl(1), 0) &&
                  // SAFETY: VMSA bit set by VMPL0 with a VMPL1 target and no
                  // permissions, as Linux's snp_set_vmsa does at VMPL0.
                  hal::rmpadjust(page, hal::PageSize::k4K, hal::RmpAdjustAttributes{Vmpl(1), 0, true}) ==
                      hal::RmpStatus::kSuccess;
  if (!ok) {
    (void)set_perms(record, Vmpl(3), kKernelDataPerms);
    return Err{PartitionError::kHardwareRefused};
  }
  record.vmsa = true;
  pages_[page_count_++] = record;
  vmsa_pfn_[vcpu][vmpl.raw()] = record.pfn.raw();
  return Ok{};
}

Result<void, PartitionError> Partitions::delete_vmsa(Gpa page) {
  PageRecord* record = find(Pfn::of(page));
  if (record == nullptr || !record->vmsa) return Err{PartitionError::kNotOwner};
  // SAFETY: clears the VMSA bit of a page the monitor itself made a VMSA;
  // the page gets no permissions until it is handed back below.
  if (hal::rmpadjust(page, hal::PageSize::k4K, hal::RmpAdjustAttributes{Vmpl(1), 0, false}) !=
      hal::RmpStatus::kSuccess) {
    return Err{PartitionError::kHardwareRefused};
  }
  for (uint32_t vcpu = 0; vcpu < vcpus_; ++vcpu) {
    for (uint64_t& pfn : vmsa_pfn_[vcpu]) {
      if (pfn == record->pfn.raw()) pfn = 0;
    }
  }
  PageRecord returned = *record;
  returned.vmsa = false;
  remove_record(record);
  (void)set_perms(returned, Vmpl(3), kKernelDataPerms);
  return Ok{};
}

}  // namespace vg::partitions
