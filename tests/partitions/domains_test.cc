// The partition manager's rules, each checked against the simulated RMP.
#include "partitions_fixture.h"

namespace vg::partitions {
namespace {

using hal::sim::Access;
using testing::kR;
using testing::kW;
using testing::kX;
using testing::page;
using testing::PartitionsTest;

TEST_F(PartitionsTest, DonatedPageLeavesTheKernelAndReachesTheEnclaveOnlyWhenItRuns) {
  DomainId enclave = partitions_.create_domain(DomainKind::kEnclave).value();
  ASSERT_TRUE(partitions_.donate(enclave, page(5), kR | kW).ok());
  EXPECT_FALSE(can(3, page(5), Access::kWrite)) << "the kernel lost the page";
  EXPECT_FALSE(can(3, page(5), Access::kRead));
  EXPECT_FALSE(can(2, page(5), Access::kWrite)) << "the enclave is not resident yet";
  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, enclave).ok());
  EXPECT_TRUE(can(2, page(5), Access::kWrite));
  EXPECT_EQ(partitions_.owner_of(page(5)), enclave);
  EXPECT_EQ(partitions_.owner_of(page(6)), kKernelDomain);
  expect_rmp_matches_intent();
}

TEST_F(PartitionsTest, TwoEnclavesShareVmpl2BySwitchingPermissionSets) {
  DomainId a = partitions_.create_domain(DomainKind::kEnclave).value();
  DomainId b = partitions_.create_domain(DomainKind::kEnclave).value();
  ASSERT_TRUE(partitions_.donate(a, page(10), kR | kW).ok());
  ASSERT_TRUE(partitions_.donate(b, page(11), kR | kW).ok());

  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, a).ok());
  EXPECT_TRUE(can(2, page(10), Access::kWrite));
  EXPECT_FALSE(can(2, page(11), Access::kRead)) << "enclave A must not see enclave B";

  ASSERT_TRUE(partitions_.switch_domain(0, a, kKernelDomain).ok());
  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, b).ok());
  EXPECT_FALSE(can(2, page(10), Access::kRead)) << "A's set was revoked";
  EXPECT_TRUE(can(2, page(11), Access::kWrite));
  EXPECT_EQ(partitions_.resident(Vmpl(2)), b);
  expect_rmp_matches_intent();
}

TEST_F(PartitionsTest, AVmplHostsOneRunningDomainAtATime) {
  DomainId a = partitions_.create_domain(DomainKind::kEnclave).value();
  DomainId b = partitions_.create_domain(DomainKind::kEnclave).value();
  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, a).ok());
  auto busy = partitions_.switch_domain(1, kKernelDomain, b);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error(), PartitionError::kBusy);
  // The same enclave on a second vCPU is fine: its set is already resident.
  EXPECT_TRUE(partitions_.switch_domain(1, kKernelDomain, a).ok());
}

TEST_F(PartitionsTest, SharingIsBoundedByWhatTheOwnerHoldsAndThePolicy) {
  DomainId enclave = partitions_.create_domain(DomainKind::kEnclave).value();
  DomainId service = partitions_.create_domain(DomainKind::kService).value();
  ASSERT_TRUE(partitions_.donate(enclave, page(20), kR | kW).ok());
  ASSERT_TRUE(partitions_.donate(service, page(21), kR).ok());

  ASSERT_TRUE(partitions_.share(enclave, page(20), kKernelDomain, kR).ok());
  EXPECT_TRUE(can(3, page(20), Access::kRead)) << "the enclave's I/O buffer";
  EXPECT_FALSE(can(3, page(20), Access::kWrite));

  auto beyond = partitions_.share(service, page(21), kKernelDomain, kR | kW);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error(), PartitionError::kGrantExceedsHeld);

  auto into_enclave = partitions_.share(service, page(21), enclave, kR);
  ASSERT_FALSE(into_enclave.ok());
  EXPECT_EQ(into_enclave.error(), PartitionError::kShareNotAllowed);

  ASSERT_TRUE(partitions_.unshare(enclave, page(20), kKernelDomain).ok());
  EXPECT_FALSE(can(3, page(20), Access::kRead));
  expect_rmp_matches_intent();
}

TEST_F(PartitionsTest, DomainPagesAreNeverWritableAndExecutable) {
  DomainId enclave = partitions_.create_domain(DomainKind::kEnclave).value();
  auto wx = partitions_.donate(enclave, page(30), kR | kW | kX);
  ASSERT_FALSE(wx.ok());
  EXPECT_EQ(wx.error(), PartitionError::kWritableExecutable);
  EXPECT_TRUE(can(3, page(30), Access::kWrite)) << "a refused donation leaves the page with the kernel";
  EXPECT_TRUE(partitions_.donate(enclave, page(30), kR | kX).ok());
}

TEST_F(PartitionsTest, DestroyScrubsPagesBeforeTheKernelGetsThemBack) {
  DomainId enclave = partitions_.create_domain(DomainKind::kEnclave).value();
  ASSERT_TRUE(partitions_.donate(enclave, page(40), kR | kW).ok());
  ASSERT_TRUE(partitions_.switch_domain(0, kKernelDomain, enclave).ok());
  ASSERT_TRUE(can(2, page(40), Access::kWrite));  // the enclave writes a secret

  auto running = partitions_.destroy_domain(enclave);
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.error(), PartitionError::kDomainRunning);

  ASSERT_TRUE(partitions_.switch_domain(0, enclave, kKernelDomain).ok());
  ASSERT_TRUE(partitions_.destroy_domain(enclave).ok());
  EXPECT_EQ(partitions_.owner_of(page(40)), kKernelDomain);
  uint64_t value = 1;
  ASSERT_TRUE(platform_.guest_access(0, Vmpl(3), page(40), Access::kRead, &value, sizeof(value)).performed);
  EXPECT_EQ(value, 0u) << "the enclave's data was scrubbed";
  EXPECT_EQ(rmp_perms(page(40), 2), 0);
  EXPECT_EQ(partitions_.domain(enclave), nullptr);
}

TEST_F(PartitionsTest, MonitorMakesOneVmsaPerVcpuAndVmpl) {
  DomainId service = partitions_.create_domain(DomainKind::kService).value();
  ASSERT_TRUE(partitions_.create_vmsa(service, 0, page(50)).ok());
  EXPECT_TRUE(platform_.rmp_entry(page(50))->vmsa);
  EXPECT_TRUE(partitions_.is_vmsa(page(50)));
  EXPECT_FALSE(can(3, page(50), Access::kWrite)) << "the kernel cannot edit a VMSA";
  auto twice = partitions_.create_vmsa(service, 0, page(51));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error(), PartitionError::kVmsaExists);
  EXPECT_TRUE(partitions_.create_vmsa(service, 1, page(51)).ok());
  expect_rmp_matches_intent();
}

TEST_F(PartitionsTest, ErrorsAreDescribed) {
  for (int e = 0; e <= static_cast<int>(PartitionError::kWritableExecutable); ++e) {
    EXPECT_STRNE(describe(static_cast<PartitionError>(e)), "unknown partition error");
  }
}

}  // namespace
}  // namespace vg::partitions
