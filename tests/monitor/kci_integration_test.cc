// The monitor with the real KCI (kci/*.cc) on the simulated platform: the
// kernel's calls go through the calling area and the monitor's dispatch, its
// faults through the host's forwarding and the monitor's violation path, and
// it reads the resulting records from the ring at VMPL3. Uses KCI's World
// fixture (tests/kci/support) for the synthetic kernel and its policy.
#include <gtest/gtest.h>

#include "monitor/monitor.h"
#include "monitor/pinned_registers.h"
#include "monitor/svsm/core_protocol.h"
#include "monitor/violation.h"
#include "world.h"

namespace vg::test {
namespace {

using kci::testing::World;

class MonitorWithKci : public ::testing::Test {
 protected:
  MonitorWithKci()
      : world_(kci::testing::synthetic_kernel()),
        monitor_(world_.service(), world_.ring(),
                 monitor::MonitorConfig{Vmpl{3}, kci::testing::kVcpus, 0, monitor::PinResponse::kRestore}) {
    world_.launch();
    EXPECT_TRUE(world_.load_policy().ok());
    EXPECT_TRUE(monitor_.set_calling_area(0, kCaa));
    world_.platform().set_vmpl0_entry(&monitor::Monitor::entry_trampoline, &monitor_);
  }

  hal::sim::CallOutcome svsm(uint32_t call, uint64_t rcx = 0, uint64_t rdx = 0) {
    return world_.platform().guest_svsm_call(0, Vmpl{3}, kCaa, uint64_t{VG_PROTOCOL} << 32 | call, rcx, rdx,
                                             0);
  }

  void register_through_monitor() {
    vg_register_kernel request{};
    request.abi_version = VG_ABI_VERSION;
    request.build_id_size = static_cast<uint32_t>(world_.kernel().build_id.size());
    memcpy(request.build_id, world_.kernel().build_id.data(), world_.kernel().build_id.size());
    request.text_va = world_.text_va(0);
    request.text_gpa = kci::testing::kTextGpa;
    request.kernel_size = world_.kernel().image_size();
    const auto* bytes = reinterpret_cast<const uint8_t*>(&request);
    world_.poke(Gpa(kci::testing::kRequestGpa), std::vector<uint8_t>(bytes, bytes + sizeof(request)));
    ASSERT_EQ(svsm(VG_CALL_REGISTER_KERNEL, kci::testing::kRequestGpa).rax, VG_RESULT_SUCCESS);
  }

  // The record the kernel finds in the ring for `sequence`, read at VMPL3.
  vg_record kernel_reads_record(uint64_t sequence) {
    vg_ring_header header{};
    EXPECT_TRUE(world_.kernel_read(Gpa(kci::testing::kRingGpa), &header, sizeof(header)).performed);
    vg_record record{};
    const uint64_t slot = (sequence - 1) % header.capacity;
    EXPECT_TRUE(world_
                    .kernel_read(Gpa(kci::testing::kRingGpa + kPageSize4K + slot * sizeof(vg_record)),
                                 &record, sizeof(record))
                    .performed);
    return record;
  }

  static constexpr Gpa kCaa = Gpa(kci::testing::kFreeGpa + 200 * kPageSize4K);
  World world_;
  monitor::Monitor monitor_;
};

TEST_F(MonitorWithKci, QueryAndRingSetupGoThroughTheMonitor) {
  const auto query = svsm(VG_CALL_QUERY);
  EXPECT_EQ(query.rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(query.rcx, VG_ABI_VERSION);
  EXPECT_FALSE(query.call_pending_after);

  ASSERT_EQ(svsm(VG_CALL_SETUP_RING, kci::testing::kRingGpa, kci::testing::kRingPages).rax,
            VG_RESULT_SUCCESS);
  EXPECT_TRUE(world_.ring().attached());
  EXPECT_EQ(world_.perms(Gpa(kci::testing::kRingGpa)), policy::kPermRead);
  // The kernel cannot forge a record.
  const auto forged = world_.kernel_write(Gpa(kci::testing::kRingGpa + kPageSize4K), {1, 2, 3, 4});
  EXPECT_FALSE(forged.performed);
}

TEST_F(MonitorWithKci, RegistrationLocksTextAndPinnedRegisters) {
  ASSERT_EQ(svsm(VG_CALL_SETUP_RING, kci::testing::kRingGpa, kci::testing::kRingPages).rax,
            VG_RESULT_SUCCESS);
  register_through_monitor();
  EXPECT_TRUE(monitor_.pins_locked(0));
  EXPECT_EQ(world_.perms(world_.text_gpa(0)) & policy::kPermWrite, 0);

  // A write to kernel text: denied by the RMP, reported by KCI through the
  // monitor's violation path, and the kernel resumes with its RIP moved or a
  // fault pending; the text is unchanged.
  const auto before = world_.read(world_.text_gpa(0x40), 4);
  const uint64_t records_before = world_.records();
  const auto write =
      world_.kernel_write(world_.text_gpa(0x40), {0xcc, 0xcc, 0xcc, 0xcc}, world_.text_va(0x10));
  EXPECT_FALSE(write.performed);
  EXPECT_TRUE(write.forwarded);
  EXPECT_EQ(world_.read(world_.text_gpa(0x40), 4), before);
  EXPECT_EQ(monitor_.stats().violations, 1u);
  ASSERT_GT(world_.records(), records_before);
  EXPECT_EQ(kernel_reads_record(world_.records()).kind, VG_KIND_TEXT_WRITE);
  const hal::VmsaState& state = world_.platform().vmsa(0, Vmpl{3});
  EXPECT_TRUE(state.rip != world_.text_va(0x10) || (state.event_inject & monitor::kEventValid) != 0 ||
              world_.platform().stopped());
}

TEST_F(MonitorWithKci, PinnedRegisterChangeReachesTheKernelsRing) {
  ASSERT_EQ(svsm(VG_CALL_SETUP_RING, kci::testing::kRingGpa, kci::testing::kRingPages).rax,
            VG_RESULT_SUCCESS);
  world_.platform().vmsa(0, Vmpl{3}).cr4 = 1ull << 20 | 1ull << 21;  // SMEP, SMAP
  register_through_monitor();
  world_.platform().vmsa(0, Vmpl{3}).cr4 = 0;  // the attacker clears them
  (void)svsm(VG_CALL_QUERY);
  const vg_record record = kernel_reads_record(world_.records());
  EXPECT_EQ(record.kind, VG_KIND_PINNED_REGISTER);
  EXPECT_EQ(record.detail, static_cast<uint32_t>(monitor::PinnedRegister::kCr4));
  EXPECT_EQ(record.value, 0u);
  EXPECT_EQ(world_.platform().vmsa(0, Vmpl{3}).cr4, 1ull << 20 | 1ull << 21);

  // The kernel acknowledges what it read: a monitor call KCI never sees.
  EXPECT_EQ(svsm(VG_CALL_ACK_RING, record.sequence).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(world_.ring().acknowledged(), record.sequence);
}

}  // namespace
}  // namespace vg::test

namespace vg::test {
namespace {

// The SVSM core protocol attached to the monitor: a Linux guest's PVALIDATE
// requests go through the calling area, and KCI vetoes the pages it locked.
class MonitorWithCoreProtocol : public MonitorWithKci {
 protected:
  MonitorWithCoreProtocol()
      : partitions_(partitions::PartitionPolicy::nested_kernel_default(), kci::testing::kVcpus),
        core_(partitions_, kci::testing::kVcpus, nullptr) {
    monitor_.attach_core_protocol(core_);
  }

  // One-entry PVALIDATE list in the request page, sent as the kernel would.
  hal::sim::CallOutcome pvalidate(Gpa page, bool validate) {
    const uint64_t list[2] = {1, page.raw() | (validate ? 4u : 0u)};  // entries = 1, next = 0
    const auto* bytes = reinterpret_cast<const uint8_t*>(list);
    world_.poke(Gpa(kci::testing::kRequestGpa), std::vector<uint8_t>(bytes, bytes + sizeof(list)));
    return world_.platform().guest_svsm_call(
        0, Vmpl{3}, kCaa, uint64_t{monitor::svsm::kCoreProtocol} << 32 | monitor::svsm::kCorePvalidate,
        kci::testing::kRequestGpa, 0, 0);
  }

  partitions::Partitions partitions_;
  monitor::svsm::CoreProtocol core_;
};

TEST_F(MonitorWithCoreProtocol, PvalidateReachesTheCoreProtocolThroughTheCallingArea) {
  const Gpa page = World::free_page(20);
  EXPECT_EQ(pvalidate(page, false).rax, monitor::svsm::kSuccess);
  EXPECT_FALSE(world_.platform().rmp_entry(page)->validated);
  EXPECT_EQ(pvalidate(page, true).rax, monitor::svsm::kSuccess);
  EXPECT_TRUE(world_.platform().rmp_entry(page)->validated);
}

TEST_F(MonitorWithCoreProtocol, KciVetoesRescindingLockedKernelText) {
  register_through_monitor();
  const Gpa text = world_.text_gpa(0);
  const uint64_t records_before = world_.ring().next_sequence();
  EXPECT_EQ(pvalidate(text, false).rax, monitor::svsm::kErrInvalidAddress);
  EXPECT_TRUE(world_.platform().rmp_entry(text)->validated) << "the host must never get kernel text back";
  EXPECT_GT(world_.ring().next_sequence(), records_before);
  EXPECT_EQ(world_.ring().last().kind, VG_KIND_RMP_TAMPER);
}

}  // namespace
}  // namespace vg::test
