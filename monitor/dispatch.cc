// SVSM call dispatch: the calling area's call-pending byte, the core
// protocol's QUERY_PROTOCOL, and vmplguard's protocol [SVSM 58019 4.1, 5].
#include "monitor/entry_state.h"
#include "monitor/monitor.h"
#include "monitor/svsm.h"

namespace vg::monitor {

void Monitor::handle_call(Entry& entry) {
  if (!has_calling_area_[entry.vcpu]) return;
  const Gpa caa = calling_area_[entry.vcpu];
  uint8_t pending = 0;
  // SAFETY: the calling area is a guest page the monitor assigned to this
  // vCPU; the HAL range-checks the read.
  if (!hal::read_guest(caa, &pending, 1) || pending == 0) return;
  ++stats_.calls;

  // The registers were captured in `entry.kernel` once; the kernel (or
  // another vCPU) cannot change this copy while the monitor decides.
  const uint64_t rax = entry.kernel.rax;
  kci::CallOutcome outcome;
  const uint32_t protocol = svsm::call_protocol(rax);
  const uint32_t call = svsm::call_number(rax);
  bool has_outputs = false;
  if (protocol == svsm::kCoreProtocol) {
    outcome = core_call(call, entry.kernel.rcx);
    has_outputs = call == svsm::kCoreQueryProtocol;
  } else if (protocol == VG_PROTOCOL) {
    outcome = vmplguard_call(entry, call);
    has_outputs = true;
  } else {
    outcome.result = VG_RESULT_UNSUPPORTED_PROTOCOL;
  }

  entry.kernel.rax = outcome.result;
  if (has_outputs) {
    entry.kernel.rcx = outcome.rcx;
    entry.kernel.rdx = outcome.rdx;
  }
  entry.kernel_dirty = true;
  // Clearing call-pending tells the kernel the call completed [SVSM 58019 4.1.1].
  pending = 0;
  (void)hal::write_guest(caa, &pending, 1);
}

kci::CallOutcome Monitor::core_call(uint32_t call, uint64_t rcx) {
  kci::CallOutcome outcome;
  if (call != svsm::kCoreQueryProtocol) {
    // The rest of the core protocol (REMAP_CA, PVALIDATE, CREATE_VCPU, ...)
    // is a later issue; the spec's answer for a call not implemented is
    // SVSM_ERR_UNSUPPORTED_CALL.
    outcome.result = VG_RESULT_UNSUPPORTED_CALL;
    return outcome;
  }
  const uint32_t protocol = svsm::query_protocol_number(rcx);
  const uint32_t version = svsm::query_protocol_version(rcx);
  outcome.rcx = protocol == VG_PROTOCOL && version >= 1 && version <= VG_ABI_VERSION
                    ? svsm::query_protocol_answer(1, VG_ABI_VERSION)
                    : 0;
  return outcome;
}

kci::CallOutcome Monitor::vmplguard_call(Entry& entry, uint32_t call) {
  const hal::VmsaState& regs = entry.kernel;
  if (call == VG_CALL_SETUP_RING) return setup_ring(regs.rcx, regs.rdx);
  if (call == VG_CALL_ACK_RING) {
    kci::CallOutcome outcome;
    outcome.result = ring_.acknowledge(regs.rcx) ? VG_RESULT_SUCCESS : VG_RESULT_INVALID_PARAMETER;
    return outcome;
  }

  // The monitor's own copy of the registration request, for the ring
  // overlap check; KCI reads and judges its own copy.
  vg_register_kernel registration{};
  const bool registering = call == VG_CALL_REGISTER_KERNEL && !service_.kernel_registered() &&
                           hal::read_guest(Gpa(regs.rcx), &registration, sizeof(registration));

  const kci::CallArgs args{regs.rcx, regs.rdx, regs.r8, regs.r9};
  const kci::CallOutcome outcome = service_.handle_call(entry.vcpu, config_.kernel_vmpl, call, args);

  if (registering && outcome.result == VG_RESULT_SUCCESS && service_.kernel_registered()) {
    kernel_gpa_ = Gpa(registration.text_gpa);
    kernel_size_ = registration.kernel_size;
    // The registering vCPU locks its pinned registers now, with the values
    // the kernel had when it asked; the others at their next entry.
    pins_[entry.vcpu].lock(entry.kernel);
  }
  return outcome;
}

// VG_CALL_SETUP_RING: decode and check everything, then make the pages
// read-only for the kernel's VMPL, then attach. Refused requests change
// nothing; a request that passes the checks cannot half-fail on the sim,
// and on hardware a failing RMPADJUST leaves pages read-only (fail-safe).
kci::CallOutcome Monitor::setup_ring(uint64_t first_page, uint64_t pages) {
  kci::CallOutcome outcome;
  if (ring_.attached()) {
    outcome.result = VG_RESULT_ALREADY_DONE;
    return outcome;
  }
  const Gpa first(first_page);
  if (pages < 2 || pages > TelemetryRing::kMaxPages || !first.is_aligned(kPageSize4K) ||
      first_page > ~0ull - pages * kPageSize4K) {
    outcome.result = VG_RESULT_INVALID_PARAMETER;
    return outcome;
  }
  const uint64_t end = first_page + pages * kPageSize4K;
  const uint64_t kernel_end = kernel_gpa_.raw() + kernel_size_;
  if (kernel_size_ != 0 && first_page < kernel_end && kernel_gpa_.raw() < end) {
    // Records written into the kernel image would be a monitor-made write
    // to locked memory.
    outcome.result = VG_RESULT_INVALID_ADDRESS;
    return outcome;
  }
  for (uint64_t page = 0; page < pages; ++page) {
    uint8_t probe = 0;
    // SAFETY: a one-byte read only checks that the page is guest memory.
    if (!hal::read_guest(first + page * kPageSize4K, &probe, 1)) {
      outcome.result = VG_RESULT_INVALID_ADDRESS;
      return outcome;
    }
  }
  const hal::RmpAdjustAttributes read_only{config_.kernel_vmpl, 1u /* read */, false};
  for (uint64_t page = 0; page < pages; ++page) {
    // SAFETY: VMPL0 sets the kernel VMPL's permissions on a guest page the
    // kernel itself offered to read-only [APM3 RMPADJUST]; other VMPLs are
    // left as they are.
    if (hal::rmpadjust(first + page * kPageSize4K, hal::PageSize::k4K, read_only) !=
        hal::RmpStatus::kSuccess) {
      outcome.result = VG_RESULT_INVALID_ADDRESS;
      return outcome;
    }
  }
  outcome.result =
      ring_.attach(first, static_cast<uint32_t>(pages)) ? VG_RESULT_SUCCESS : VG_RESULT_INVALID_ADDRESS;
  return outcome;
}

}  // namespace vg::monitor
