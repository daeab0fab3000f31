#include "world.h"

#include <cstdio>
#include <cstring>

#include "hal/hal.h"

#ifndef VG_SCENARIO_DIR
#error "VG_SCENARIO_DIR must name tests/scenarios"
#endif

namespace vg::kci::testing {

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

World::World(const KernelDescription& kernel, Path path) : kernel_(kernel) {
  simguest::GuestLayout layout;
  layout.guest_pages = kGuestPages;
  layout.vcpus = kVcpus;
  layout.text_gpa = kTextGpa;
  layout.image_size = kernel_.image_size();
  layout.text_va = text_va(0);
  layout.ring_gpa = kRingGpa;
  layout.ring_pages = kRingPages;
  layout.request_gpa = kRequestGpa;
  layout.calling_area_gpa = kCallingAreaGpa;
  guest_ = std::make_unique<simguest::SimGuest>(layout, path);
  // The kernel's control state as Linux leaves it at boot; the monitor pins
  // it when the kernel registers.
  if (path == Path::kMonitor)
    guest_->set_boot_registers(text_va(0x800) /* entry_SYSCALL_64 */, text_va(0x100));
}

World::~World() = default;

void World::launch() {
  guest_->launch();
}

Result<void, LoadFailure> World::load_policy(uint64_t serial, uint32_t flags) {
  const auto bytes = policy_bytes(serial, flags);
  return guest_->load_policy(ByteView{bytes.data(), bytes.size()});
}

CallOutcome World::setup_ring() {
  return guest_->setup_ring();
}

CallOutcome World::register_kernel() {
  return guest_->register_kernel(kernel_.build_id.data(), static_cast<uint32_t>(kernel_.build_id.size()));
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
  return guest_->call(call, rcx, rdx);
}

CallOutcome World::call_with(uint32_t call_number, const void* request, size_t size, uint64_t request_gpa) {
  return guest_->call_with(call_number, request, size, request_gpa);
}

hal::sim::AccessOutcome World::kernel_write(Gpa gpa, const std::vector<uint8_t>& bytes, uint64_t rip) {
  return guest_->kernel_write(gpa, bytes.data(), bytes.size(), rip);
}

hal::sim::AccessOutcome World::kernel_exec(Gpa gpa, uint64_t rip) {
  return guest_->kernel_exec(gpa, rip);
}

hal::sim::AccessOutcome World::kernel_read(Gpa gpa, void* out, size_t length) {
  return guest_->kernel_read(gpa, out, length);
}

std::vector<uint8_t> World::read(Gpa gpa, size_t length) {
  std::vector<uint8_t> out(length);
  if (!guest_->read(gpa, out.data(), length)) std::abort();
  return out;
}

void World::poke(Gpa gpa, const std::vector<uint8_t>& bytes) {
  if (!guest_->poke(gpa, bytes.data(), bytes.size())) std::abort();
}

uint8_t World::perms(Gpa gpa, uint8_t vmpl) const {
  return guest_->perms(gpa, vmpl);
}

Snapshot World::snapshot() const {
  Snapshot s;
  snapshot_into(s);
  return s;
}

void World::snapshot_into(Snapshot& s) const {
  s.perms.resize(kGuestPages * 4);
  for (uint64_t page = 0; page < kGuestPages; ++page) {
    const hal::sim::RmpEntry* entry = guest_->platform().rmp_entry(Gpa(page * kPageSize4K));
    for (uint8_t vmpl = 0; vmpl < 4; ++vmpl) s.perms[page * 4 + vmpl] = entry->perms[vmpl];
  }
  s.memory.resize(kGuestPages * kPageSize4K);
  if (!guest_->read(Gpa(0), s.memory.data(), s.memory.size())) std::abort();
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
