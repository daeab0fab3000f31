// Pinned registers of the kernel's VMPL, checked at every monitor entry
// against the values locked at kernel registration.
#include "monitor/pinned_registers.h"
#include "monitor_fixture.h"

namespace vg::test {
namespace {

using monitor::PinnedRegister;
using monitor::PinResponse;

constexpr uint64_t kSmep = 1ull << 20;

template <PinResponse kResponse>
class PinnedTest : public MonitorTest {
 protected:
  PinnedTest() : MonitorTest(kResponse) {}
};
using PinnedRestoreTest = PinnedTest<PinResponse::kRestore>;
using PinnedRecordTest = PinnedTest<PinResponse::kRecordOnly>;
using PinnedStopTest = PinnedTest<PinResponse::kStop>;

TEST_F(PinnedRestoreTest, NothingIsPinnedBeforeRegistration) {
  platform_.vmsa(0, kKernel).cr4 &= ~kSmep;
  (void)call(0, VG_CALL_QUERY);
  EXPECT_FALSE(monitor_.pins_locked(0));
  EXPECT_EQ(monitor_.stats().pinned_changes, 0u);
}

TEST_F(PinnedRestoreTest, ClearingSmepIsRecordedAndRestored) {
  register_kernel();
  ASSERT_TRUE(monitor_.pins_locked(0));
  const uint64_t locked_cr4 = platform_.vmsa(0, kKernel).cr4;
  platform_.vmsa(0, kKernel).cr4 = locked_cr4 & ~kSmep;
  (void)call(0, VG_CALL_QUERY);
  EXPECT_EQ(monitor_.stats().pinned_changes, 1u);
  EXPECT_EQ(ring_.last().kind, VG_KIND_PINNED_REGISTER);
  EXPECT_EQ(ring_.last().detail, static_cast<uint32_t>(PinnedRegister::kCr4));
  EXPECT_EQ(ring_.last().value, locked_cr4 & ~kSmep);
  EXPECT_EQ(ring_.last().verdict, VG_VERDICT_DENIED);
  EXPECT_EQ(platform_.vmsa(0, kKernel).cr4, locked_cr4);
}

TEST_F(PinnedRestoreTest, UnpinnedBitsMayChange) {
  register_kernel();
  platform_.vmsa(0, kKernel).cr4 ^= 1ull << 7;  // PGE: Linux toggles it to flush the TLB
  platform_.vmsa(0, kKernel).cr0 ^= 1ull << 3;  // TS
  (void)call(0, VG_CALL_QUERY);
  EXPECT_EQ(monitor_.stats().pinned_changes, 0u);
}

TEST_F(PinnedRestoreTest, SyscallEntryRedirectIsRecordedWithTheNewValue) {
  register_kernel();
  platform_.vmsa(0, kKernel).lstar = 0xdeadbeef000;
  (void)call(0, VG_CALL_QUERY);
  EXPECT_EQ(ring_.last().detail, static_cast<uint32_t>(PinnedRegister::kLstar));
  EXPECT_EQ(ring_.last().value, 0xdeadbeef000u);
  EXPECT_EQ(platform_.vmsa(0, kKernel).lstar, kTextVa + 0x800);
}

TEST_F(PinnedRestoreTest, OtherVcpusLockAtTheirFirstEntryAfterRegistration) {
  register_kernel(0);
  EXPECT_FALSE(monitor_.pins_locked(1));
  (void)call(1, VG_CALL_QUERY);
  EXPECT_TRUE(monitor_.pins_locked(1));
  platform_.vmsa(1, kKernel).gdtr_base += 0x40;
  (void)call(1, VG_CALL_QUERY);
  EXPECT_EQ(ring_.last().detail, static_cast<uint32_t>(PinnedRegister::kGdtrBase));
  EXPECT_EQ(ring_.last().vcpu, 1u);
}

TEST_F(PinnedRecordTest, AChangeIsRecordedOnce) {
  register_kernel();
  platform_.vmsa(0, kKernel).efer &= ~(1ull << 11);  // NXE off
  for (int i = 0; i < 3; ++i) (void)call(0, VG_CALL_QUERY);
  EXPECT_EQ(monitor_.stats().pinned_changes, 1u);
  EXPECT_EQ(ring_.last().verdict, VG_VERDICT_ALLOWED);
  EXPECT_EQ(platform_.vmsa(0, kKernel).efer & (1ull << 11), 0u);  // left as the kernel set it
  // A further, different change is a new event.
  platform_.vmsa(0, kKernel).efer &= ~1ull;  // SCE off too
  (void)call(0, VG_CALL_QUERY);
  EXPECT_EQ(monitor_.stats().pinned_changes, 2u);
}

TEST_F(PinnedStopTest, StopResponseTerminatesTheGuest) {
  register_kernel();
  platform_.vmsa(0, kKernel).cr0 &= ~(1ull << 16);  // WP off
  (void)call(0, VG_CALL_QUERY);
  EXPECT_TRUE(platform_.stopped());
  EXPECT_EQ(ring_.last().verdict, VG_VERDICT_STOPPED);
  EXPECT_EQ(ring_.last().detail, static_cast<uint32_t>(PinnedRegister::kCr0));
}

TEST(PinnedRegisters, MasksMatchLinuxPinnedBits) {
  // arch/x86/kernel/cpu/common.c: cr4_pinned_mask = SMEP | SMAP | UMIP | FSGSBASE | CET.
  EXPECT_EQ(monitor::kCr4PinnedMask,
            (1ull << 20) | (1ull << 21) | (1ull << 11) | (1ull << 16) | (1ull << 23));
  EXPECT_EQ(monitor::pinned_mask(PinnedRegister::kLstar), ~0ull);
}

}  // namespace
}  // namespace vg::test
