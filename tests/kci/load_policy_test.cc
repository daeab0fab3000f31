// load_policy: a policy is enforced whole or not at all.
#include <gtest/gtest.h>

#include "world.h"

namespace vg::kci::testing {
namespace {

TEST(LoadPolicy, AcceptsTheSyntheticPolicyAndExposesIt) {
  World world(synthetic_kernel());
  ASSERT_TRUE(world.load_policy().ok());
  EXPECT_TRUE(world.service().policy_loaded());
  EXPECT_EQ(world.service().policy().header().serial, synthetic_kernel().serial);
}

TEST(LoadPolicy, RefusesAWrongDigestAndKeepsTheEnforcedPolicy) {
  World world(synthetic_kernel());
  ASSERT_TRUE(world.load_policy().ok());
  auto bytes = world.policy_bytes(synthetic_kernel().serial + 1);
  bytes[200] ^= 0x01;  // one bit in the table directory: the digest no longer matches
  auto loaded = world.service().load_policy(ByteView{bytes.data(), bytes.size()});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kMalformed);
  EXPECT_EQ(loaded.error().parse_error, policy::ParseError::kDigestMismatch);
  EXPECT_EQ(world.service().policy().header().serial, synthetic_kernel().serial);
  EXPECT_EQ(world.last_record().kind, VG_KIND_POLICY_REFUSED);
}

TEST(LoadPolicy, RefusesAnOlderSerial) {
  World world(synthetic_kernel());
  ASSERT_TRUE(world.load_policy(9).ok());
  auto replayed = world.load_policy(8);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().error, LoadError::kReplayed);
  EXPECT_STREQ(describe(LoadError::kReplayed), "policy serial is older than the accepted policy's (replay)");
  EXPECT_EQ(world.service().policy().header().serial, 9u);
}

TEST(LoadPolicy, RefusesTheSameSerialWithDifferentContents) {
  World world(synthetic_kernel());
  ASSERT_TRUE(world.load_policy(9).ok());
  EXPECT_TRUE(world.load_policy(9).ok()) << "the very same file may be loaded again";
  auto changed = world.load_policy(9, policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().error, LoadError::kReplayed);
}

TEST(LoadPolicy, RefusesTruncatedInput) {
  World world(synthetic_kernel());
  auto bytes = world.policy_bytes();
  auto loaded = world.service().load_policy(ByteView{bytes.data(), 100});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().parse_error, policy::ParseError::kTooSmall);
  EXPECT_FALSE(world.service().policy_loaded());
}

TEST(LoadPolicy, RefusesAPolicyWithWritableText) {
  KernelDescription kernel = synthetic_kernel();
  kernel.regions[0].perms_boot = policy::kPermRead | policy::kPermWrite | policy::kPermSupervisorExec;
  World world(kernel);
  auto loaded = world.load_policy();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kUnsafe);
}

TEST(LoadPolicy, RefusesExecutableData) {
  KernelDescription kernel = synthetic_kernel();
  kernel.regions[3].perms_final = policy::kPermRead | policy::kPermSupervisorExec;  // data
  World world(kernel);
  auto loaded = world.load_policy();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kUnsafe);
}

TEST(LoadPolicy, RefusesAPageSharedByTextAndWritableData) {
  KernelDescription kernel = synthetic_kernel();
  // rodata shrinks to end mid-page and a data region starts in the same page
  // as the end of text: the shared page would be W+X.
  kernel.regions[0].size = 0xf800;
  kernel.regions.insert(
      kernel.regions.begin() + 1,
      RegionFact{"data", 0xf800, 0x800, policy::RegionKind::kData, policy::kPermRead | policy::kPermWrite,
                 policy::kPermRead | policy::kPermWrite});
  World world(kernel);
  auto loaded = world.load_policy();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kUnsafe);
}

TEST(LoadPolicy, RefusesAJumpLabelSiteThatMayCallAnything) {
  KernelDescription kernel = synthetic_kernel();
  kernel.sites[0].patterns.push_back(policy::PatternSpec::call_any_function(5));
  World world(kernel);
  auto loaded = world.load_policy();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kUnsafe);
}

TEST(LoadPolicy, CannotReplaceThePolicyUnderARegisteredKernel) {
  World world(synthetic_kernel());
  world.boot();
  auto loaded = world.load_policy(synthetic_kernel().serial + 1);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kAlreadyEnforcing);
}

}  // namespace
}  // namespace vg::kci::testing
