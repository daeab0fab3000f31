// PVALIDATE on the simulated platform [APM3 PVALIDATE; APM2 15.36.6].
#include "hal/sim_fixture.h"

namespace vg::test {
namespace {

using hal::PageSize;
using hal::PvalidateStatus;
using hal::sim::Access;
using hal::sim::Fault;

TEST_F(SimTest, ValidatingTwiceLeavesThePageUnchangedWithCarry) {
  EXPECT_EQ(hal::pvalidate(k2MRegion, PageSize::k2M, true), PvalidateStatus::kSuccess);
  EXPECT_TRUE(platform_.rmp_entry(k2MRegion + 0x1000)->validated);
  // Double validation is how a malicious host's page remapping is detected:
  // rFLAGS.CF = 1, RAX = 0.
  const auto again = platform_.guest_pvalidate(0, Vmpl{0}, k2MRegion, PageSize::k2M, true);
  EXPECT_EQ(again.rax, 0u);
  EXPECT_TRUE(again.carry);
  EXPECT_EQ(hal::pvalidate(k2MRegion, PageSize::k2M, true), PvalidateStatus::kFailUnchanged);
}

TEST_F(SimTest, RescindedPageRaisesVcOnAccess) {
  const Gpa page{0x3000};
  EXPECT_EQ(hal::pvalidate(page, PageSize::k4K, false), PvalidateStatus::kSuccess);
  uint8_t byte = 0;
  const auto access = platform_.guest_access(0, Vmpl{0}, page, Access::kRead, &byte, 1);
  EXPECT_EQ(access.fault, Fault::kVc);
  EXPECT_EQ(access.error_code, hal::sim::kVcPageNotValidated);
  EXPECT_FALSE(hal::read_guest(page, &byte, 1));
}

TEST_F(SimTest, PvalidateBelowVmpl0RaisesGp) {
  EXPECT_EQ(platform_.guest_pvalidate(0, Vmpl{3}, Gpa(0x3000), PageSize::k4K, false).fault, Fault::kGp);
  EXPECT_EQ(platform_.guest_pvalidate(0, Vmpl{1}, k2MRegion, PageSize::k2M, true).fault, Fault::kGp);
  EXPECT_TRUE(platform_.rmp_entry(Gpa(0x3000))->validated);
  EXPECT_FALSE(platform_.rmp_entry(k2MRegion)->validated);
}

TEST_F(SimTest, PvalidateSizeMismatchAndMisalignment) {
  EXPECT_EQ(hal::pvalidate(k2MRegion, PageSize::k4K, true), PvalidateStatus::kFailSizeMismatch);
  EXPECT_EQ(hal::pvalidate(Gpa(0), PageSize::k2M, false), PvalidateStatus::kFailSizeMismatch);
  EXPECT_EQ(hal::pvalidate(Gpa(0x3008), PageSize::k4K, false), PvalidateStatus::kFailInput);
  EXPECT_FALSE(platform_.rmp_entry(k2MRegion)->validated);
  EXPECT_TRUE(platform_.rmp_entry(Gpa(0))->validated);
}

TEST_F(SimTest, PvalidateOfUnassignedPageTakesNestedPageFault) {
  ASSERT_TRUE(platform_.host_reclaim(Gpa(0x5000)));
  EXPECT_EQ(platform_.guest_pvalidate(0, Vmpl{0}, Gpa(0x5000), PageSize::k4K, true).fault, Fault::kNpf);
  EXPECT_EQ(hal::pvalidate(Gpa(0x5000), PageSize::k4K, true), PvalidateStatus::kNotAssigned);
}

}  // namespace
}  // namespace vg::test
