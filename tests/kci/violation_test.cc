// handle_violation: attribution of forwarded VMPL faults and the verdict.
#include <gtest/gtest.h>

#include "world.h"

namespace vg::kci::testing {
namespace {

class Violations : public ::testing::Test {
 protected:
  void SetUp() override { world.boot(); }
  World world{synthetic_kernel()};
};

TEST_F(Violations, TextWriteNamesTheFunction) {
  const auto outcome = world.kernel_write(world.text_gpa(0x5010), {0xcc}, world.text_va(0x2050));
  EXPECT_FALSE(outcome.performed);
  EXPECT_TRUE(outcome.forwarded);
  EXPECT_EQ(world.last_verdict(), Verdict::kInjectFault);
  const vg_record& record = world.last_record();
  EXPECT_EQ(record.kind, VG_KIND_TEXT_WRITE);
  EXPECT_EQ(record.verdict, VG_VERDICT_INJECTED);
  EXPECT_EQ(record.policy_offset, 0x5010u);
  EXPECT_EQ(record.address, world.text_va(0x5010));
  EXPECT_EQ(record.gpa, kTextGpa + 0x5010);
  EXPECT_EQ(record.rip, world.text_va(0x2050));
  EXPECT_STREQ(world.service().policy().string(record.detail), "x64_sys_read");
  EXPECT_EQ(record.vmpl, 3u);
}

TEST_F(Violations, ExecuteOutsideTheExecutableSet) {
  const Gpa page = World::free_page(3);
  EXPECT_FALSE(world.kernel_exec(page + 0x40, 0xffff888000163040ull).performed);
  EXPECT_EQ(world.last_record().kind, VG_KIND_EXEC_VIOLATION);
  EXPECT_EQ(world.last_record().gpa, page.raw() + 0x40);
  EXPECT_EQ(world.last_record().address, 0xffff888000163040ull) << "the fetch address is the RIP";
  EXPECT_EQ(world.last_record().policy_offset, ~0u);
  // Kernel data is not executable either.
  EXPECT_FALSE(world.kernel_exec(world.text_gpa(0x15000), world.text_va(0x15000)).performed);
  EXPECT_EQ(world.last_record().policy_offset, 0x15000u);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(policy::RegionKind::kData));
  // Text is.
  EXPECT_TRUE(world.kernel_exec(world.text_gpa(0x100), world.text_va(0x100)).performed);
}

TEST_F(Violations, WritesToPagesKciDoesNotManageAreNotOurs) {
  ViolationExit exit;
  exit.vmpl = Vmpl(3);
  exit.gpa = World::free_page(5);
  exit.error_code = kNpfRmp | kNpfVmpl | kNpfWrite;
  EXPECT_EQ(world.service().handle_violation(exit), Verdict::kAllowed);
  exit.vmpl = Vmpl(2);
  exit.gpa = world.text_gpa(0x10);
  EXPECT_EQ(world.service().handle_violation(exit), Verdict::kAllowed) << "another VMPL's fault";
  exit.vmpl = Vmpl(3);
  exit.error_code = kNpfWrite;  // not an RMP/VMPL fault
  EXPECT_EQ(world.service().handle_violation(exit), Verdict::kAllowed);
}

TEST_F(Violations, TheGuestIsStoppedAfterTooManyViolations) {
  ViolationExit exit;
  exit.vmpl = Vmpl(3);
  exit.gpa = world.text_gpa(0x10);
  exit.error_code = kNpfRmp | kNpfVmpl | kNpfWrite;
  for (uint64_t i = 0; i < kViolationStopThreshold; ++i) {
    ASSERT_EQ(world.service().handle_violation(exit), Verdict::kInjectFault);
  }
  EXPECT_EQ(world.service().handle_violation(exit), Verdict::kStopGuest);
  EXPECT_EQ(world.last_record().verdict, VG_VERDICT_STOPPED);
}

TEST_F(Violations, RingPagesAreReadOnlyForTheKernel) {
  EXPECT_FALSE(world.kernel_write(Gpa(kRingGpa + kPageSize4K), {0}).performed);
  EXPECT_EQ(world.last_record().kind, VG_KIND_DATA_WRITE);
  EXPECT_EQ(world.last_record().gpa, kRingGpa + kPageSize4K);
}

}  // namespace
}  // namespace vg::kci::testing
