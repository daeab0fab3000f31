// build_policy: the fixture analyses serialised and read back with the
// monitor's parser, checking what the monitor will rely on.
#include <gtest/gtest.h>

#include <cstring>

#include "fixture.h"
#include "policy/reader.h"

namespace vg::analyzer {
namespace {

struct Built {
  std::unique_ptr<ElfImage> image;
  Analysis analysis;
  std::vector<uint8_t> bytes;
};

Built build(const std::string& layout, const std::function<void(Analysis&)>& edit = {}) {
  Built b;
  auto image = ElfImage::open(testing::fixture_path(layout));
  EXPECT_TRUE(image.ok());
  b.image = std::move(image.value());
  auto result = testing::run_core(*b.image, b.analysis);
  EXPECT_TRUE(result.ok()) << result.error().to_string();
  if (edit) edit(b.analysis);
  auto policy = build_policy(b.analysis, PolicyOptions{});
  EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error());
  if (policy.ok()) b.bytes = std::move(policy.value());
  return b;
}

// Proves the header binds the policy to this kernel: build id, release,
// link-time _text; and the digest is the SHA-256 of everything before it.
TEST(PolicyWriter, HeaderBindsTheKernelAndDigestCovers) {
  const Built b = build("612");
  auto view = policy::PolicyView::parse(ByteView{b.bytes.data(), b.bytes.size()});
  ASSERT_TRUE(view.ok()) << policy::describe(view.error());
  const policy::FileHeader& header = view->header();
  EXPECT_EQ(header.link_text_va, b.image->text_base());
  EXPECT_EQ(header.build_id_size, 20);
  EXPECT_EQ(std::memcmp(header.build_id, b.image->build_id().data(), 20), 0);
  EXPECT_STREQ(header.kernel_release, "6.12.0-fixture");
  const Sha256Digest digest = Sha256::of(b.bytes.data(), b.bytes.size() - policy::kDigestSize);
  EXPECT_EQ(std::memcmp(digest.bytes, b.bytes.data() + b.bytes.size() - 32, 32), 0);
}

// Proves addresses are _text-relative and regions keep kind and permissions.
TEST(PolicyWriter, RegionsAreTextRelative) {
  const Built b = build("61");
  auto view = policy::PolicyView::parse(ByteView{b.bytes.data(), b.bytes.size()});
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->regions().count, b.analysis.regions.size());
  const policy::Region* text = view->find_region(0);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->kind, static_cast<uint16_t>(policy::RegionKind::kText));
  const uint64_t ro = *b.image->symbol_address("__start_ro_after_init") - b.image->text_base();
  const policy::Region* ro_region = view->find_region(ro);
  ASSERT_NE(ro_region, nullptr);
  EXPECT_EQ(ro_region->kind, static_cast<uint16_t>(policy::RegionKind::kRoAfterInit));
  EXPECT_EQ(ro_region->perms_final, policy::kPermRead);
}

// Proves the monitor's site check accepts what the kernel writes (a relocated
// alternative, a jump label flip) and refuses anything else.
TEST(PolicyWriter, MonitorAcceptsKernelPatchesOnly) {
  const Built b = build("612");
  auto view = policy::PolicyView::parse(ByteView{b.bytes.data(), b.bytes.size()});
  ASSERT_TRUE(view.ok());
  const uint64_t text = b.image->text_base();
  const uint64_t alt = *b.image->symbol_address("alt_call_site");
  const policy::Site* site = view->find_site(static_cast<uint32_t>(alt - text));
  ASSERT_NE(site, nullptr);
  const auto to_new = testing::rel32(0xe8, alt, *b.image->symbol_address("new_fn"));
  EXPECT_TRUE(policy::site_allows(*view, *site, to_new.data(), to_new.size()));
  const auto to_bug = testing::rel32(0xe8, alt, *b.image->symbol_address("BUG_func"));
  EXPECT_FALSE(policy::site_allows(*view, *site, to_bug.data(), to_bug.size()));

  const uint64_t jl = *b.image->symbol_address("jl_nop2_site");
  const policy::Site* label = view->find_site(static_cast<uint32_t>(jl - text));
  ASSERT_NE(label, nullptr);
  const int8_t rel = static_cast<int8_t>(*b.image->symbol_address("jl_target") - (jl + 2));
  const uint8_t jump[] = {0xeb, static_cast<uint8_t>(rel)};
  const uint8_t nop[] = {0x66, 0x90};
  const uint8_t wrong[] = {0xeb, static_cast<uint8_t>(rel + 1)};
  EXPECT_TRUE(policy::site_allows(*view, *label, jump, 2));
  EXPECT_TRUE(policy::site_allows(*view, *label, nop, 2));
  EXPECT_FALSE(policy::site_allows(*view, *label, wrong, 2));

  // A static call may go to any function start, never into a function.
  const uint64_t sc = *b.image->symbol_address("sc_call_site");
  const policy::Site* call = view->find_site(static_cast<uint32_t>(sc - text));
  ASSERT_NE(call, nullptr);
  const auto to_fn = testing::rel32(0xe8, sc, *b.image->symbol_address("native_fn"));
  const auto into_fn = testing::rel32(0xe8, sc, *b.image->symbol_address("traced_fn") + 1);
  EXPECT_TRUE(policy::site_allows(*view, *call, to_fn.data(), 5));
  EXPECT_FALSE(policy::site_allows(*view, *call, into_fn.data(), 5));
}

// Proves functions carry their names and the trusted/init flags.
TEST(PolicyWriter, FunctionsCarryNamesAndFlags) {
  const Built b = build("612", [](Analysis& analysis) {
    for (FunctionInfo& function : analysis.functions) function.trusted = function.name == "native_fn";
  });
  auto view = policy::PolicyView::parse(ByteView{b.bytes.data(), b.bytes.size()});
  ASSERT_TRUE(view.ok());
  const uint64_t text = b.image->text_base();
  const policy::Function* native =
      view->find_function(static_cast<uint32_t>(*b.image->symbol_address("native_fn") - text));
  ASSERT_NE(native, nullptr);
  EXPECT_STREQ(view->string(native->name), "native_fn");
  EXPECT_EQ(native->flags & policy::kFunctionTrusted, policy::kFunctionTrusted);
  const policy::Function* init =
      view->find_function(static_cast<uint32_t>(*b.image->symbol_address("init_fn") - text));
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->flags, policy::kFunctionInit);
}

// Proves critical objects become policy objects with their region, and that
// objects absent from the kernel are left out.
TEST(PolicyWriter, ObjectsWithRegionAbsentOnesLeftOut) {
  Built c;
  auto image = ElfImage::open(testing::fixture_path("612"));
  ASSERT_TRUE(image.ok());
  c.image = std::move(image.value());
  ASSERT_TRUE(testing::run_core(*c.image, c.analysis).ok());
  CriticalObjectInfo pv;
  pv.name = "pv_slot";
  pv.present = true;
  pv.address = *c.image->symbol_address("pv_slot");
  pv.size = 8;
  pv.protection = policy::Protection::kWriteMediated;
  c.analysis.objects.push_back(pv);
  CriticalObjectInfo missing;
  missing.name = "selinux_state";
  c.analysis.objects.push_back(missing);
  auto bytes = build_policy(c.analysis, PolicyOptions{});
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  auto view = policy::PolicyView::parse(ByteView{bytes->data(), bytes->size()});
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->objects().count, 1u);
  EXPECT_STREQ(view->string(view->objects()[0].name), "pv_slot");
  EXPECT_EQ(view->objects()[0].region, static_cast<uint16_t>(policy::RegionKind::kData));
  EXPECT_EQ(view->objects()[0].protection, static_cast<uint16_t>(policy::Protection::kWriteMediated));
}

// Proves an address the format cannot express is refused, not truncated.
TEST(PolicyWriter, RefusesSitesBelowText) {
  Analysis analysis;
  analysis.kernel.text_va = 0xffffffff81000000ull;
  PatchSite site;
  site.address = 0xffffffff80000000ull;
  site.kind = policy::kSiteJumpLabel;
  site.length = 2;
  site.patterns.push_back(policy::PatternSpec::nop(2));
  analysis.sites.push_back(site);
  auto bytes = build_policy(analysis, PolicyOptions{});
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error(), "patch site lies outside _text .. _text + 4 GiB");
}

}  // namespace
}  // namespace vg::analyzer
