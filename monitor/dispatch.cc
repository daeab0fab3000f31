// SVSM call dispatch: the calling area's call-pending byte, the core
// protocol's QUERY_PROTOCOL, and vmplguard's protocol [SVSM 58019 4.1, 5].
#include "monitor/entry_state.h"
#include "monitor/monitor.h"
#include "monitor/svsm.h"
#include "monitor/svsm/core_protocol.h"

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
  if (entry.kernel.cpl != 0) {
    // Only the kernel makes SVSM calls (the GHCB MSR is CPL0-only); a call
    // pending while user code ran is refused, not dispatched.
    outcome.result = VG_RESULT_INVALID_REQUEST;
  } else if (protocol == svsm::kCoreProtocol) {
    outcome = core_call(entry, call);
    has_outputs = call == svsm::kCoreQueryProtocol || call == svsm::kCoreConfigureVtom;
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

namespace {
bool kci_vetoes_pvalidate(void* service, uint32_t vcpu, Gpa page, bool validate) {
  return static_cast<kci::Service*>(service)->vet_pvalidate(vcpu, page, validate);
}
}  // namespace

void Monitor::attach_core_protocol(svsm::CoreProtocol& core) {
  core_ = &core;
  core.set_pvalidate_veto(&kci_vetoes_pvalidate, &service_);
}

kci::CallOutcome Monitor::core_call(Entry& entry, uint32_t call) {
  kci::CallOutcome outcome;
  const uint64_t rcx = entry.kernel.rcx;
  if (call != svsm::kCoreQueryProtocol) {
    if (core_ == nullptr) {
      // No core protocol attached: the spec's answer for a call not
      // implemented is SVSM_ERR_UNSUPPORTED_CALL.
      outcome.result = VG_RESULT_UNSUPPORTED_CALL;
      return outcome;
    }
    svsm::CoreRequest request;
    request.vcpu = entry.vcpu;
    request.caller = config_.kernel_vmpl;
    request.call = call;
    request.rcx = rcx;
    request.rdx = entry.kernel.rdx;
    request.r8 = entry.kernel.r8;
    const svsm::CoreResult result = core_->handle(request);
    outcome.result = result.rax;
    outcome.rcx = result.rcx_written ? result.rcx : rcx;
    outcome.rdx = entry.kernel.rdx;
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
  if (call == VG_CALL_ACK_RING) {
    // Acks move the monitor's ring state only; KCI has no part in them.
    kci::CallOutcome outcome;
    outcome.result = ring_.acknowledge(regs.rcx) ? VG_RESULT_SUCCESS : VG_RESULT_INVALID_PARAMETER;
    return outcome;
  }
  // Everything else, VG_CALL_SETUP_RING included, is KCI's: it knows which
  // pages it protects, so it is the one to check that the ring overlaps none
  // of them before making the pages read-only and attaching the ring.
  const bool was_registered = service_.kernel_registered();
  const kci::CallArgs args{regs.rcx, regs.rdx, regs.r8, regs.r9};
  const kci::CallOutcome outcome = service_.handle_call(entry.vcpu, config_.kernel_vmpl, call, args);
  if (call == VG_CALL_REGISTER_KERNEL && !was_registered && service_.kernel_registered()) {
    // The registering vCPU locks its pinned registers now, with the values
    // the kernel had when it asked; the others at their next entry.
    pins_[entry.vcpu].lock(entry.kernel);
  }
  return outcome;
}

}  // namespace vg::monitor
