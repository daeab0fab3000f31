// REGISTER_KERNEL, LOCK_RO_AFTER_INIT, FREE_INIT: the kernel's page
// permissions per region and phase, set once and never loosened.
#include <gtest/gtest.h>

#include <cstring>

#include "world.h"

namespace vg::kci::testing {
namespace {

constexpr uint8_t kR = policy::kPermRead;
constexpr uint8_t kRW = policy::kPermRead | policy::kPermWrite;
constexpr uint8_t kRX = policy::kPermRead | policy::kPermSupervisorExec;

vg_register_kernel good_request(const World& world) {
  vg_register_kernel request{};
  request.abi_version = VG_ABI_VERSION;
  request.build_id_size = static_cast<uint32_t>(world.kernel().build_id.size());
  std::memcpy(request.build_id, world.kernel().build_id.data(), request.build_id_size);
  request.text_va = world.text_va(0);
  request.text_gpa = kTextGpa;
  request.kernel_size = world.kernel().image_size();
  return request;
}

class RegisterKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    world.launch();
    ASSERT_TRUE(world.load_policy().ok());
  }
  World world{synthetic_kernel()};
};

TEST_F(RegisterKernel, SetsEachRegionsBootPermissions) {
  ASSERT_EQ(world.register_kernel().result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.perms(world.text_gpa(0x0)), kRX);  // text
  EXPECT_EQ(world.perms(world.text_gpa(0xf000)), kRX);
  EXPECT_EQ(world.perms(world.text_gpa(0x10000)), kR);   // rodata (sys_call_table)
  EXPECT_EQ(world.perms(world.text_gpa(0x14000)), kRW);  // ro_after_init, not yet locked
  EXPECT_EQ(world.perms(world.text_gpa(0x15000)), kRW);  // plain data
  EXPECT_EQ(world.perms(world.text_gpa(0x16000)), kR);   // init_cred: locked, owns its page
  EXPECT_EQ(world.perms(world.text_gpa(0x17000)), kR);   // modprobe_path: mediated
  EXPECT_EQ(world.perms(world.text_gpa(0x19000)), kRW);  // poweroff_cmd shares its page: watched
  EXPECT_EQ(world.perms(world.text_gpa(0x1b000)), kR);   // selinux_state
  EXPECT_EQ(world.perms(world.text_gpa(0x1d000)), kRW);  // bss
  EXPECT_EQ(world.perms(world.text_gpa(0x1e000)), kRX);  // init text
  EXPECT_EQ(world.perms(world.text_gpa(0x20000)), kRW);  // init data
  EXPECT_TRUE(world.service().kernel_registered());
  EXPECT_EQ(world.service().layout().slide, kSlide);
}

TEST_F(RegisterKernel, OnlyOnce) {
  ASSERT_EQ(world.register_kernel().result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.register_kernel().result, VG_RESULT_ALREADY_DONE);
}

TEST_F(RegisterKernel, RefusesAnotherBuildId) {
  vg_register_kernel request = good_request(world);
  request.build_id[0] ^= 0xff;
  const Snapshot before = world.snapshot();
  EXPECT_EQ(world.call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request)).result,
            VG_RESULT_POLICY_MISMATCH);
  EXPECT_EQ(world.difference(before, world.snapshot()), "");
  EXPECT_FALSE(world.service().kernel_registered());
  EXPECT_EQ(world.last_record().kind, VG_KIND_POLICY_REFUSED);
}

TEST_F(RegisterKernel, RefusesAKernelSmallerThanThePolicysRegions) {
  vg_register_kernel request = good_request(world);
  request.kernel_size = 0x10000;
  EXPECT_EQ(world.call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request)).result,
            VG_RESULT_INVALID_PARAMETER);
  EXPECT_FALSE(world.service().kernel_registered());
}

TEST_F(RegisterKernel, RefusesAnImageOutsideGuestMemory) {
  vg_register_kernel request = good_request(world);
  request.text_gpa = (kGuestPages - 4) * kPageSize4K;
  EXPECT_EQ(world.call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request)).result,
            VG_RESULT_INVALID_ADDRESS);
}

TEST_F(RegisterKernel, RefusesUnalignedTextAndNonzeroFlags) {
  vg_register_kernel request = good_request(world);
  request.text_va += 0x10;
  EXPECT_EQ(world.call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request)).result,
            VG_RESULT_INVALID_PARAMETER);
  request = good_request(world);
  request.flags = 1;
  EXPECT_EQ(world.call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request)).result,
            VG_RESULT_INVALID_PARAMETER);
}

TEST_F(RegisterKernel, RefusesARequestStraddlingAPage) {
  vg_register_kernel request = good_request(world);
  EXPECT_EQ(world.call_with(VG_CALL_REGISTER_KERNEL, &request, sizeof(request), kRequestGpa + 4090).result,
            VG_RESULT_INVALID_ADDRESS);
}

TEST_F(RegisterKernel, LockAndFreeInitReachFinalPermissions) {
  EXPECT_EQ(world.call(VG_CALL_LOCK_RO_AFTER_INIT).result, VG_RESULT_NOT_REGISTERED);
  ASSERT_EQ(world.register_kernel().result, VG_RESULT_SUCCESS);
  ASSERT_EQ(world.call(VG_CALL_LOCK_RO_AFTER_INIT).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.perms(world.text_gpa(0x14000)), kR);
  EXPECT_EQ(world.call(VG_CALL_LOCK_RO_AFTER_INIT).result, VG_RESULT_ALREADY_DONE);
  EXPECT_EQ(world.perms(world.text_gpa(0x1e000)), kRX);
  ASSERT_EQ(world.call(VG_CALL_FREE_INIT).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.perms(world.text_gpa(0x1e000)), kR) << "freed init text is never executable again";
  EXPECT_EQ(world.call(VG_CALL_FREE_INIT).result, VG_RESULT_ALREADY_DONE);
  EXPECT_EQ(world.perms(world.text_gpa(0x0)), kRX);
  EXPECT_EQ(world.perms(world.text_gpa(0x14000)), kR);
}

TEST_F(RegisterKernel, QueryReportsStateAndAbi) {
  CallOutcome query = world.call(VG_CALL_QUERY);
  EXPECT_EQ(query.result, VG_RESULT_SUCCESS);
  EXPECT_EQ(query.rcx, VG_ABI_VERSION);
  EXPECT_EQ(query.rdx & 2u, 0u);
  ASSERT_EQ(world.register_kernel().result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.call(VG_CALL_QUERY).rdx & 2u, 2u);
}

TEST_F(RegisterKernel, OtherVmplsCannotCall) {
  CallArgs args;
  EXPECT_EQ(world.service().handle_call(0, Vmpl(1), VG_CALL_QUERY, args).result, VG_RESULT_INVALID_REQUEST);
  EXPECT_EQ(world.call(99).result, VG_RESULT_UNSUPPORTED_CALL);
}

}  // namespace
}  // namespace vg::kci::testing
