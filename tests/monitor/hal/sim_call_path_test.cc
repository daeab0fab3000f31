// The SVSM call path and the GHCB MSR protocol on the simulated platform
// [SVSM 58019 4.1; GHCB 56421 2.3.1].
#include "hal/ghcb_msr.h"
#include "hal/sim_fixture.h"

namespace vg::test {
namespace {

using hal::PageSize;

constexpr Gpa kCaa{0x4000};

// A minimal VMPL0 entry: answers every call with RAX = RCX + 1 and clears
// the call-pending byte, as the SVSM protocol requires.
void echo_entry(void* context, uint32_t vcpu) {
  auto* calls = static_cast<int*>(context);
  ++*calls;
  uint8_t pending = 0;
  ASSERT_TRUE(hal::read_guest(kCaa, &pending, 1));
  if (pending == 0) return;
  hal::VmsaState state;
  ASSERT_TRUE(hal::read_vmsa(vcpu, Vmpl{3}, state));
  state.rax = state.rcx + 1;
  ASSERT_TRUE(hal::write_vmsa(vcpu, Vmpl{3}, state));
  pending = 0;
  ASSERT_TRUE(hal::write_guest(kCaa, &pending, 1));
  ASSERT_TRUE(hal::request_run_vmpl(Vmpl{3}));
}

class SimCallTest : public SimTest {
 protected:
  SimCallTest() {
    platform_.set_vmpl0_entry(&echo_entry, &calls_);
    EXPECT_EQ(
        hal::rmpadjust(kCaa, PageSize::k4K, {Vmpl{3}, hal::sim::kPermRead | hal::sim::kPermWrite, false}),
        hal::RmpStatus::kSuccess);
  }
  int calls_ = 0;
};

TEST_F(SimCallTest, CallReachesVmpl0AndTheResultComesBackInRax) {
  const auto outcome = platform_.guest_svsm_call(1, Vmpl{3}, kCaa, 0x80564750'00000000, 41, 2, 3);
  EXPECT_TRUE(outcome.monitor_ran);
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(outcome.rax, 42u);
  EXPECT_FALSE(outcome.call_pending_after);
  EXPECT_EQ(platform_.vmsa(1, Vmpl{3}).rdx, 2u);
  EXPECT_EQ(platform_.vmsa(1, Vmpl{3}).r8, 3u);
  EXPECT_EQ(platform_.resume_vmpl(1), 3);
}

TEST_F(SimCallTest, GuestUsesTheRunVmplRequest) {
  (void)platform_.guest_svsm_call(0, Vmpl{3}, kCaa, 0, 0, 0, 0);
  // The last MSR value the guest wrote was Run VMPL 0 ... but the monitor's
  // own answer (Run VMPL 3) came after it.
  EXPECT_EQ(platform_.last_ghcb_msr_request(), hal::ghcb_msr::encode_run_vmpl(3));
  EXPECT_EQ(hal::ghcb_msr::encode_run_vmpl(3), 0x0000000300000016ull);
}

TEST_F(SimCallTest, CallingAreaTheCallerCannotWriteMeansNoCall) {
  platform_.set_forward_vmpl_faults(false);
  const auto outcome = platform_.guest_svsm_call(0, Vmpl{2}, kCaa, 0, 0, 0, 0);
  EXPECT_FALSE(outcome.monitor_ran);
  EXPECT_EQ(calls_, 0);
}

TEST_F(SimCallTest, RunVmplRequestEncodingAndRefusal) {
  EXPECT_TRUE(hal::request_run_vmpl(Vmpl{2}));
  EXPECT_EQ(platform_.resume_vmpl(0), 2);
  EXPECT_FALSE(hal::request_run_vmpl(Vmpl{7}));
  EXPECT_FALSE(hal::ghcb_msr::is_run_vmpl_request(hal::ghcb_msr::encode_run_vmpl(1) | 1ull << 20));
  EXPECT_TRUE(hal::ghcb_msr::run_vmpl_succeeded(0x17));
  EXPECT_FALSE(hal::ghcb_msr::run_vmpl_succeeded(uint64_t{1} << 32 | 0x17));
}

TEST_F(SimCallTest, TerminationStopsTheGuest) {
  EXPECT_FALSE(platform_.stopped());
  hal::terminate_guest(3, 0x21);
  EXPECT_TRUE(platform_.stopped());
  EXPECT_EQ(platform_.termination_request(), 0x213100u);
}

TEST_F(SimCallTest, TimestampsAreStrictlyIncreasing) {
  const uint64_t first = hal::timestamp();
  EXPECT_LT(first, hal::timestamp());
}

}  // namespace
}  // namespace vg::test
