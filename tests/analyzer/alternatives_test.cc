// The alternative replay: the bytes apply_alternatives() of each kernel
// version writes at a site, computed from the fixture's crafted entries.
#include <gtest/gtest.h>

#include "fixture.h"

namespace vg::analyzer {
namespace {

using testing::has_literal;
using testing::has_pattern;
using testing::rel32;

struct Fixture {
  std::unique_ptr<ElfImage> image;
  Analysis analysis;
  uint64_t va(const char* name) const { return *image->symbol_address(name); }
  const PatchSite* site(const char* name) const {
    return testing::site_at(analysis, va(name), policy::kSiteAlternative);
  }
};

Fixture load(const std::string& layout) {
  Fixture f;
  auto image = ElfImage::open(testing::fixture_path(layout));
  EXPECT_TRUE(image.ok());
  f.image = std::move(image.value());
  auto result = testing::run_core(*f.image, f.analysis);
  EXPECT_TRUE(result.ok()) << result.error().to_string();
  return f;
}

// Proves a replacement `call new_fn` is re-aimed from the replacement
// section to the site, and the original stays allowed (both layouts).
TEST(Alternatives, CallReplacementIsRelocatedToTheSite) {
  for (const char* layout : {"61", "612"}) {
    const Fixture f = load(layout);
    const PatchSite* site = f.site("alt_call_site");
    ASSERT_NE(site, nullptr) << layout;
    EXPECT_EQ(site->length, 5);
    EXPECT_TRUE(has_literal(*site, rel32(0xe8, f.va("alt_call_site"), f.va("old_fn")))) << layout;
    EXPECT_TRUE(has_literal(*site, rel32(0xe8, f.va("alt_call_site"), f.va("new_fn")))) << layout;
  }
}

// Proves an empty replacement becomes the kernel's NOP for the site length,
// and the original's single-byte NOPs may be optimised in place.
TEST(Alternatives, EmptyReplacementIsOptimisedNops) {
  for (const char* layout : {"61", "612"}) {
    const Fixture f = load(layout);
    const PatchSite* site = f.site("alt_nops_site");
    ASSERT_NE(site, nullptr);
    EXPECT_TRUE(has_literal(*site, {0x0f, 0x01, 0xcb, 0x90, 0x90, 0x90}));  // as on disk
    EXPECT_TRUE(has_literal(*site, {0x0f, 0x01, 0xcb, 0x0f, 0x1f, 0x00}));  // stac; nop3
    EXPECT_TRUE(has_literal(*site, {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}));  // nop6
  }
}

// Proves a jmp replacement whose target is near becomes jmp8: 6.1 pads it
// with a NOP3 (recompute_jump), 6.12 with int3 (apply_relocation).
TEST(Alternatives, NearJmpReplacementIsShortened) {
  const Fixture v61 = load("61");
  const PatchSite* site61 = v61.site("alt_jmp_site");
  ASSERT_NE(site61, nullptr);
  EXPECT_TRUE(has_literal(*site61, {0xeb, 0x03, 0x0f, 0x1f, 0x00}));
  const Fixture v612 = load("612");
  const PatchSite* site612 = v612.site("alt_jmp_site");
  ASSERT_NE(site612, nullptr);
  EXPECT_TRUE(has_literal(*site612, {0xeb, 0x03, 0xcc, 0xcc, 0xcc}));
}

// Proves a 6.12 DIRECT_CALL alternative allows the direct call to the pv_ops
// slot's function (NOP-padded), any function, or all NOPs (nop_func).
TEST(Alternatives, DirectCallBecomesCallToTheSlotValue) {
  const Fixture f = load("612");
  const PatchSite* site = f.site("pv_site");
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->length, 6);
  const auto native = static_cast<uint32_t>(f.va("native_fn") - f.image->text_base());
  EXPECT_TRUE(has_pattern(*site, policy::PatternSpec::call(native, 6)));
  EXPECT_TRUE(has_pattern(*site, policy::PatternSpec::call_any_function(6)));
  EXPECT_TRUE(has_pattern(*site, policy::PatternSpec::nop(6)));
}

// Proves a 6.12 replacement's RIP-relative operand is re-encoded for the site.
TEST(Alternatives, RipRelativeOperandIsRelocated612) {
  const Fixture f = load("612");
  const PatchSite* site = f.site("alt_rip_site");
  ASSERT_NE(site, nullptr);
  const uint64_t at = f.va("alt_rip_site");
  const auto disp =
      static_cast<uint32_t>(static_cast<int32_t>(static_cast<int64_t>(f.va("some_var") - (at + 7))));
  EXPECT_TRUE(
      has_literal(*site, {0x48, 0x8b, 0x05, static_cast<uint8_t>(disp), static_cast<uint8_t>(disp >> 8),
                          static_cast<uint8_t>(disp >> 16), static_cast<uint8_t>(disp >> 24)}));
}

// Proves a return site inside replacement code, rewritten by apply_returns()
// before the alternative copies it, gives the site its `ret` form as well.
TEST(Alternatives, ReturnSiteInsideReplacementIsFollowed) {
  for (const char* layout : {"61", "612"}) {
    const Fixture f = load(layout);
    const PatchSite* site = f.site("alt_ret_site");
    ASSERT_NE(site, nullptr) << layout;
    EXPECT_TRUE(has_literal(*site, {0xc3, 0xcc, 0xcc, 0xcc, 0xcc})) << layout;
    EXPECT_TRUE(has_literal(*site, {0x0f, 0x1f, 0x44, 0x00, 0x00})) << layout;
    // NOP5 as on disk, ret, and the jmp (shortened: the thunks are near) to
    // each of the two thunks; the on-disk jmp is one of those.
    EXPECT_EQ(site->patterns.size(), 4u) << layout;
  }
}

// Proves every table entry was read: counts per layout.
TEST(Alternatives, EveryEntryCounted) {
  const Fixture v61 = load("61");
  const Fixture v612 = load("612");
  uint64_t entries61 = 0, entries612 = 0;
  for (const auto& t : v61.analysis.site_tables) entries61 += t.section == ".altinstructions" ? t.entries : 0;
  for (const auto& t : v612.analysis.site_tables)
    entries612 += t.section == ".altinstructions" ? t.entries : 0;
  EXPECT_EQ(entries61, 4u);
  EXPECT_EQ(entries612, 6u);
}

}  // namespace
}  // namespace vg::analyzer
