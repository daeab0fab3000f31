#include "world.h"

#include <cstdio>
#include <cstring>

#include "hal/hal.h"

#ifndef VG_SCENARIO_DIR
#error "VG_SCENARIO_DIR must name tests/scenarios"
#endif

namespace vg::kci::testing {

using hal::sim::Access;

const KernelDescription& synthetic_kernel() {
  static const KernelDescription kernel = [] {
    auto parsed = load_kernel_description(std::string(VG_SCENARIO_DIR) + "/kernel.txt");
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", parsed.error().c_str());
      std::abort();
    }
    return parsed.value();
  }();
  return kernel;
}

World::World(const KernelDescription& kernel, Path path)
    : kernel_(kernel),
      platform_(kGuestPages, kVcpus),
      install_(platform_),
      storage_(new Storage),
      service_(new Service(ring_, *storage_)),
      path_(path) {
  if (path_ == Path::kDirect) {
    platform_.set_vmpl0_entry(&World::vmpl0_entry, this);
    return;
  }
  monitor_ = std::make_unique<monitor::Monitor>(*service_, ring_, monitor::MonitorConfig{Vmpl(3), kVcpus, 0});
  platform_.set_vmpl0_entry(&monitor::Monitor::entry_trampoline, monitor_.get());
  // The kernel's control state as Linux leaves it at boot; the monitor pins
  // it when the kernel registers.
  for (uint32_t vcpu = 0; vcpu < kVcpus; ++vcpu) {
    hal::VmsaState& state = platform_.vmsa(vcpu, Vmpl(3));
    state.cr0 = 0x80050033;           // PG WP NE ET MP PE
    state.cr4 = 0x3406f0 | 1u << 20;  // SMEP, SMAP, UMIP, FSGSBASE, ...
    state.efer = 0xd01;               // SCE LME LMA NXE
    state.lstar = text_va(0x800);     // entry_SYSCALL_64
    state.idtr_base = 0xfffffe0000000000ull;
    state.gdtr_base = 0xfffffe0000001000ull + vcpu * 0x1000;
    state.rip = text_va(0x100);
  }
}

World::~World() {
  g_after_copy_hook = {};
}

// The part of the monitor's entry path the KCI tests need: a forwarded VMPL
// violation goes to KCI with the faulting VMPL's RIP.
void World::vmpl0_entry(void* context, uint32_t vcpu) {
  auto* world = static_cast<World*>(context);
  hal::ExitInfo info;
  if (!world->platform_.take_exit_info(vcpu, info) || info.exit_code != hal::kExitCodeNpf) return;
  ViolationExit exit;
  exit.vcpu = vcpu;
  exit.vmpl = Vmpl(info.vmpl);
  exit.gpa = Gpa(info.info2);
  exit.error_code = info.info1;
  exit.rip = world->platform_.vmsa(vcpu, exit.vmpl).rip;
  world->last_verdict_ = world->service_->handle_violation(exit);
  world->violations_seen_ += 1;
}

void World::launch() {
  for (uint64_t page = 0; page < kGuestPages; ++page) {
    const Gpa gpa(page * kPageSize4K);
    if (!platform_.launch_page(gpa, hal::PageSize::k4K)) std::abort();
    const bool image = gpa.raw() >= kTextGpa && gpa.raw() < kTextGpa + kernel_.image_size();
    const uint8_t perms = static_cast<uint8_t>(policy::kPermRead | policy::kPermWrite |
                                               (image ? policy::kPermSupervisorExec : 0));
    // SAFETY: test setup as VMPL0 on the simulated platform.
    if (hal::rmpadjust(gpa, hal::PageSize::k4K, {Vmpl(3), perms, false}) != hal::RmpStatus::kSuccess)
      std::abort();
  }
  // The monitor's boot hands vCPU 0 its calling area.
  if (monitor_ != nullptr && !monitor_->set_calling_area(0, Gpa(kCallingAreaGpa))) std::abort();
}

Result<void, LoadFailure> World::load_policy(uint64_t serial, uint32_t flags) {
  const auto bytes = policy_bytes(serial, flags);
  return service_->load_policy(ByteView{bytes.data(), bytes.size()});
}

CallOutcome World::setup_ring() {
  const CallOutcome outcome = call(VG_CALL_SETUP_RING, kRingGpa, kRingPages);
  // Through the monitor, the ring is the monitor's: it tells KCI where.
  if (path_ == Path::kMonitor && outcome.result == VG_RESULT_SUCCESS)
    service_->note_ring(Gpa(kRingGpa), kRingPages);
  return outcome;
}

CallOutcome World::register_kernel() {
  vg_register_kernel request{};
  request.abi_version = VG_ABI_VERSION;
  request.build_id_size = static_cast<uint32_t>(kernel_.build_id.size());
  std::memcpy(request.build_id, kernel_.build_id.data(), kernel_.build_id.size());
  request.text_va = text_va(0);
  request.text_gpa = kTextGpa;
  request.kernel_size = kernel_.image_size();
  return call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request));
}

void World::boot(uint32_t flags) {
  launch();
  auto loaded = load_policy(~0ull, flags);
  if (!loaded.ok()) {
    std::fprintf(stderr, "boot: policy refused: %s\n", describe(loaded.error().error));
    std::abort();
  }
  if (setup_ring().result != VG_RESULT_SUCCESS) std::abort();
  const CallOutcome registered = register_kernel();
  if (registered.result != VG_RESULT_SUCCESS) {
    std::fprintf(stderr, "boot: registration refused: %#x\n", registered.result);
    std::abort();
  }
}

void World::boot_final(uint32_t flags) {
  boot(flags);
  if (call(VG_CALL_LOCK_RO_AFTER_INIT).result != VG_RESULT_SUCCESS) std::abort();
  if (call(VG_CALL_FREE_INIT).result != VG_RESULT_SUCCESS) std::abort();
}

CallOutcome World::call(uint32_t call, uint64_t rcx, uint64_t rdx) {
  if (path_ == Path::kMonitor) {
    const hal::sim::CallOutcome outcome = platform_.guest_svsm_call(
        0, Vmpl(3), Gpa(kCallingAreaGpa), uint64_t{VG_PROTOCOL} << 32 | call, rcx, rdx, 0);
    return CallOutcome{static_cast<uint32_t>(outcome.rax), outcome.rcx, outcome.rdx};
  }
  CallArgs args;
  args.rcx = rcx;
  args.rdx = rdx;
  return service_->handle_call(0, Vmpl(3), call, args);
}

CallOutcome World::call_with(uint32_t call_number, const void* request, size_t size, uint64_t request_gpa) {
  const auto* bytes = static_cast<const uint8_t*>(request);
  poke(Gpa(request_gpa), std::vector<uint8_t>(bytes, bytes + size));
  return call(call_number, request_gpa);
}

hal::sim::AccessOutcome World::kernel_write(Gpa gpa, const std::vector<uint8_t>& bytes, uint64_t rip) {
  platform_.vmsa(0, Vmpl(3)).rip = rip;
  std::vector<uint8_t> copy = bytes;
  return platform_.guest_access(0, Vmpl(3), gpa, Access::kWrite, copy.data(), copy.size());
}

hal::sim::AccessOutcome World::kernel_exec(Gpa gpa, uint64_t rip) {
  platform_.vmsa(0, Vmpl(3)).rip = rip;
  return platform_.guest_access(0, Vmpl(3), gpa, Access::kSupervisorExec, nullptr, 1);
}

hal::sim::AccessOutcome World::kernel_read(Gpa gpa, void* out, size_t length) {
  return platform_.guest_access(0, Vmpl(3), gpa, Access::kRead, out, length);
}

std::vector<uint8_t> World::read(Gpa gpa, size_t length) {
  std::vector<uint8_t> out(length);
  if (!platform_.vmpl0_read(gpa, out.data(), length)) std::abort();
  return out;
}

void World::poke(Gpa gpa, const std::vector<uint8_t>& bytes) {
  if (!platform_.vmpl0_write(gpa, bytes.data(), bytes.size())) std::abort();
}

uint8_t World::perms(Gpa gpa, uint8_t vmpl) const {
  const hal::sim::RmpEntry* entry = platform_.rmp_entry(gpa);
  return entry != nullptr ? entry->perms[vmpl] : 0;
}

Snapshot World::snapshot() const {
  Snapshot s;
  snapshot_into(s);
  return s;
}

void World::snapshot_into(Snapshot& s) const {
  s.perms.resize(kGuestPages * 4);
  for (uint64_t page = 0; page < kGuestPages; ++page) {
    const hal::sim::RmpEntry* entry = platform_.rmp_entry(Gpa(page * kPageSize4K));
    for (uint8_t vmpl = 0; vmpl < 4; ++vmpl) s.perms[page * 4 + vmpl] = entry->perms[vmpl];
  }
  s.memory.resize(kGuestPages * kPageSize4K);
  if (!platform_.vmpl0_read(Gpa(0), s.memory.data(), s.memory.size())) std::abort();
  // The ring is the channel a denial reports on; it is expected to change.
  std::memset(s.memory.data() + kRingGpa, 0, kRingPages * kPageSize4K);
  // The request page and the calling area are the kernel's scratch: it
  // writes each request there.
  std::memset(s.memory.data() + kRequestGpa, 0, kPageSize4K);
  std::memset(s.memory.data() + kCallingAreaGpa, 0, kPageSize4K);
}

std::string World::difference(const Snapshot& before, const Snapshot& after) const {
  if (before.perms == after.perms && before.memory == after.memory) return {};
  char text[160];
  for (size_t i = 0; i < before.perms.size(); ++i) {
    if (before.perms[i] != after.perms[i]) {
      std::snprintf(text, sizeof(text), "RMP of page %#zx VMPL%zu changed: %#x -> %#x", (i / 4) * kPageSize4K,
                    i % 4, before.perms[i], after.perms[i]);
      return text;
    }
  }
  for (size_t i = 0; i < before.memory.size(); ++i) {
    if (before.memory[i] != after.memory[i]) {
      std::snprintf(text, sizeof(text), "guest byte at GPA %#zx changed: %#x -> %#x", i, before.memory[i],
                    after.memory[i]);
      return text;
    }
  }
  return {};
}

}  // namespace vg::kci::testing
