// The vmplguard protocol calls KCI serves, and the record writer they share.
#include "hal/hal.h"
#include "kci/guest_copy.h"
#include "kci/service.h"

namespace vg::kci {

// QUERY feature bits (RDX).
inline constexpr uint64_t kFeaturePolicyLoaded = 1u << 0;
inline constexpr uint64_t kFeatureKernelRegistered = 1u << 1;
inline constexpr uint64_t kFeatureModules = 1u << 2;
inline constexpr uint64_t kFeatureBpfJit = 1u << 3;

CallOutcome Service::handle_call(uint32_t vcpu, Vmpl caller, uint32_t call, const CallArgs& args) {
  // The protocol is the kernel's; another VMPL (a partition) has no say
  // over the kernel's text.
  if (caller != kKernelVmpl) return {VG_RESULT_INVALID_REQUEST};
  switch (call) {
    case VG_CALL_QUERY: {
      uint64_t features = 0;
      if (loaded_) {
        features |= kFeaturePolicyLoaded;
        const uint32_t flags = policy_.header().flags;
        if ((flags & policy::kFlagModulesAllowed) != 0) features |= kFeatureModules;
        if ((flags & policy::kFlagBpfJitAllowed) != 0) features |= kFeatureBpfJit;
      }
      if (registered_) features |= kFeatureKernelRegistered;
      return {VG_RESULT_SUCCESS, VG_ABI_VERSION, features};
    }
    case VG_CALL_REGISTER_KERNEL: return register_kernel(vcpu, args);
    case VG_CALL_LOCK_RO_AFTER_INIT: return lock_ro_after_init(vcpu);
    case VG_CALL_TEXT_PATCH: return text_patch(vcpu, args);
    case VG_CALL_REGISTER_MODULE: return register_module(vcpu, args);
    case VG_CALL_UNREGISTER_MODULE: return unregister_image(vcpu, args);
    case VG_CALL_MEDIATED_WRITE: return mediated_write(vcpu, args);
    case VG_CALL_SETUP_RING: return setup_ring(vcpu, args);
    case VG_CALL_BPF_JIT_MAP: return bpf_jit_map(vcpu, args);
    case VG_CALL_FREE_INIT: return free_init(vcpu);
    default: return {VG_RESULT_UNSUPPORTED_CALL};
  }
}

CallOutcome Service::setup_ring(uint32_t vcpu, const CallArgs& args) {
  (void)vcpu;
  if (ring_pages_ != 0 || ring_.attached()) return {VG_RESULT_ALREADY_DONE};
  const Gpa first(args.rcx);
  if (!first.is_aligned(kPageSize4K) || args.rdx < 2 || args.rdx > kMaxRingPages)
    return {VG_RESULT_INVALID_PARAMETER};
  const uint32_t pages = static_cast<uint32_t>(args.rdx);
  if (first.raw() > UINT64_MAX - uint64_t{pages} * kPageSize4K) return {VG_RESULT_INVALID_ADDRESS};
  for (uint32_t i = 0; i < pages; ++i) {
    const Gpa page = first + uint64_t{i} * kPageSize4K;
    if (!is_guest_page(page) || is_protected_page(page)) return {VG_RESULT_INVALID_ADDRESS};
  }
  auto set_all = [&](uint8_t perms) {
    bool ok = true;
    for (uint32_t i = 0; i < pages; ++i) {
      // SAFETY: checked above to be guest memory KCI does not otherwise
      // protect; adjusts the kernel's VMPL only [APM2 15.36.7].
      ok = hal::rmpadjust(first + uint64_t{i} * kPageSize4K, hal::PageSize::k4K,
                          {kKernelVmpl, perms, false}) == hal::RmpStatus::kSuccess &&
           ok;
    }
    return ok;
  };
  // Read-only for the kernel before the monitor writes the first record, so
  // the kernel can never forge or erase one.
  if (!set_all(policy::kPermRead) || !ring_.attach(first, pages)) {
    (void)set_all(policy::kPermRead | policy::kPermWrite);
    return {VG_RESULT_INVALID_PARAMETER};
  }
  ring_first_ = first;
  ring_pages_ = pages;
  return {VG_RESULT_SUCCESS};
}

void Service::emit(uint16_t kind, uint8_t verdict, uint32_t vcpu, uint64_t rip, uint64_t address,
                   uint64_t gpa, uint32_t policy_offset, uint32_t detail, uint64_t value) {
  vg_record record{};
  record.kind = kind;
  record.verdict = verdict;
  record.vmpl = kKernelVmpl.raw();
  record.vcpu = vcpu;
  record.rip = rip;
  record.address = address;
  record.gpa = gpa;
  record.policy_offset = policy_offset;
  record.detail = detail;
  record.value = value;
  (void)ring_.record(record);
}

}  // namespace vg::kci
