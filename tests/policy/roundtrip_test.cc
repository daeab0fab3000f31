#include <gtest/gtest.h>

#include <string>

#include "policy_fixture.h"

namespace vg::policy {
namespace {

using testing::AlignedPolicy;
using testing::sample_builder;

TEST(PolicyRoundTrip, BuilderOutputParsesWithEveryFact) {
  auto bytes = sample_builder().build();
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  AlignedPolicy aligned(bytes.value());
  auto parsed = PolicyView::parse(aligned.view());
  ASSERT_TRUE(parsed.ok()) << describe(parsed.error());
  const PolicyView& view = parsed.value();

  EXPECT_EQ(view.header().link_text_va, 0xffffffff81000000ull);
  EXPECT_EQ(view.header().build_id_size, 4);
  EXPECT_STREQ(view.header().kernel_release, "6.12.0-test");
  EXPECT_EQ(view.regions().count, 4u);
  EXPECT_EQ(view.sites().count, 5u);
  EXPECT_EQ(view.functions().count, 3u);
  EXPECT_EQ(view.privileged().count, 2u);
  EXPECT_EQ(view.objects().count, 2u);
  EXPECT_EQ(view.module_hashes().count, 1u);
}

TEST(PolicyRoundTrip, LookupsFindExactEntriesOnly) {
  auto bytes = sample_builder().build();
  AlignedPolicy aligned(bytes.value());
  auto view = PolicyView::parse(aligned.view()).value();

  ASSERT_NE(view.find_site(0x110), nullptr);
  EXPECT_EQ(view.find_site(0x110)->kinds, kSiteJumpLabel);
  EXPECT_EQ(view.find_site(0x111), nullptr) << "a site is matched by its start only";
  EXPECT_EQ(view.find_site(0), nullptr);

  const Site* merged = view.find_site(0x1040);
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->kinds, kSiteReturn | kSiteAlternative);
  EXPECT_EQ(merged->pattern_count, 2);

  ASSERT_NE(view.find_region(0x18800), nullptr);
  EXPECT_EQ(view.find_region(0x18800)->kind, static_cast<uint16_t>(RegionKind::kRoAfterInit));
  EXPECT_EQ(view.find_region(0x19000), nullptr) << "gap between ro_after_init and data";

  const Function* function = view.find_function(0x1010);
  ASSERT_NE(function, nullptr);
  EXPECT_STREQ(view.string(function->name), "other_fn");
  EXPECT_TRUE(view.is_function_start(0x200));
  EXPECT_FALSE(view.is_function_start(0x201));

  const CriticalObject* object = view.find_object(0x20120);
  ASSERT_NE(object, nullptr);
  EXPECT_STREQ(view.string(object->name), "modprobe_path");
  EXPECT_EQ(view.find_object(0x20140), nullptr);

  uint8_t digest[32];
  std::memset(digest, 0x5a, sizeof(digest));
  ASSERT_NE(view.find_module_hash(digest), nullptr);
  digest[31] = 0;
  EXPECT_EQ(view.find_module_hash(digest), nullptr);
}

TEST(PolicyRoundTrip, IdenticalInputsGiveIdenticalDigests) {
  auto first = sample_builder().build().value();
  auto second = sample_builder().build().value();
  EXPECT_EQ(first, second) << "the policy must be reproducible so its digest can be attested";
}

TEST(PolicyRoundTrip, KernelWithoutBuildIdStillGivesAValidPolicy) {
  PolicyBuilder builder;
  builder.add_region(0, 0x1000, RegionKind::kText, kPermRead | kPermSupervisorExec,
                     kPermRead | kPermSupervisorExec);
  builder.add_site(0x10, kSiteJumpLabel, 2, {PatternSpec::nop(2)});
  auto bytes = builder.build();
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  AlignedPolicy aligned(bytes.value());
  auto parsed = PolicyView::parse(aligned.view());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header().build_id_size, 0);
}

TEST(PolicyBuilderErrors, OverlappingRegionsAreRefused) {
  PolicyBuilder builder = sample_builder();
  builder.add_region(0x17000, 0x2000, RegionKind::kData, kPermRead, kPermRead);
  auto result = builder.build();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("overlap"), std::string::npos);
}

TEST(PolicyBuilderErrors, TooManyPatternsAtOneSiteIsRefused) {
  PolicyBuilder builder;
  std::vector<PatternSpec> patterns;
  for (uint32_t i = 0; i < 17; ++i) patterns.push_back(PatternSpec::call(0x1000 + i));
  builder.add_region(0, 0x1000, RegionKind::kText, kPermRead, kPermRead);
  builder.add_site(0x10, kSiteStaticCall, 5, patterns);
  auto result = builder.build();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("more than 16 patterns"), std::string::npos);
}

}  // namespace
}  // namespace vg::policy
