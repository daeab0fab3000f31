#include "hal/sim/platform.h"

#include <string.h>

#include "base/assert.h"
#include "hal/ghcb_msr.h"

namespace vg::hal::sim {
namespace {

SimPlatform* g_current = nullptr;

constexpr uint64_t kEntriesPer2M = kPageSize2M / kPageSize4K;  // 512

uint64_t span_of(PageSize size) {
  return size == PageSize::k2M ? kEntriesPer2M : 1;
}

uint8_t required_perm(Access access) {
  switch (access) {
    case Access::kRead: return kPermRead;
    case Access::kWrite: return kPermWrite;
    case Access::kUserExec: return kPermUserExec;
    case Access::kSupervisorExec: return kPermSupervisorExec;
  }
  return kPermAll;
}

// The access-type bits of the #NPF error code [APM2 15.25.6].
uint64_t access_error_bits(Access access) {
  switch (access) {
    case Access::kRead: return 0;
    case Access::kWrite: return kNpfWrite;
    case Access::kUserExec: return kNpfFetch | kNpfUser;
    case Access::kSupervisorExec: return kNpfFetch;
  }
  return 0;
}

InstructionOutcome completed(uint32_t rax) {
  return InstructionOutcome{Fault::kNone, 0, rax, false};
}
InstructionOutcome faulted(Fault fault, uint64_t error_code) {
  return InstructionOutcome{fault, error_code, 0, false};
}

}  // namespace

SimPlatform::SimPlatform(uint64_t guest_pages, uint32_t vcpus)
    : memory_(guest_pages * kPageSize4K),
      rmp_(guest_pages),
      vmsa_(size_t{vcpus} * Vmpl::kCount),
      pending_exit_(vcpus),
      resume_vmpl_(vcpus, 0),
      vcpus_(vcpus) {
  VG_ASSERT(vcpus > 0);
}

SimPlatform::~SimPlatform() {
  if (g_current == this) g_current = nullptr;
}

SimPlatform* SimPlatform::current() {
  return g_current;
}
void SimPlatform::install() {
  g_current = this;
}
void SimPlatform::uninstall() {
  if (g_current == this) g_current = nullptr;
}

bool SimPlatform::page_index(Gpa gpa, uint64_t& index) const {
  index = gpa.raw() / kPageSize4K;
  return index < rmp_.size();
}

const RmpEntry* SimPlatform::rmp_entry(Gpa gpa) const {
  uint64_t index = 0;
  return page_index(gpa, index) ? &rmp_[index] : nullptr;
}

VmsaState& SimPlatform::vmsa(uint32_t vcpu, Vmpl vmpl) {
  VG_ASSERT(vcpu < vcpus_ && vmpl.valid());
  return vmsa_[size_t{vcpu} * Vmpl::kCount + vmpl.raw()];
}

uint8_t* SimPlatform::memory(Gpa gpa, size_t length) {
  if (gpa.raw() > memory_.size() || length > memory_.size() - gpa.raw()) return nullptr;
  return memory_.data() + gpa.raw();
}

uint8_t SimPlatform::perms_of(const RmpEntry& entry, Vmpl vmpl) const {
  return vmpl.raw() == 0 ? kPermAll : entry.perms[vmpl.raw()];
}

bool SimPlatform::host_assign(Gpa page, PageSize size) {
  uint64_t index = 0;
  const uint64_t span = span_of(size);
  if (!page.is_aligned(span * kPageSize4K) || !page_index(page, index) || rmp_.size() - index < span)
    return false;
  for (uint64_t i = index; i < index + span; ++i) {
    rmp_[i] = RmpEntry{};
    rmp_[i].assigned = true;
    rmp_[i].size = size;
  }
  return true;
}

bool SimPlatform::host_reclaim(Gpa page) {
  uint64_t index = 0;
  if (!page_index(page, index)) return false;
  const uint64_t span = span_of(rmp_[index].size);
  index = index / span * span;
  for (uint64_t i = index; i < index + span; ++i) rmp_[i] = RmpEntry{};
  return true;
}

bool SimPlatform::launch_page(Gpa page, PageSize size) {
  if (!host_assign(page, size)) return false;
  uint64_t index = 0;
  (void)page_index(page, index);
  for (uint64_t i = index; i < index + span_of(size); ++i) rmp_[i].validated = true;
  return true;
}

void SimPlatform::set_vmpl0_entry(EntryFunction entry, void* context) {
  entry_ = entry;
  entry_context_ = context;
}

void SimPlatform::host_report_exit(uint32_t vcpu, const ExitInfo& info) {
  VG_ASSERT(vcpu < vcpus_);
  enter_vmpl0(vcpu, info);
}

void SimPlatform::enter_vmpl0(uint32_t vcpu, const ExitInfo& info) {
  pending_exit_[vcpu] = info;
  const uint32_t previous_vcpu = current_vcpu_;
  current_vcpu_ = vcpu;
  ++monitor_entries_;
  if (entry_ != nullptr) entry_(entry_context_, vcpu);
  pending_exit_[vcpu] = ExitInfo{};
  current_vcpu_ = previous_vcpu;
}

// The RMP check of a guest access [APM2 15.36.10]: the page must be assigned
// (else #NPF with the RMP bit, the host's business), validated (else #VC
// PAGE_NOT_VALIDATED in the guest) and allow the access at this VMPL (else
// #NPF with RMP and VMPL bits, which the host may forward to VMPL0).
AccessOutcome SimPlatform::guest_access(uint32_t vcpu, Vmpl vmpl, Gpa gpa, Access access, void* data,
                                        size_t length) {
  VG_ASSERT(vcpu < vcpus_ && vmpl.valid());
  AccessOutcome outcome;
  if (length == 0) return outcome;
  if (memory(gpa, length) == nullptr) {
    outcome.fault = Fault::kNpf;
    outcome.error_code = kNpfRmp | access_error_bits(access);
    return outcome;
  }
  const uint64_t first = gpa.raw() / kPageSize4K;
  const uint64_t last = (gpa.raw() + length - 1) / kPageSize4K;
  for (uint64_t index = first; index <= last; ++index) {
    const RmpEntry& entry = rmp_[index];
    const Gpa page_gpa(index * kPageSize4K);
    if (!entry.assigned) {
      outcome.fault = Fault::kNpf;
      outcome.error_code = kNpfRmp | kNpfFinal | access_error_bits(access);
      return outcome;
    }
    if (!entry.validated) {
      outcome.fault = Fault::kVc;
      outcome.error_code = kVcPageNotValidated;
      return outcome;
    }
    if ((perms_of(entry, vmpl) & required_perm(access)) == 0) {
      outcome.fault = Fault::kNpf;
      outcome.error_code = kNpfPresent | kNpfRmp | kNpfVmpl | kNpfFinal | access_error_bits(access);
      if (forward_vmpl_faults_) {
        // The host contract: run VMPL0 with the fault as a violation exit.
        // The faulting GPA is the byte address, as in EXITINFO2.
        const Gpa fault_gpa = index == first ? gpa : page_gpa;
        enter_vmpl0(vcpu, ExitInfo{kExitCodeNpf, outcome.error_code, fault_gpa.raw(), vmpl.raw()});
        outcome.forwarded = true;
      }
      return outcome;
    }
  }
  uint8_t* bytes = memory(gpa, length);
  if (access == Access::kWrite) {
    memcpy(bytes, data, length);
  } else if (access == Access::kRead) {
    memcpy(data, bytes, length);
  }
  outcome.performed = true;
  return outcome;
}

// RMPADJUST [APM3 RMPADJUST; APM2 15.36.7]. Checks in the order the
// instruction makes them: operand alignment and reserved bits (FAIL_INPUT),
// target VMPL above the caller's (FAIL_PERMISSION), the RMP entry itself
// (#NPF if not the guest's, #VC if not validated), page size
// (FAIL_SIZEMISMATCH), and no permission beyond the caller's own
// (FAIL_PERMISSION). VMPL0 alone may set the VMSA bit; other callers' VMSA
// bit is ignored.
InstructionOutcome SimPlatform::guest_rmpadjust(uint32_t vcpu, Vmpl caller, Gpa page, PageSize size,
                                                uint64_t rdx) {
  VG_ASSERT(vcpu < vcpus_ && caller.valid());
  const uint64_t span = span_of(size);
  if (!page.is_aligned(span * kPageSize4K)) return completed(static_cast<uint32_t>(RmpStatus::kFailInput));
  const uint64_t target = rdx & 0xff;
  const uint8_t perms = static_cast<uint8_t>((rdx >> 8) & 0xff);
  const bool vmsa = ((rdx >> 16) & 1) != 0 && caller.raw() == 0;
  if ((rdx >> 17) != 0 || (perms & ~kPermAll) != 0 || target >= Vmpl::kCount) {
    return completed(static_cast<uint32_t>(RmpStatus::kFailInput));
  }
  if (target <= caller.raw()) return completed(static_cast<uint32_t>(RmpStatus::kFailPermission));

  uint64_t index = 0;
  if (!page_index(page, index) || !rmp_[index].assigned) return faulted(Fault::kNpf, kNpfRmp | kNpfFinal);
  RmpEntry& head = rmp_[index];
  if (!head.validated) return faulted(Fault::kVc, kVcPageNotValidated);
  if (head.size != size) return completed(static_cast<uint32_t>(RmpStatus::kFailSizeMismatch));
  if ((perms & ~perms_of(head, caller)) != 0)
    return completed(static_cast<uint32_t>(RmpStatus::kFailPermission));

  for (uint64_t i = index; i < index + span; ++i) {
    rmp_[i].perms[target] = perms;
    if (caller.raw() == 0) rmp_[i].vmsa = vmsa;
  }
  return completed(static_cast<uint32_t>(RmpStatus::kSuccess));
}

// PVALIDATE [APM3 PVALIDATE]: VMPL0 only (#GP elsewhere), aligned operand
// (FAIL_INPUT), an assigned page (#NPF), matching RMP page size
// (FAIL_SIZEMISMATCH); validating a page already in the requested state
// leaves it unchanged and sets rFLAGS.CF.
InstructionOutcome SimPlatform::guest_pvalidate(uint32_t vcpu, Vmpl caller, Gpa page, PageSize size,
                                                bool validate) {
  VG_ASSERT(vcpu < vcpus_ && caller.valid());
  if (caller.raw() != 0) return faulted(Fault::kGp, 0);
  const uint64_t span = span_of(size);
  if (!page.is_aligned(span * kPageSize4K))
    return completed(static_cast<uint32_t>(PvalidateStatus::kFailInput));
  uint64_t index = 0;
  if (!page_index(page, index) || !rmp_[index].assigned) return faulted(Fault::kNpf, kNpfRmp | kNpfFinal);
  if (rmp_[index].size != size) return completed(static_cast<uint32_t>(PvalidateStatus::kFailSizeMismatch));
  if (rmp_[index].validated == validate) {
    InstructionOutcome unchanged = completed(0);
    unchanged.carry = true;
    return unchanged;
  }
  for (uint64_t i = index; i < index + span; ++i) rmp_[i].validated = validate;
  return completed(static_cast<uint32_t>(PvalidateStatus::kSuccess));
}

CallOutcome SimPlatform::guest_svsm_call(uint32_t vcpu, Vmpl caller, Gpa caa, uint64_t rax, uint64_t rcx,
                                         uint64_t rdx, uint64_t r8) {
  VG_ASSERT(vcpu < vcpus_ && caller.valid());
  CallOutcome outcome;
  VmsaState& state = vmsa(vcpu, caller);
  state.rax = rax;
  state.rcx = rcx;
  state.rdx = rdx;
  state.r8 = r8;
  uint8_t pending = 1;
  if (!guest_access(vcpu, caller, caa + kCaaCallPending, Access::kWrite, &pending, 1).performed)
    return outcome;
  // The guest writes the Run VMPL request to the GHCB MSR and executes
  // VMGEXIT [GHCB 56421 2.3.1]; the host decodes it like any other request.
  const uint64_t request = ghcb_msr::encode_run_vmpl(0);
  last_ghcb_msr_ = request;
  if (ghcb_msr::is_run_vmpl_request(request) && ghcb_msr::run_vmpl_target(request) == 0) {
    enter_vmpl0(vcpu, ExitInfo{});
    outcome.monitor_ran = entry_ != nullptr;
  }
  uint8_t after = 1;
  (void)guest_access(vcpu, caller, caa + kCaaCallPending, Access::kRead, &after, 1);
  outcome.call_pending_after = after != 0;
  outcome.rax = state.rax;
  outcome.rcx = state.rcx;
  outcome.rdx = state.rdx;
  return outcome;
}

bool SimPlatform::vmpl0_read(Gpa source, void* destination, size_t length) const {
  if (source.raw() > memory_.size() || length > memory_.size() - source.raw()) return false;
  if (length == 0) return true;
  for (uint64_t index = source.raw() / kPageSize4K; index <= (source.raw() + length - 1) / kPageSize4K;
       ++index) {
    if (!rmp_[index].assigned || !rmp_[index].validated) return false;
  }
  memcpy(destination, memory_.data() + source.raw(), length);
  return true;
}

bool SimPlatform::vmpl0_write(Gpa destination, const void* source, size_t length) {
  if (destination.raw() > memory_.size() || length > memory_.size() - destination.raw()) return false;
  if (length == 0) return true;
  for (uint64_t index = destination.raw() / kPageSize4K;
       index <= (destination.raw() + length - 1) / kPageSize4K; ++index) {
    if (!rmp_[index].assigned || !rmp_[index].validated) return false;
  }
  memcpy(memory_.data() + destination.raw(), source, length);
  return true;
}

bool SimPlatform::take_exit_info(uint32_t vcpu, ExitInfo& out) {
  if (vcpu >= vcpus_) return false;
  out = pending_exit_[vcpu];
  pending_exit_[vcpu] = ExitInfo{};
  return true;
}

uint64_t SimPlatform::host_msr_protocol(uint64_t request) {
  last_ghcb_msr_ = request;
  if ((request & ghcb_msr::kInfoMask) == ghcb_msr::kTerminateRequest) {
    stopped_ = true;
    termination_request_ = request;
    return 0;
  }
  if (!ghcb_msr::is_run_vmpl_request(request) || ghcb_msr::run_vmpl_target(request) >= Vmpl::kCount) {
    return ghcb_msr::encode_run_vmpl_response(1);
  }
  resume_vmpl_[current_vcpu_] = ghcb_msr::run_vmpl_target(request);
  return ghcb_msr::encode_run_vmpl_response(0);
}

}  // namespace vg::hal::sim
