// The vg::hal functions of the sim backend: each acts at VMPL0 on the
// installed SimPlatform's current vCPU. Using the HAL with no platform
// installed is a test bug, hence an assertion, not an error.
#include "base/assert.h"
#include "hal/ghcb_msr.h"
#include "hal/hal.h"
#include "hal/sim/platform.h"

namespace vg::hal {
namespace {

sim::SimPlatform& platform() {
  sim::SimPlatform* current = sim::SimPlatform::current();
  VG_ASSERT(current != nullptr);
  return *current;
}

}  // namespace

RmpStatus rmpadjust(Gpa page, PageSize size, RmpAdjustAttributes attributes) {
  sim::SimPlatform& p = platform();
  const sim::InstructionOutcome outcome =
      p.guest_rmpadjust(p.current_vcpu(), Vmpl{0}, page, size, attributes.encode());
  switch (outcome.fault) {
    case sim::Fault::kNone: return static_cast<RmpStatus>(outcome.rax);
    case sim::Fault::kVc: return RmpStatus::kNotValidated;
    case sim::Fault::kNpf:
    case sim::Fault::kGp: break;
  }
  return RmpStatus::kNotAssigned;
}

PvalidateStatus pvalidate(Gpa page, PageSize size, bool validate) {
  sim::SimPlatform& p = platform();
  const sim::InstructionOutcome outcome = p.guest_pvalidate(p.current_vcpu(), Vmpl{0}, page, size, validate);
  if (outcome.fault != sim::Fault::kNone) return PvalidateStatus::kNotAssigned;
  if (outcome.carry) return PvalidateStatus::kFailUnchanged;
  return static_cast<PvalidateStatus>(outcome.rax);
}

bool read_guest(Gpa source, void* destination, size_t length) {
  return platform().vmpl0_read(source, destination, length);
}

bool write_guest(Gpa destination, const void* source, size_t length) {
  return platform().vmpl0_write(destination, source, length);
}

bool read_vmsa(uint32_t vcpu, Vmpl vmpl, VmsaState& out) {
  sim::SimPlatform& p = platform();
  if (vcpu >= p.vcpus() || !vmpl.valid()) return false;
  out = p.vmsa(vcpu, vmpl);
  return true;
}

bool write_vmsa(uint32_t vcpu, Vmpl vmpl, const VmsaState& state) {
  sim::SimPlatform& p = platform();
  // As on hardware (hal_snp.cc), the monitor edits only lower VMPLs' state.
  if (vcpu >= p.vcpus() || !vmpl.valid() || vmpl.raw() == 0) return false;
  p.vmsa(vcpu, vmpl) = state;
  return true;
}

bool request_run_vmpl(Vmpl vmpl) {
  return ghcb_msr::run_vmpl_succeeded(platform().host_msr_protocol(ghcb_msr::encode_run_vmpl(vmpl.raw())));
}

uint64_t timestamp() {
  return platform().next_timestamp();
}

bool read_exit_info(uint32_t vcpu, ExitInfo& out) {
  return platform().take_exit_info(vcpu, out);
}

void terminate_guest(uint8_t reason_set, uint8_t reason_code) {
  (void)platform().host_msr_protocol(ghcb_msr::encode_terminate(reason_set, reason_code));
}

}  // namespace vg::hal
