// SVSM call dispatch through the full call path: calling area, registers in
// the kernel's VMSA, Run VMPL, result in RAX [SVSM 58019 4.1, 5].
#include "monitor/svsm.h"
#include "monitor_fixture.h"

namespace vg::test {
namespace {

hal::sim::CallOutcome core_call(hal::sim::SimPlatform& platform, uint32_t call, uint64_t rcx) {
  return platform.guest_svsm_call(0, Vmpl{3}, Gpa(0x4000), call, rcx, 0, 0);
}

TEST_F(MonitorTest, QueryProtocolReportsVmplguardsProtocol) {
  const auto outcome =
      core_call(platform_, monitor::svsm::kCoreQueryProtocol, uint64_t{VG_PROTOCOL} << 32 | 1);
  EXPECT_EQ(outcome.rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(outcome.rcx, uint64_t{VG_ABI_VERSION} << 32 | 1);
  EXPECT_FALSE(outcome.call_pending_after);
  EXPECT_TRUE(fake_kci().calls.empty());
}

TEST_F(MonitorTest, QueryProtocolAnswersZeroForUnknownProtocolsAndVersions) {
  EXPECT_EQ(core_call(platform_, 6, uint64_t{0x80001234} << 32 | 1).rcx, 0u);
  EXPECT_EQ(core_call(platform_, 6, uint64_t{VG_PROTOCOL} << 32 | (VG_ABI_VERSION + 1)).rcx, 0u);
  EXPECT_EQ(core_call(platform_, 6, uint64_t{VG_PROTOCOL} << 32 | 0).rcx, 0u);
}

TEST_F(MonitorTest, OtherCoreCallsAreUnsupportedForNow) {
  for (uint32_t call : {0u, 1u, 2u, 3u, 4u, 5u, 7u, 99u}) {
    EXPECT_EQ(core_call(platform_, call, 0).rax, VG_RESULT_UNSUPPORTED_CALL) << call;
  }
}

TEST_F(MonitorTest, UnknownProtocolIsUnsupported) {
  const auto outcome = platform_.guest_svsm_call(0, Vmpl{3}, kCaa[0], uint64_t{2} << 32 | 0, 0, 0, 0);
  EXPECT_EQ(outcome.rax, VG_RESULT_UNSUPPORTED_PROTOCOL);
  EXPECT_FALSE(outcome.call_pending_after);
}

TEST_F(MonitorTest, VmplguardCallsReachKciWithTheCallersRegisters) {
  fake_kci().result = VG_RESULT_DENIED;
  fake_kci().out_rcx = 0x1234;
  const auto outcome = call(1, VG_CALL_TEXT_PATCH, 0x7000, 0xaa, 0xbb);
  ASSERT_EQ(fake_kci().calls.size(), 1u);
  const FakeKci::Call& seen = fake_kci().calls[0];
  EXPECT_EQ(seen.vcpu, 1u);
  EXPECT_EQ(seen.caller, Vmpl{3});
  EXPECT_EQ(seen.call, VG_CALL_TEXT_PATCH);
  EXPECT_EQ(seen.args.rcx, 0x7000u);
  EXPECT_EQ(seen.args.rdx, 0xaau);
  EXPECT_EQ(seen.args.r8, 0xbbu);
  EXPECT_EQ(outcome.rax, VG_RESULT_DENIED);
  EXPECT_EQ(outcome.rcx, 0x1234u);
  EXPECT_FALSE(outcome.call_pending_after);
}

TEST_F(MonitorTest, EntryWithoutPendingCallDispatchesNothing) {
  hal::VmsaState before = platform_.vmsa(0, kKernel);
  EXPECT_EQ(monitor_.handle_entry(0), monitor::EntryResult::kResume);
  EXPECT_TRUE(fake_kci().calls.empty());
  EXPECT_EQ(platform_.vmsa(0, kKernel).rax, before.rax);
  EXPECT_EQ(monitor_.stats().calls, 0u);
}

TEST_F(MonitorTest, WatchedObjectsAreCheckedAtEveryEntryOnceRegistered) {
  (void)call(0, VG_CALL_QUERY);
  EXPECT_EQ(fake_kci().watched_checks, 0);
  register_kernel();
  const int after_register = fake_kci().watched_checks;
  EXPECT_GE(after_register, 1);
  (void)monitor_.handle_entry(1);
  EXPECT_EQ(fake_kci().watched_checks, after_register + 1);
}

TEST_F(MonitorTest, MonitorResumesTheKernelVmplAfterACall) {
  (void)call(1, VG_CALL_QUERY);
  EXPECT_EQ(platform_.resume_vmpl(1), 3);
  EXPECT_FALSE(platform_.stopped());
}

}  // namespace
}  // namespace vg::test
