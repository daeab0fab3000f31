// Guest accesses at a VMPL and the host's forwarding of VMPL faults
// [APM2 15.36.10; docs/host-contract.md].
#include <string.h>

#include <vector>

#include "hal/ghcb_msr.h"
#include "hal/sim_fixture.h"

namespace vg::test {
namespace {

using hal::PageSize;
using hal::sim::Access;
using hal::sim::Fault;

struct Entries {
  std::vector<hal::ExitInfo> exits;
};

void record_entry(void* context, uint32_t vcpu) {
  hal::ExitInfo info;
  ASSERT_TRUE(hal::read_exit_info(vcpu, info));
  static_cast<Entries*>(context)->exits.push_back(info);
}

class SimAccessTest : public SimTest {
 protected:
  SimAccessTest() { platform_.set_vmpl0_entry(&record_entry, &entries_); }
  void grant(Gpa page, uint8_t perms) {
    ASSERT_EQ(hal::rmpadjust(page, PageSize::k4K, {Vmpl{3}, perms, false}), hal::RmpStatus::kSuccess);
  }
  Entries entries_;
};

TEST_F(SimAccessTest, Vmpl0AccessesEverything) {
  uint32_t value = 7;
  EXPECT_TRUE(platform_.guest_access(0, Vmpl{0}, Gpa(0x2000), Access::kWrite, &value, 4).performed);
  EXPECT_TRUE(platform_.guest_access(0, Vmpl{0}, Gpa(0x2000), Access::kSupervisorExec, nullptr, 4).performed);
  EXPECT_TRUE(entries_.exits.empty());
}

TEST_F(SimAccessTest, ForwardedWriteViolationReachesVmpl0AndTheWriteNeverHappens) {
  const Gpa page{0x8000};
  grant(page, hal::sim::kPermRead | hal::sim::kPermSupervisorExec);
  uint64_t value = 0x4141414141414141;
  const auto outcome = platform_.guest_access(1, Vmpl{3}, page + 0x10, Access::kWrite, &value, 8);
  EXPECT_EQ(outcome.fault, Fault::kNpf);
  EXPECT_TRUE(outcome.forwarded);
  EXPECT_FALSE(outcome.performed);
  ASSERT_EQ(entries_.exits.size(), 1u);
  const hal::ExitInfo& exit = entries_.exits[0];
  EXPECT_EQ(exit.exit_code, hal::kExitCodeNpf);
  EXPECT_EQ(exit.info1 & (1ull << 31 | 1ull << 36 | hal::sim::kNpfWrite), 1ull << 31 | 1ull << 36 | 2);
  EXPECT_EQ(exit.info2, page.raw() + 0x10);
  EXPECT_EQ(exit.vmpl, 3);
  uint64_t stored = 1;
  ASSERT_TRUE(hal::read_guest(page + 0x10, &stored, 8));
  EXPECT_EQ(stored, 0u);
}

TEST_F(SimAccessTest, UncooperativeHostLosesTheReportNotTheProtection) {
  const Gpa page{0x8000};
  grant(page, hal::sim::kPermRead);
  platform_.set_forward_vmpl_faults(false);
  uint64_t value = 0x4141414141414141;
  const auto outcome = platform_.guest_access(0, Vmpl{3}, page, Access::kWrite, &value, 8);
  EXPECT_EQ(outcome.fault, Fault::kNpf);
  EXPECT_FALSE(outcome.forwarded);
  EXPECT_TRUE(entries_.exits.empty());
  uint64_t stored = 1;
  ASSERT_TRUE(hal::read_guest(page, &stored, 8));
  EXPECT_EQ(stored, 0u);
}

TEST_F(SimAccessTest, ExecuteFaultsCarryFetchAndUserBits) {
  const Gpa page{0x9000};
  grant(page, hal::sim::kPermRead | hal::sim::kPermWrite);
  const auto supervisor = platform_.guest_access(0, Vmpl{3}, page, Access::kSupervisorExec, nullptr, 1);
  const auto user = platform_.guest_access(0, Vmpl{3}, page, Access::kUserExec, nullptr, 1);
  EXPECT_EQ(supervisor.error_code & (hal::sim::kNpfFetch | hal::sim::kNpfUser), hal::sim::kNpfFetch);
  EXPECT_EQ(user.error_code & (hal::sim::kNpfFetch | hal::sim::kNpfUser),
            hal::sim::kNpfFetch | hal::sim::kNpfUser);
  EXPECT_EQ(entries_.exits.size(), 2u);
}

TEST_F(SimAccessTest, AccessAcrossPagesIsAllOrNothing) {
  // The first page is writable, the second is not: nothing is written.
  grant(Gpa(0xa000), hal::sim::kPermRead | hal::sim::kPermWrite);
  grant(Gpa(0xb000), hal::sim::kPermRead);
  uint64_t value = ~0ull;
  const auto outcome = platform_.guest_access(0, Vmpl{3}, Gpa(0xaffc), Access::kWrite, &value, 8);
  EXPECT_EQ(outcome.fault, Fault::kNpf);
  ASSERT_EQ(entries_.exits.size(), 1u);
  EXPECT_EQ(entries_.exits[0].info2, 0xb000u);
  uint64_t stored = 1;
  ASSERT_TRUE(hal::read_guest(Gpa(0xaffc), &stored, 8));
  EXPECT_EQ(stored, 0u);
}

TEST_F(SimAccessTest, UnassignedPageIsTheHostsFaultNotAViolation) {
  ASSERT_TRUE(platform_.host_reclaim(Gpa(0xc000)));
  uint8_t byte = 0;
  const auto outcome = platform_.guest_access(0, Vmpl{3}, Gpa(0xc000), Access::kRead, &byte, 1);
  EXPECT_EQ(outcome.fault, Fault::kNpf);
  EXPECT_EQ(outcome.error_code & hal::sim::kNpfVmpl, 0u);
  EXPECT_TRUE(entries_.exits.empty());
}

TEST_F(SimAccessTest, HalGuestMemoryRefusesRangesOutsideTheGuest) {
  uint8_t buffer[16] = {};
  EXPECT_FALSE(hal::read_guest(Gpa(kPages * kPageSize4K - 8), buffer, 16));
  EXPECT_FALSE(hal::write_guest(Gpa(~0ull - 4), buffer, 16));
  EXPECT_FALSE(hal::read_guest(k2MRegion, buffer, 1));  // assigned, not validated
  EXPECT_TRUE(hal::write_guest(Gpa(0x100), buffer, 16));
}

TEST_F(SimAccessTest, VmsaIsPerVcpuAndVmpl) {
  platform_.vmsa(1, Vmpl{3}).cr4 = 0x3006f0;
  hal::VmsaState state;
  ASSERT_TRUE(hal::read_vmsa(1, Vmpl{3}, state));
  EXPECT_EQ(state.cr4, 0x3006f0u);
  ASSERT_TRUE(hal::read_vmsa(0, Vmpl{3}, state));
  EXPECT_EQ(state.cr4, 0u);
  EXPECT_FALSE(hal::read_vmsa(2, Vmpl{3}, state));
  EXPECT_FALSE(hal::read_vmsa(0, Vmpl{4}, state));
  EXPECT_FALSE(hal::write_vmsa(0, Vmpl{0}, state));  // the monitor's own state is not edited
  EXPECT_TRUE(hal::write_vmsa(0, Vmpl{2}, state));
}

}  // namespace
}  // namespace vg::test
