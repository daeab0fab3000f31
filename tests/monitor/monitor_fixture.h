// A simulated guest with the monitor at VMPL0 and a kernel at VMPL3, set up
// the way boot would leave it:
//  - 1024 pages, 2 vCPUs, all launched as validated 4K pages (VMPL0 only);
//  - calling areas at 0x4000 (vCPU 0) and 0x5000 (vCPU 1), RW for VMPL3;
//  - kernel text: 16 pages at GPA 0x100000, mapped at kTextVa by 4-level
//    page tables at 0x20000 whose entries carry the C-bit (bit 51), R+X for
//    VMPL3 (what KCI would set); kernel data at 0x200000, RW for VMPL3;
//  - the monitor's entry hooked into the platform, KCI replaced by FakeKci.
#pragma once

#include <gtest/gtest.h>
#include <string.h>

#include "fake_kci_service.h"
#include "hal/hal.h"
#include "hal/sim/platform.h"
#include "monitor/monitor.h"
#include "monitor/telemetry.h"
#include "monitor/vmplguard_abi.h"

namespace vg::test {

class MonitorTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kPages = 1024;
  static constexpr Gpa kCaa[2] = {Gpa(0x4000), Gpa(0x5000)};
  static constexpr Gpa kPageTables{0x20000};
  static constexpr Gpa kTextGpa{0x100000};
  static constexpr uint64_t kTextPages = 16;
  static constexpr uint64_t kTextVa = 0xffffffff81000000ull;
  static constexpr Gpa kDataGpa{0x200000};
  static constexpr uint64_t kCBit = 1ull << 51;
  static constexpr Vmpl kKernel{3};

  explicit MonitorTest(monitor::PinResponse pin_response = monitor::PinResponse::kRestore)
      : platform_(kPages, 2),
        install_(platform_),
        service_(ring_),
        monitor_(service_, ring_, monitor::MonitorConfig{kKernel, 2, kCBit, pin_response}) {
    reset_fake_kci();
    for (uint64_t page = 0; page < kPages; ++page) {
      EXPECT_TRUE(platform_.launch_page(Gpa(page * kPageSize4K), hal::PageSize::k4K));
    }
    using namespace hal::sim;
    for (uint32_t vcpu = 0; vcpu < 2; ++vcpu) {
      grant(kCaa[vcpu], 1, kPermRead | kPermWrite);
      EXPECT_TRUE(monitor_.set_calling_area(vcpu, kCaa[vcpu]));
    }
    grant(kTextGpa, kTextPages, kPermRead | kPermSupervisorExec);
    grant(kDataGpa, 16, kPermRead | kPermWrite);
    build_page_tables();
    for (uint32_t vcpu = 0; vcpu < 2; ++vcpu) {
      hal::VmsaState& state = platform_.vmsa(vcpu, kKernel);
      state.cr3 = kPageTables.raw() | kCBit;
      state.cr0 = 0x80050033;           // PG WP NE ET MP PE
      state.cr4 = 0x3406f0 | 1u << 20;  // includes SMEP, SMAP, UMIP, FSGSBASE
      state.efer = 0xd01;               // SCE LME LMA NXE
      state.lstar = kTextVa + 0x800;
      state.idtr_base = 0xfffffe0000000000ull;
      state.gdtr_base = 0xfffffe0000001000ull + vcpu * 0x1000;
      state.rip = kTextVa;
    }
    platform_.set_vmpl0_entry(&monitor::Monitor::entry_trampoline, &monitor_);
  }

  void grant(Gpa first, uint64_t pages, uint8_t perms) {
    for (uint64_t i = 0; i < pages; ++i) {
      ASSERT_EQ(hal::rmpadjust(first + i * kPageSize4K, hal::PageSize::k4K, {kKernel, perms, false}),
                hal::RmpStatus::kSuccess);
    }
  }

  // PML4[511] -> PDPT[510] -> PD[8] -> PT[0..15] -> kTextGpa: kTextVa.
  void build_page_tables() {
    const uint64_t flags = 0x3 | kCBit;  // present, writable, encrypted
    put_entry(kPageTables, 511, (kPageTables.raw() + 0x1000) | flags);
    put_entry(kPageTables + 0x1000, 510, (kPageTables.raw() + 0x2000) | flags);
    put_entry(kPageTables + 0x2000, 8, (kPageTables.raw() + 0x3000) | flags);
    for (uint64_t i = 0; i < kTextPages; ++i) {
      put_entry(kPageTables + 0x3000, i, (kTextGpa.raw() + i * kPageSize4K) | flags);
    }
  }
  void put_entry(Gpa table, uint64_t index, uint64_t value) {
    ASSERT_TRUE(hal::write_guest(table + index * 8, &value, 8));
  }

  // Places instruction bytes in kernel text at `offset` and points RIP there.
  void place_instruction(uint32_t vcpu, uint64_t offset, std::initializer_list<uint8_t> bytes) {
    size_t i = 0;
    for (uint8_t byte : bytes) {
      ASSERT_TRUE(hal::write_guest(kTextGpa + offset + i++, &byte, 1));
    }
    platform_.vmsa(vcpu, kKernel).rip = kTextVa + offset;
  }

  hal::sim::CallOutcome call(uint32_t vcpu, uint32_t call_number, uint64_t rcx = 0, uint64_t rdx = 0,
                             uint64_t r8 = 0) {
    return platform_.guest_svsm_call(vcpu, kKernel, kCaa[vcpu], uint64_t{VG_PROTOCOL} << 32 | call_number,
                                     rcx, rdx, r8);
  }

  // Registers the kernel (FakeKci accepts) with a request page at `request`.
  void register_kernel(uint32_t vcpu = 0) {
    vg_register_kernel request{};
    request.abi_version = VG_ABI_VERSION;
    request.text_va = kTextVa;
    request.text_gpa = kTextGpa.raw();
    request.kernel_size = kTextPages * kPageSize4K;
    const Gpa page{0x6000};
    ASSERT_TRUE(hal::write_guest(page, &request, sizeof(request)));
    ASSERT_EQ(call(vcpu, VG_CALL_REGISTER_KERNEL, page.raw()).rax, VG_RESULT_SUCCESS);
  }

  hal::sim::SimPlatform platform_;
  hal::sim::ScopedInstall install_;
  monitor::TelemetryRing ring_;
  kci::Service service_;
  monitor::Monitor monitor_;
};

}  // namespace vg::test
