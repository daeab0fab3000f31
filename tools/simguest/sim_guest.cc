#include "simguest/sim_guest.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hal/hal.h"
#include "kci/guest_copy.h"

namespace vg::simguest {

using hal::sim::Access;

SimGuest::SimGuest(const GuestLayout& layout, Path path)
    : layout_(layout),
      platform_(layout.guest_pages, layout.vcpus),
      install_(platform_),
      storage_(new kci::Storage),
      service_(new kci::Service(ring_, *storage_)),
      path_(path) {
  if (path_ == Path::kDirect) {
    platform_.set_vmpl0_entry(&SimGuest::vmpl0_entry, this);
    return;
  }
  monitor_ =
      std::make_unique<monitor::Monitor>(*service_, ring_, monitor::MonitorConfig{Vmpl(3), layout.vcpus, 0});
  platform_.set_vmpl0_entry(&monitor::Monitor::entry_trampoline, monitor_.get());
}

SimGuest::~SimGuest() {
  kci::g_after_copy_hook = {};
}

void SimGuest::set_boot_registers(uint64_t lstar, uint64_t rip) {
  for (uint32_t vcpu = 0; vcpu < layout_.vcpus; ++vcpu) {
    hal::VmsaState& state = platform_.vmsa(vcpu, Vmpl(3));
    state.cr0 = 0x80050033;           // PG WP NE ET MP PE
    state.cr4 = 0x3406f0 | 1u << 20;  // SMEP, SMAP, UMIP, FSGSBASE, ...
    state.efer = 0xd01;               // SCE LME LMA NXE
    state.lstar = lstar;
    state.idtr_base = 0xfffffe0000000000ull;
    state.gdtr_base = 0xfffffe0000001000ull + vcpu * 0x1000;
    state.rip = rip;
  }
}

// Without the monitor (Path::kDirect), the part of its entry path KCI needs:
// a forwarded VMPL violation goes to KCI with the faulting VMPL's RIP.
void SimGuest::vmpl0_entry(void* context, uint32_t vcpu) {
  auto* guest = static_cast<SimGuest*>(context);
  hal::ExitInfo info;
  if (!guest->platform_.take_exit_info(vcpu, info) || info.exit_code != hal::kExitCodeNpf) return;
  kci::ViolationExit exit;
  exit.vcpu = vcpu;
  exit.vmpl = Vmpl(info.vmpl);
  exit.gpa = Gpa(info.info2);
  exit.error_code = info.info1;
  exit.rip = guest->platform_.vmsa(vcpu, exit.vmpl).rip;
  guest->last_verdict_ = guest->service_->handle_violation(exit);
  guest->violations_seen_ += 1;
}

void SimGuest::launch() {
  const uint64_t image_end = layout_.text_gpa + layout_.image_size;
  for (uint64_t page = 0; page < layout_.guest_pages; ++page) {
    const Gpa gpa(page * kPageSize4K);
    if (!platform_.launch_page(gpa, hal::PageSize::k4K)) std::abort();
    const bool image = gpa.raw() >= layout_.text_gpa && gpa.raw() < image_end;
    const uint8_t perms = static_cast<uint8_t>(policy::kPermRead | policy::kPermWrite |
                                               (image ? policy::kPermSupervisorExec : 0));
    // SAFETY: setup as VMPL0 on the simulated platform, before the kernel runs.
    if (hal::rmpadjust(gpa, hal::PageSize::k4K, {Vmpl(3), perms, false}) != hal::RmpStatus::kSuccess)
      std::abort();
  }
  // The monitor's boot hands vCPU 0 its calling area.
  if (monitor_ != nullptr && !monitor_->set_calling_area(0, Gpa(layout_.calling_area_gpa))) std::abort();
}

Result<void, kci::LoadFailure> SimGuest::load_policy(ByteView bytes) {
  return service_->load_policy(bytes);
}

kci::CallOutcome SimGuest::setup_ring() {
  const kci::CallOutcome outcome = call(VG_CALL_SETUP_RING, layout_.ring_gpa, layout_.ring_pages);
  // Through the monitor, the ring is the monitor's: it tells KCI where.
  if (path_ == Path::kMonitor && outcome.result == VG_RESULT_SUCCESS)
    service_->note_ring(Gpa(layout_.ring_gpa), layout_.ring_pages);
  return outcome;
}

kci::CallOutcome SimGuest::register_kernel(const uint8_t* build_id, uint32_t build_id_size) {
  vg_register_kernel request{};
  request.abi_version = VG_ABI_VERSION;
  request.build_id_size = build_id_size;
  std::memcpy(request.build_id, build_id, build_id_size < 32 ? build_id_size : 32);
  request.text_va = layout_.text_va;
  request.text_gpa = layout_.text_gpa;
  request.kernel_size = layout_.image_size;
  return call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request));
}

kci::CallOutcome SimGuest::call(uint32_t call, uint64_t rcx, uint64_t rdx) {
  if (path_ == Path::kMonitor) {
    const hal::sim::CallOutcome outcome = platform_.guest_svsm_call(
        0, Vmpl(3), Gpa(layout_.calling_area_gpa), uint64_t{VG_PROTOCOL} << 32 | call, rcx, rdx, 0);
    return kci::CallOutcome{static_cast<uint32_t>(outcome.rax), outcome.rcx, outcome.rdx};
  }
  kci::CallArgs args;
  args.rcx = rcx;
  args.rdx = rdx;
  return service_->handle_call(0, Vmpl(3), call, args);
}

kci::CallOutcome SimGuest::call_with(uint32_t call_number, const void* request, size_t size,
                                     uint64_t request_gpa) {
  if (request_gpa == 0) request_gpa = layout_.request_gpa;
  if (!poke(Gpa(request_gpa), request, size)) std::abort();
  return call(call_number, request_gpa);
}

hal::sim::AccessOutcome SimGuest::kernel_write(Gpa gpa, const uint8_t* bytes, size_t length, uint64_t rip) {
  platform_.vmsa(0, Vmpl(3)).rip = rip;
  std::vector<uint8_t> copy(bytes, bytes + length);
  return platform_.guest_access(0, Vmpl(3), gpa, Access::kWrite, copy.data(), copy.size());
}

hal::sim::AccessOutcome SimGuest::kernel_exec(Gpa gpa, uint64_t rip) {
  platform_.vmsa(0, Vmpl(3)).rip = rip;
  return platform_.guest_access(0, Vmpl(3), gpa, Access::kSupervisorExec, nullptr, 1);
}

hal::sim::AccessOutcome SimGuest::kernel_read(Gpa gpa, void* out, size_t length) {
  return platform_.guest_access(0, Vmpl(3), gpa, Access::kRead, out, length);
}

bool SimGuest::read(Gpa gpa, void* out, size_t length) const {
  return platform_.vmpl0_read(gpa, out, length);
}

bool SimGuest::poke(Gpa gpa, const void* bytes, size_t length) {
  return platform_.vmpl0_write(gpa, bytes, length);
}

uint8_t SimGuest::perms(Gpa gpa, uint8_t vmpl) const {
  const hal::sim::RmpEntry* entry = platform_.rmp_entry(gpa);
  return entry != nullptr ? entry->perms[vmpl] : 0;
}

}  // namespace vg::simguest
