// A guest on the simulated SEV-SNP platform with the VMPL0 monitor and KCI:
// guest memory, the kernel's image placed at a GPA, and the calls a kernel
// makes, either straight into KCI or the way a guest makes them (registers in
// the VMSA, calling area, GHCB "Run VMPL 0", the monitor's dispatcher).
//
// The KCI unit tests, the attack scenarios (through tests/kci/support World)
// and `vmplguard-replay` (a real kernel image, tens of MiB) share it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hal/sim/platform.h"
#include "kci/service.h"
#include "monitor/monitor.h"
#include "monitor/telemetry.h"

namespace vg::simguest {

// Where things are in guest memory. Every page below guest_pages is launched
// and validated; before registration the kernel's VMPL has RWX on the image
// and RW elsewhere (the state the monitor's boot leaves, docs/kci.md).
struct GuestLayout {
  uint64_t guest_pages = 0;
  uint32_t vcpus = 1;
  uint64_t text_gpa = 0;    // GPA of _text
  uint64_t image_size = 0;  // bytes from _text to _end, page-rounded by the guest
  uint64_t text_va = 0;     // runtime VA of _text (link address + KASLR slide)
  uint64_t ring_gpa = 0;
  uint32_t ring_pages = 0;
  uint64_t request_gpa = 0;  // the page the kernel builds requests in
  uint64_t calling_area_gpa = 0;
};

// How calls reach KCI: directly (unit tests), or through the SVSM call path,
// the host and the monitor's dispatcher (scenarios, replay).
enum class Path : uint8_t { kDirect, kMonitor };

class SimGuest {
 public:
  SimGuest(const GuestLayout& layout, Path path);
  ~SimGuest();
  SimGuest(const SimGuest&) = delete;
  SimGuest& operator=(const SimGuest&) = delete;

  // The kernel's control state as Linux leaves it at boot (pinned at
  // registration). `lstar` is entry_SYSCALL_64's runtime VA.
  void set_boot_registers(uint64_t lstar, uint64_t rip);
  // Launches guest memory and gives the kernel its boot-time permissions.
  void launch();
  Result<void, kci::LoadFailure> load_policy(ByteView bytes);
  kci::CallOutcome setup_ring();
  kci::CallOutcome register_kernel(const uint8_t* build_id, uint32_t build_id_size);

  kci::CallOutcome call(uint32_t call, uint64_t rcx = 0, uint64_t rdx = 0);
  // Writes `size` bytes of a request at `request_gpa` (the layout's request
  // page by default), then calls with RCX = that GPA.
  kci::CallOutcome call_with(uint32_t call, const void* request, size_t size, uint64_t request_gpa = 0);

  // What the kernel (VMPL3 on vCPU 0) does; a refused access reaches the
  // monitor as a forwarded violation exit.
  hal::sim::AccessOutcome kernel_write(Gpa gpa, const uint8_t* bytes, size_t length, uint64_t rip = 0);
  hal::sim::AccessOutcome kernel_exec(Gpa gpa, uint64_t rip);
  hal::sim::AccessOutcome kernel_read(Gpa gpa, void* out, size_t length);

  // As VMPL0 (setup and inspection); false when out of guest memory.
  bool read(Gpa gpa, void* out, size_t length) const;
  bool poke(Gpa gpa, const void* bytes, size_t length);
  uint8_t perms(Gpa gpa, uint8_t vmpl = 3) const;

  const GuestLayout& layout() const { return layout_; }
  hal::sim::SimPlatform& platform() { return platform_; }
  const hal::sim::SimPlatform& platform() const { return platform_; }
  kci::Service& service() { return *service_; }
  monitor::Monitor* monitor() { return monitor_.get(); }
  monitor::TelemetryRing& ring() { return ring_; }
  hal::VmsaState& kernel_vmsa(uint32_t vcpu = 0) { return platform_.vmsa(vcpu, Vmpl(3)); }
  kci::Verdict last_verdict() const { return last_verdict_; }
  uint64_t violations_seen() const { return violations_seen_; }

 private:
  static void vmpl0_entry(void* context, uint32_t vcpu);

  GuestLayout layout_;
  hal::sim::SimPlatform platform_;
  hal::sim::ScopedInstall install_;
  monitor::TelemetryRing ring_;
  // Each guest has its own KCI state (96 MiB of policy buffers), so tests
  // may hold several at once.
  std::unique_ptr<kci::Storage> storage_;
  std::unique_ptr<kci::Service> service_;
  Path path_;
  std::unique_ptr<monitor::Monitor> monitor_;
  kci::Verdict last_verdict_ = kci::Verdict::kAllowed;
  uint64_t violations_seen_ = 0;
};

}  // namespace vg::simguest
