// Violation exits end to end: a kernel write at VMPL3 to its own text, the
// host forwarding the #NPF, the monitor decoding it, KCI's verdict carried
// out on the kernel's VMSA [APM2 15.36.10, 15.20].
#include "monitor/violation.h"

#include "monitor_fixture.h"

namespace vg::test {
namespace {

using hal::sim::Access;

constexpr uint64_t kWriteOffset = 0x100;

class ViolationTest : public MonitorTest {
 protected:
  // mov %rax,(%rdi) at kTextVa + 0x100, then the write it performs.
  hal::sim::AccessOutcome text_write(uint32_t vcpu = 0) {
    place_instruction(vcpu, kWriteOffset, {0x48, 0x89, 0x07});
    uint64_t value = 0xcccccccccccccccc;
    return platform_.guest_access(vcpu, kKernel, kTextGpa + 0x2000, Access::kWrite, &value, 8);
  }
  uint64_t text_qword(uint64_t offset) {
    uint64_t value = 0;
    EXPECT_TRUE(hal::read_guest(kTextGpa + offset, &value, 8));
    return value;
  }
};

TEST_F(ViolationTest, DeniedWriteIsSkippedAndNeverLands) {
  fake_kci().verdict = kci::Verdict::kDeniedSkip;
  const auto outcome = text_write(1);
  EXPECT_TRUE(outcome.forwarded);
  EXPECT_FALSE(outcome.performed);
  ASSERT_EQ(fake_kci().violations.size(), 1u);
  const kci::ViolationExit& exit = fake_kci().violations[0];
  EXPECT_EQ(exit.vcpu, 1u);
  EXPECT_EQ(exit.vmpl, kKernel);
  EXPECT_EQ(exit.gpa, kTextGpa + 0x2000);
  EXPECT_EQ(exit.rip, kTextVa + kWriteOffset);
  EXPECT_NE(exit.error_code & monitor::kNpfWrite, 0u);
  EXPECT_NE(exit.error_code & monitor::kNpfVmpl, 0u);
  // Skipped: RIP past the 3-byte mov, nothing injected, text unchanged.
  EXPECT_EQ(platform_.vmsa(1, kKernel).rip, kTextVa + kWriteOffset + 3);
  EXPECT_EQ(platform_.vmsa(1, kKernel).event_inject, 0u);
  EXPECT_EQ(text_qword(0x2000), 0u);
  EXPECT_EQ(monitor_.stats().skipped, 1u);
  EXPECT_EQ(ring_.last().kind, VG_KIND_TEXT_WRITE);
  EXPECT_EQ(platform_.resume_vmpl(1), 3);
}

TEST_F(ViolationTest, SkipLengthComesFromTheInstructionAtRip) {
  // movq $0x41414141,0x10(%rdi,%rcx,8): 48 c7 44 cf 10 41 41 41 41 (9 bytes).
  place_instruction(0, kWriteOffset, {0x48, 0xc7, 0x44, 0xcf, 0x10, 0x41, 0x41, 0x41, 0x41});
  uint64_t value = 0x41414141;
  (void)platform_.guest_access(0, kKernel, kTextGpa + 0x10, Access::kWrite, &value, 8);
  EXPECT_EQ(platform_.vmsa(0, kKernel).rip, kTextVa + kWriteOffset + 9);
}

TEST_F(ViolationTest, InjectVerdictRaisesGpInTheKernel) {
  fake_kci().verdict = kci::Verdict::kInjectFault;
  (void)text_write();
  const hal::VmsaState& state = platform_.vmsa(0, kKernel);
  EXPECT_EQ(state.rip, kTextVa + kWriteOffset);
  EXPECT_EQ(state.event_inject, monitor::exception_event(monitor::kVectorGp, 0));
  EXPECT_EQ(state.event_inject & 0xff, 13u);
  EXPECT_NE(state.event_inject & (1ull << 31), 0u);
  EXPECT_EQ(monitor_.stats().injected, 1u);
}

TEST_F(ViolationTest, StopVerdictTerminatesTheGuest) {
  fake_kci().verdict = kci::Verdict::kStopGuest;
  (void)text_write();
  EXPECT_TRUE(platform_.stopped());
  EXPECT_EQ(platform_.termination_request() & 0xfff, 0x100u);
  EXPECT_EQ(text_qword(0x2000), 0u);
}

TEST_F(ViolationTest, ExecuteViolationCannotBeSkippedSoItFaults) {
  fake_kci().verdict = kci::Verdict::kDeniedSkip;
  platform_.vmsa(0, kKernel).rip = 0xffff888000200000ull;  // data, via the direct map
  const auto outcome = platform_.guest_access(0, kKernel, kDataGpa, Access::kSupervisorExec, nullptr, 1);
  EXPECT_TRUE(outcome.forwarded);
  ASSERT_EQ(fake_kci().violations.size(), 1u);
  EXPECT_EQ(fake_kci().violations[0].address, 0xffff888000200000ull);
  const hal::VmsaState& state = platform_.vmsa(0, kKernel);
  EXPECT_EQ(state.event_inject, monitor::exception_event(monitor::kVectorPf, 0x11));
  EXPECT_EQ(state.cr2, 0xffff888000200000ull);
  EXPECT_EQ(state.rip, 0xffff888000200000ull);
}

TEST_F(ViolationTest, UndecodableInstructionFallsBackToInjection) {
  // A VEX-encoded store (vmovdqu %ymm0,(%rdi)): c5 fe 7f 07. Not decoded,
  // so the monitor must not guess a length.
  place_instruction(0, kWriteOffset, {0xc5, 0xfe, 0x7f, 0x07});
  uint64_t value = 1;
  (void)platform_.guest_access(0, kKernel, kTextGpa, Access::kWrite, &value, 8);
  const hal::VmsaState& state = platform_.vmsa(0, kKernel);
  EXPECT_EQ(state.rip, kTextVa + kWriteOffset);
  EXPECT_EQ(state.event_inject, monitor::exception_event(monitor::kVectorGp, 0));
}

TEST_F(ViolationTest, RipOutsideMappedMemoryFallsBackToInjection) {
  platform_.vmsa(0, kKernel).rip = 0xffffffffc0000000ull;  // not mapped by the kernel's tables
  uint64_t value = 1;
  (void)platform_.guest_access(0, kKernel, kTextGpa, Access::kWrite, &value, 8);
  EXPECT_EQ(platform_.vmsa(0, kKernel).event_inject, monitor::exception_event(monitor::kVectorGp, 0));
}

TEST_F(ViolationTest, UncooperativeHostMeansNoReportButNoWrite) {
  platform_.set_forward_vmpl_faults(false);
  const auto outcome = text_write();
  EXPECT_FALSE(outcome.forwarded);
  EXPECT_TRUE(fake_kci().violations.empty());
  EXPECT_EQ(text_qword(0x2000), 0u);
  EXPECT_EQ(platform_.vmsa(0, kKernel).rip, kTextVa + kWriteOffset);
}

TEST_F(ViolationTest, FabricatedExitsAreIgnored) {
  // A hostile host runs VMPL0 claiming violations that are not VMPL faults,
  // or name another VMPL: KCI never hears of them and the kernel's state is
  // unchanged.
  const hal::VmsaState before = platform_.vmsa(0, kKernel);
  platform_.host_report_exit(0, {hal::kExitCodeNpf, 0x2, kTextGpa.raw(), 3});             // no RMP/VMPL bits
  platform_.host_report_exit(0, {hal::kExitCodeNpf, 1ull << 31 | 2, kTextGpa.raw(), 3});  // no VMPL bit
  platform_.host_report_exit(0, {hal::kExitCodeNpf, 1ull << 31 | 1ull << 36, kTextGpa.raw(), 1});  // VMPL1
  platform_.host_report_exit(0, {0x7b, 0, 0, 3});  // not an NPF
  EXPECT_TRUE(fake_kci().violations.empty());
  EXPECT_EQ(monitor_.stats().spurious_exits, 4u);
  EXPECT_EQ(platform_.vmsa(0, kKernel).rip, before.rip);
  EXPECT_EQ(platform_.vmsa(0, kKernel).event_inject, 0u);
}

TEST(DecodeViolation, ClassifiesTheAccessFromTheErrorCode) {
  hal::VmsaState state{};
  state.rip = 0x1000;
  const uint64_t vmpl_fault = 1ull << 31 | 1ull << 36 | 1;
  auto kind = [&](uint64_t bits) {
    const auto decoded =
        monitor::decode_violation(0, {hal::kExitCodeNpf, vmpl_fault | bits, 0x5000, 3}, Vmpl{3}, state);
    EXPECT_TRUE(decoded.ok());
    return decoded->access;
  };
  EXPECT_EQ(kind(0), monitor::AccessKind::kRead);
  EXPECT_EQ(kind(2), monitor::AccessKind::kWrite);
  EXPECT_EQ(kind(0x10), monitor::AccessKind::kSupervisorExec);
  EXPECT_EQ(kind(0x14), monitor::AccessKind::kUserExec);
  EXPECT_EQ(monitor::decode_violation(0, {hal::kExitCodeNpf, 2, 0, 3}, Vmpl{3}, state).error(),
            monitor::ViolationError::kNotVmplFault);
  EXPECT_EQ(monitor::decode_violation(0, {0, vmpl_fault, 0, 3}, Vmpl{3}, state).error(),
            monitor::ViolationError::kNotNpf);
  EXPECT_EQ(monitor::decode_violation(0, {hal::kExitCodeNpf, vmpl_fault, 0, 2}, Vmpl{3}, state).error(),
            monitor::ViolationError::kWrongVmpl);
}

}  // namespace
}  // namespace vg::test
