// RMPADJUST as the simulated platform executes it, rule by rule
// [APM3 RMPADJUST; APM2 15.36.7].
#include "hal/sim_fixture.h"

namespace vg::test {
namespace {

using hal::PageSize;
using hal::RmpStatus;
using hal::sim::Access;
using hal::sim::Fault;
using hal::sim::kPermAll;
using hal::sim::kPermRead;
using hal::sim::kPermSupervisorExec;
using hal::sim::kPermWrite;

constexpr Gpa kPage{0x10000};

uint32_t code(RmpStatus status) {
  return static_cast<uint32_t>(status);
}

TEST_F(SimTest, LaunchedPagesGiveLowerVmplsNothing) {
  // [APM2 15.36.7]: after launch only VMPL0 has permissions.
  const hal::sim::RmpEntry* entry = platform_.rmp_entry(kPage);
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->assigned && entry->validated);
  for (uint8_t vmpl = 1; vmpl < 4; ++vmpl) EXPECT_EQ(entry->perms[vmpl], 0);
}

TEST_F(SimTest, Vmpl0GrantsReadOnlyAndTheWriteFaults) {
  const auto outcome = platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(3, kPermRead));
  ASSERT_EQ(outcome.fault, Fault::kNone);
  EXPECT_EQ(outcome.rax, code(RmpStatus::kSuccess));
  uint64_t value = 0x1122334455667788;
  EXPECT_TRUE(platform_.guest_access(0, Vmpl{3}, kPage, Access::kRead, &value, 8).performed);
  platform_.set_forward_vmpl_faults(false);
  const auto write = platform_.guest_access(0, Vmpl{3}, kPage, Access::kWrite, &value, 8);
  EXPECT_FALSE(write.performed);
  EXPECT_EQ(write.fault, Fault::kNpf);
  EXPECT_NE(write.error_code & hal::sim::kNpfRmp, 0u);
  EXPECT_NE(write.error_code & hal::sim::kNpfVmpl, 0u);
  EXPECT_NE(write.error_code & hal::sim::kNpfWrite, 0u);
}

TEST_F(SimTest, TargetVmplMustBeGreaterThanTheCaller) {
  // "RMPADJUST only adjusts VMPLs numerically greater than the caller's".
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(0, kPermRead)).rax,
            code(RmpStatus::kFailPermission));
  ASSERT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(1, kPermAll)).rax,
            code(RmpStatus::kSuccess));
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{1}, kPage, PageSize::k4K, rdx(1, kPermRead)).rax,
            code(RmpStatus::kFailPermission));
  EXPECT_EQ(platform_.rmp_entry(kPage)->perms[1], kPermAll);
}

TEST_F(SimTest, TargetVmplAboveThreeIsInvalidInput) {
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(4, kPermRead)).rax,
            code(RmpStatus::kFailInput));
}

TEST_F(SimTest, ReservedAttributeBitsAreInvalidInput) {
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(3, kPermRead) | 1ull << 20).rax,
            code(RmpStatus::kFailInput));
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(3, 0x10)).rax,
            code(RmpStatus::kFailInput));
  EXPECT_EQ(platform_.rmp_entry(kPage)->perms[3], 0);
}

TEST_F(SimTest, MisalignedAddressIsInvalidInput) {
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage + 8, PageSize::k4K, rdx(3, kPermRead)).rax,
            code(RmpStatus::kFailInput));
  // A 2M operation needs a 2M-aligned address even if 4K-aligned.
  EXPECT_EQ(
      platform_.guest_rmpadjust(0, Vmpl{0}, k2MRegion + kPageSize4K, PageSize::k2M, rdx(3, kPermRead)).rax,
      code(RmpStatus::kFailInput));
}

TEST_F(SimTest, PageSizeMustMatchTheRmpEntry) {
  ASSERT_EQ(platform_.guest_pvalidate(0, Vmpl{0}, k2MRegion, PageSize::k2M, true).rax, 0u);
  // 4K operation on a 2M RMP page, and 2M operation on 4K RMP pages: FAIL_SIZEMISMATCH (6).
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, k2MRegion, PageSize::k4K, rdx(3, kPermRead)).rax, 6u);
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, Gpa(0), PageSize::k2M, rdx(3, kPermRead)).rax, 6u);
}

TEST_F(SimTest, TwoMegabyteAdjustCoversAll512Entries) {
  ASSERT_EQ(platform_.guest_pvalidate(0, Vmpl{0}, k2MRegion, PageSize::k2M, true).rax, 0u);
  ASSERT_EQ(
      platform_.guest_rmpadjust(0, Vmpl{0}, k2MRegion, PageSize::k2M, rdx(2, kPermRead | kPermWrite)).rax,
      0u);
  EXPECT_EQ(platform_.rmp_entry(k2MRegion)->perms[2], kPermRead | kPermWrite);
  EXPECT_EQ(platform_.rmp_entry(k2MRegion + (kPageSize2M - kPageSize4K))->perms[2], kPermRead | kPermWrite);
}

TEST_F(SimTest, CannotGrantMoreThanTheCallerHas) {
  ASSERT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(1, kPermRead)).rax, 0u);
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{1}, kPage, PageSize::k4K, rdx(2, kPermRead | kPermWrite)).rax,
            code(RmpStatus::kFailPermission));
  EXPECT_EQ(platform_.rmp_entry(kPage)->perms[2], 0);
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{1}, kPage, PageSize::k4K, rdx(2, kPermRead)).rax, 0u);
  EXPECT_EQ(platform_.rmp_entry(kPage)->perms[2], kPermRead);
}

TEST_F(SimTest, KernelAtVmpl3CannotTouchAnyVmpl) {
  // The attack: a compromised kernel at VMPL3 tries to give itself write
  // access to its own text. VMPL3 can only adjust VMPLs above 3, of which
  // there are none: FAIL_PERMISSION for 0-3, FAIL_INPUT beyond.
  ASSERT_EQ(
      platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(3, kPermRead | kPermSupervisorExec))
          .rax,
      0u);
  for (uint8_t target = 0; target < 4; ++target) {
    EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{3}, kPage, PageSize::k4K, rdx(target, kPermAll)).rax,
              code(RmpStatus::kFailPermission))
        << "target VMPL " << int{target};
  }
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{3}, kPage, PageSize::k4K, rdx(4, kPermAll)).rax,
            code(RmpStatus::kFailInput));
  EXPECT_EQ(platform_.rmp_entry(kPage)->perms[3], kPermRead | kPermSupervisorExec);
}

TEST_F(SimTest, UnassignedPageTakesNestedPageFault) {
  ASSERT_TRUE(platform_.host_reclaim(kPage));
  const auto outcome = platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(3, kPermRead));
  EXPECT_EQ(outcome.fault, Fault::kNpf);
  EXPECT_NE(outcome.error_code & hal::sim::kNpfRmp, 0u);
  EXPECT_EQ(hal::rmpadjust(kPage, PageSize::k4K, {Vmpl{3}, kPermRead, false}), RmpStatus::kNotAssigned);
  // Outside guest memory altogether.
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, Gpa(kPages * kPageSize4K), PageSize::k4K, rdx(3, 1)).fault,
            Fault::kNpf);
}

TEST_F(SimTest, UnvalidatedPageRaisesVc) {
  const auto outcome = platform_.guest_rmpadjust(0, Vmpl{0}, k2MRegion, PageSize::k2M, rdx(3, kPermRead));
  EXPECT_EQ(outcome.fault, Fault::kVc);
  EXPECT_EQ(outcome.error_code, hal::sim::kVcPageNotValidated);
  EXPECT_EQ(hal::rmpadjust(k2MRegion, PageSize::k2M, {Vmpl{3}, kPermRead, false}), RmpStatus::kNotValidated);
}

TEST_F(SimTest, OnlyVmpl0SetsTheVmsaBit) {
  ASSERT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(1, kPermAll)).rax, 0u);
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{1}, kPage, PageSize::k4K, rdx(2, kPermRead, true)).rax, 0u);
  EXPECT_FALSE(platform_.rmp_entry(kPage)->vmsa);
  EXPECT_EQ(platform_.guest_rmpadjust(0, Vmpl{0}, kPage, PageSize::k4K, rdx(1, kPermRead, true)).rax, 0u);
  EXPECT_TRUE(platform_.rmp_entry(kPage)->vmsa);
}

TEST_F(SimTest, HalRmpadjustActsAtVmpl0) {
  EXPECT_EQ(hal::rmpadjust(kPage, PageSize::k4K, {Vmpl{3}, kPermRead, false}), RmpStatus::kSuccess);
  EXPECT_EQ(platform_.rmp_entry(kPage)->perms[3], kPermRead);
  EXPECT_EQ(hal::rmpadjust(kPage, PageSize::k4K, {Vmpl{0}, kPermRead, false}), RmpStatus::kFailPermission);
}

}  // namespace
}  // namespace vg::test
