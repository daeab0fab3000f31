// A guest on the simulated SEV-SNP platform with KCI in its monitor: the
// fixture of the KCI unit tests, the property test and the scenario runner.
//
// Memory map (2.5 MiB of guest memory, all launched and validated):
//   kTextGpa      the synthetic kernel image (kernel.txt), loaded at text_va
//   kRingGpa      the telemetry ring (kRingPages pages)
//   kRequestGpa   the page the kernel builds requests in
//   kFreeGpa + N  free data pages (modules, JIT images, attacker pages)
// Before registration the kernel's VMPL has RWX on its image and RW on every
// other page: the state the monitor's boot leaves (docs/kci.md).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hal/sim/platform.h"
#include "kci/guest_copy.h"
#include "kci/service.h"
#include "kernel_description.h"
#include "monitor/monitor.h"
#include "monitor/telemetry.h"
#include "simguest/sim_guest.h"

namespace vg::kci::testing {

inline constexpr uint64_t kGuestPages = 640;  // 2.5 MiB: small enough to snapshot every step
inline constexpr uint64_t kTextGpa = 0x100000;
inline constexpr uint64_t kSlide = 0x3e00000;  // KASLR slide, 2 MiB multiple
inline constexpr uint64_t kRingGpa = 0x140000;
inline constexpr uint32_t kRingPages = 8;
inline constexpr uint64_t kRequestGpa = 0x150000;
inline constexpr uint64_t kFreeGpa = 0x160000;
inline constexpr uint32_t kFreePages = 256;
inline constexpr uint32_t kVcpus = 2;
inline constexpr uint64_t kCallingAreaGpa = 0x2000;  // vCPU 0's SVSM calling area

// How the World reaches KCI: directly (unit tests), or as a guest does, through
// the SVSM call path, the host and the VMPL0 monitor's dispatcher (scenarios).
using Path = simguest::Path;

// The state a denied request must leave untouched: every RMP entry and every
// guest byte (the ring pages excepted: records are the point of a denial;
// and the request page, which the kernel itself fills before each call).
struct Snapshot {
  std::vector<uint8_t> perms;  // 4 per page
  std::vector<uint8_t> memory;
};

class World {
 public:
  explicit World(const KernelDescription& kernel, Path path = Path::kDirect);
  ~World();

  // Launches guest memory and gives the kernel its boot-time permissions.
  void launch();
  Result<void, LoadFailure> load_policy(uint64_t serial = ~0ull, uint32_t flags = ~0u);
  CallOutcome setup_ring();
  CallOutcome register_kernel();
  // launch + load_policy + setup_ring + register_kernel, asserting success.
  void boot(uint32_t flags = ~0u);
  // boot, then LOCK_RO_AFTER_INIT and FREE_INIT.
  void boot_final(uint32_t flags = ~0u);

  CallOutcome call(uint32_t call, uint64_t rcx = 0, uint64_t rdx = 0);
  // Writes `size` bytes of a request into the request page, then calls.
  CallOutcome call_with(uint32_t call, const void* request, size_t size, uint64_t request_gpa = kRequestGpa);

  // What the kernel (VMPL3 on vCPU 0) does; violations reach KCI through the
  // host's forwarding and the World's VMPL0 entry.
  hal::sim::AccessOutcome kernel_write(Gpa gpa, const std::vector<uint8_t>& bytes, uint64_t rip = 0);
  hal::sim::AccessOutcome kernel_exec(Gpa gpa, uint64_t rip);
  hal::sim::AccessOutcome kernel_read(Gpa gpa, void* out, size_t length);

  uint64_t text_va(uint64_t offset) const { return kernel_.link_text_va + kSlide + offset; }
  Gpa text_gpa(uint64_t offset) const { return Gpa(kTextGpa + offset); }
  static Gpa free_page(uint32_t n) { return Gpa(kFreeGpa + uint64_t{n} * kPageSize4K); }
  std::vector<uint8_t> read(Gpa gpa, size_t length);
  void poke(Gpa gpa, const std::vector<uint8_t>& bytes);  // as VMPL0, for setup
  uint8_t perms(Gpa gpa, uint8_t vmpl = 3) const;

  Snapshot snapshot() const;
  // Same, into existing buffers (no allocation: the property test takes
  // two snapshots per step).
  void snapshot_into(Snapshot& out) const;
  // Empty if equal; else a description of the first difference.
  std::string difference(const Snapshot& before, const Snapshot& after) const;

  uint64_t records() const { return guest_->ring().next_sequence() - 1; }
  const vg_record& last_record() const { return guest_->ring().last(); }
  Verdict last_verdict() const { return guest_->last_verdict(); }
  uint64_t violations_seen() const { return guest_->violations_seen(); }

  const KernelDescription& kernel() const { return kernel_; }
  hal::sim::SimPlatform& platform() { return guest_->platform(); }
  Service& service() { return guest_->service(); }
  monitor::Monitor* monitor() { return guest_->monitor(); }
  hal::VmsaState& kernel_vmsa(uint32_t vcpu = 0) { return guest_->kernel_vmsa(vcpu); }
  monitor::TelemetryRing& ring() { return guest_->ring(); }
  std::vector<uint8_t> policy_bytes(uint64_t serial = ~0ull, uint32_t flags = ~0u) const {
    return build_policy(kernel_, serial, flags);
  }

 private:
  KernelDescription kernel_;
  // The guest itself (platform, monitor, KCI) is the shared harness of
  // tools/simguest; the World adds the synthetic kernel and snapshots.
  std::unique_ptr<simguest::SimGuest> guest_;
};

// The synthetic kernel shared by every test (tests/scenarios/kernel.txt).
const KernelDescription& synthetic_kernel();

}  // namespace vg::kci::testing
