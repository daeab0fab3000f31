// REGISTER_MODULE / UNREGISTER_MODULE / BPF_JIT_MAP: executable only what
// the policy allows, never writable while executable.
#include <gtest/gtest.h>

#include <cstring>

#include "world.h"

namespace vg::kci::testing {
namespace {

constexpr uint8_t kRX = policy::kPermRead | policy::kPermSupervisorExec;
constexpr uint8_t kRW = policy::kPermRead | policy::kPermWrite;

class Modules : public ::testing::Test {
 protected:
  void SetUp() override { world.boot(); }
  // Loads `text` into free pages starting at `first_page` and describes it.
  vg_module load(const std::string& name, const std::vector<uint8_t>& text, uint32_t first_page) {
    vg_module module{};
    std::snprintf(module.name, sizeof(module.name), "%s", name.c_str());
    module.text_va = 0xffffffffc0000000ull + first_page * kPageSize4K;
    module.text_size = text.size();
    module.page_count = static_cast<uint32_t>((text.size() + kPageSize4K - 1) / kPageSize4K);
    for (uint32_t i = 0; i < module.page_count; ++i) {
      module.page_gpa[i] = World::free_page(first_page + i).raw();
      const size_t begin = i * kPageSize4K;
      const size_t end = std::min(text.size(), begin + kPageSize4K);
      world.poke(World::free_page(first_page + i),
                 std::vector<uint8_t>(text.data() + begin, text.data() + end));
    }
    return module;
  }
  CallOutcome send(const vg_module& module) {
    return world.call_with(VG_CALL_REGISTER_MODULE, &module, sizeof(module));
  }
  World world{synthetic_kernel()};
};

TEST_F(Modules, AListedModuleBecomesExecutableAndReadOnly) {
  const auto text = synthetic_kernel().module_hashes[0].bytes();
  const CallOutcome loaded = send(load("good_module", text, 10));
  ASSERT_EQ(loaded.result, VG_RESULT_SUCCESS);
  EXPECT_NE(loaded.rcx, 0u);
  EXPECT_EQ(world.perms(World::free_page(10)), kRX);
  EXPECT_EQ(world.perms(World::free_page(11)), kRX);
  EXPECT_EQ(world.last_record().kind, VG_KIND_MODULE_LOADED);
  // Its text can no longer be written by the kernel.
  auto write = world.kernel_write(World::free_page(10), {0x90});
  EXPECT_FALSE(write.performed);
  EXPECT_EQ(world.last_record().kind, VG_KIND_TEXT_WRITE);
  // Unregistering returns the pages to plain data.
  ASSERT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, loaded.rcx).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.perms(World::free_page(10)), kRW);
  EXPECT_EQ(world.call(VG_CALL_UNREGISTER_MODULE, loaded.rcx).result, VG_RESULT_INVALID_PARAMETER)
      << "a stale handle does nothing";
}

TEST_F(Modules, AnUnlistedModuleIsRefusedAndItsPagesUntouched) {
  const vg_module module = load("rootkit", std::vector<uint8_t>(0x1000, 0xcc), 20);
  const Snapshot before = world.snapshot();
  ASSERT_EQ(send(module).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.difference(before, world.snapshot()), "");
  EXPECT_EQ(world.last_record().kind, VG_KIND_MODULE_DENIED);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kHashNotAllowed));
}

TEST_F(Modules, APolicyWithoutModulesRefusesEvenAListedOne) {
  World strict(synthetic_kernel());
  strict.boot(0);
  vg_module module{};
  std::snprintf(module.name, sizeof(module.name), "good_module");
  module.text_va = 0xffffffffc0000000ull;
  module.text_size = 0x1000;
  module.page_count = 1;
  module.page_gpa[0] = World::free_page(0).raw();
  ASSERT_EQ(strict.call_with(VG_CALL_REGISTER_MODULE, &module, sizeof(module)).result, VG_RESULT_DENIED);
  EXPECT_EQ(strict.last_record().detail, static_cast<uint32_t>(DenyReason::kModulesForbidden));
}

TEST_F(Modules, RefusesPageListsThatClaimProtectedOrForeignPages) {
  const auto text = synthetic_kernel().module_hashes[0].bytes();
  vg_module module = load("good_module", text, 30);
  module.page_gpa[1] = kTextGpa;  // a kernel text page
  EXPECT_EQ(send(module).result, VG_RESULT_INVALID_ADDRESS);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kBadPageList));
  module = load("good_module", text, 30);
  module.page_gpa[1] = module.page_gpa[0];  // duplicate
  EXPECT_EQ(send(module).result, VG_RESULT_INVALID_ADDRESS);
  module = load("good_module", text, 30);
  module.page_gpa[1] = kGuestPages * kPageSize4K;  // outside guest memory
  EXPECT_EQ(send(module).result, VG_RESULT_INVALID_ADDRESS);
  module = load("good_module", text, 30);
  module.page_gpa[1] += 8;  // unaligned
  EXPECT_EQ(send(module).result, VG_RESULT_INVALID_ADDRESS);
  module = load("good_module", text, 30);
  module.page_count = 3;  // inconsistent with text_size
  EXPECT_EQ(send(module).result, VG_RESULT_INVALID_PARAMETER);
  module = load("good_module", text, 30);
  std::memset(module.name, 'a', sizeof(module.name));  // no NUL
  EXPECT_EQ(send(module).result, VG_RESULT_INVALID_PARAMETER);
  EXPECT_EQ(world.perms(World::free_page(30)), kRW);
}

TEST_F(Modules, BpfJitOnlyWhenThePolicyAllowsIt) {
  vg_bpf_jit jit{};
  jit.image_va = 0xffffffffa0000000ull;
  jit.image_gpa = World::free_page(40).raw();
  jit.pages = 2;
  ASSERT_EQ(world.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit)).result, VG_RESULT_DENIED);
  EXPECT_EQ(world.perms(World::free_page(40)), kRW);
  EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(DenyReason::kBpfJitForbidden));

  World jit_world(synthetic_kernel());
  jit_world.boot(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
  const CallOutcome mapped = jit_world.call_with(VG_CALL_BPF_JIT_MAP, &jit, sizeof(jit));
  ASSERT_EQ(mapped.result, VG_RESULT_SUCCESS);
  EXPECT_EQ(jit_world.perms(World::free_page(40)), kRX);
  EXPECT_EQ(jit_world.perms(World::free_page(41)), kRX);
  ASSERT_EQ(jit_world.call(VG_CALL_UNREGISTER_MODULE, mapped.rcx).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(jit_world.perms(World::free_page(40)), kRW);
}

}  // namespace
}  // namespace vg::kci::testing
