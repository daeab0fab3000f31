// Forwarded VMPL violations: attribute, decide, record.
//
// The host contract (docs/kci.md): a #NPF with the RMP and VMPL bits set that
// the kernel's VMPL raises is forwarded to VMPL0 as a violation exit. If the
// host does not forward, the access still never happens (the RMP refused
// it); only this record and the graceful fault are lost.
#include "kci/service.h"

namespace vg::kci {

namespace {

// Default verdict per kind (docs/kci.md, "Verdicts"): every violation injects
// a page fault, the same fault a stock kernel takes on a write to read-only
// memory or a fetch from NX memory, so its exception tables and oops path
// handle it (copy_to_kernel_nofault returns -EFAULT). The guest is stopped
// once violations pass kViolationStopThreshold.
struct Attribution {
  uint16_t kind = 0;
  uint32_t policy_offset = ~0u;
  uint32_t detail = ~0u;
  uint64_t address = 0;
};

}  // namespace

Verdict Service::handle_violation(const ViolationExit& exit) {
  // Only RMP/VMPL faults of the kernel's VMPL are ours; anything else (a
  // partition's VMPL, a nested page fault of the host's own) is not.
  if (!registered_ || exit.vmpl != kKernelVmpl ||
      (exit.error_code & (kNpfRmp | kNpfVmpl)) != (kNpfRmp | kNpfVmpl)) {
    return Verdict::kAllowed;
  }
  const bool write = (exit.error_code & kNpfWrite) != 0;
  const bool execute = (exit.error_code & kNpfExecute) != 0;
  const Gpa page = exit.gpa.align_down(kPageSize4K);
  uint8_t perms = 0;
  const bool managed = managed_page_perms(page, perms);
  // An access our permissions allow was refused by someone else's RMP
  // setting (for example a partition's): not ours to judge.
  if (managed && ((write && (perms & policy::kPermWrite) != 0) ||
                  (execute && (perms & policy::kPermSupervisorExec) != 0) || (!write && !execute))) {
    return Verdict::kAllowed;
  }

  Attribution what;
  what.address = exit.address;
  if (in_kernel_image(page)) {
    const uint64_t offset = exit.gpa - layout_.text_gpa;
    if (what.address == 0) what.address = layout_.text_va + offset;
    const policy::Region* region = policy_.find_region(offset);
    const auto kind =
        region != nullptr ? static_cast<policy::RegionKind>(region->kind) : policy::RegionKind{};
    what.policy_offset = static_cast<uint32_t>(offset);
    if (execute) {
      what.kind = VG_KIND_EXEC_VIOLATION;
      what.detail = static_cast<uint32_t>(kind);
    } else if (const policy::CriticalObject* object = policy_.find_object(offset);
               object != nullptr &&
               static_cast<policy::Protection>(object->protection) != policy::Protection::kWatched) {
      what.kind = VG_KIND_DATA_WRITE;
      what.policy_offset = object->offset;
      what.detail = object->name;  // the agent names the object from STRINGS
    } else if (kind == policy::RegionKind::kText || kind == policy::RegionKind::kInitText) {
      what.kind = VG_KIND_TEXT_WRITE;
      if (const policy::Function* function = policy_.find_function(static_cast<uint32_t>(offset))) {
        what.detail = function->name;
      }
    } else {
      what.kind = VG_KIND_DATA_WRITE;
    }
  } else if (const ImageSlot* image = image_containing(page)) {
    what.kind = execute ? VG_KIND_EXEC_VIOLATION : VG_KIND_TEXT_WRITE;
    what.detail = static_cast<uint32_t>(image - store().images);
  } else if (managed) {
    what.kind = VG_KIND_DATA_WRITE;  // the telemetry ring
  } else if (execute) {
    // Outside every executable set KCI granted: a data page the kernel's
    // page tables made executable, user memory (SMEP-like), or shellcode.
    what.kind = VG_KIND_EXEC_VIOLATION;
  } else {
    return Verdict::kAllowed;
  }
  if (what.address == 0) what.address = execute ? exit.rip : 0;

  violations_ += 1;
  const bool stop = violations_ > kViolationStopThreshold;
  emit(what.kind, stop ? VG_VERDICT_STOPPED : VG_VERDICT_INJECTED, exit.vcpu, exit.rip, what.address,
       exit.gpa.raw(), what.policy_offset, what.detail, exit.error_code);
  return stop ? Verdict::kStopGuest : Verdict::kInjectFault;
}

bool Service::vet_pvalidate(uint32_t vcpu, Gpa page, bool validate) {
  page = page.align_down(kPageSize4K);
  if (!is_protected_page(page)) return true;
  uint32_t policy_offset = ~0u;
  uint64_t address = 0;
  if (in_kernel_image(page)) {
    policy_offset = static_cast<uint32_t>(page - layout_.text_gpa);
    address = layout_.text_va + policy_offset;
  }
  emit(VG_KIND_RMP_TAMPER, VG_VERDICT_DENIED, vcpu, 0, address, page.raw(), policy_offset, validate ? 1u : 0u,
       0);
  return false;
}

}  // namespace vg::kci
