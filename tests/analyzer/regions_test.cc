// collect_regions / collect_functions on the fixture kernels.
#include <gtest/gtest.h>

#include <map>

#include "fixture.h"

namespace vg::analyzer {
namespace {

using policy::RegionKind;

Analysis analyse(const std::string& layout, std::unique_ptr<ElfImage>* keep = nullptr) {
  auto image = ElfImage::open(testing::fixture_path(layout));
  EXPECT_TRUE(image.ok());
  Analysis analysis;
  auto result = testing::run_core(*image.value(), analysis);
  EXPECT_TRUE(result.ok()) << result.error().to_string();
  if (keep != nullptr) *keep = std::move(image.value());
  return analysis;
}

const RegionInfo* region_named(const Analysis& analysis, const std::string& name, uint64_t at = 0) {
  for (const RegionInfo& region : analysis.regions) {
    if (region.name == name && (at == 0 || (at >= region.start && at - region.start < region.size)))
      return &region;
  }
  return nullptr;
}

// Proves .rodata is split around ro_after_init so that no two regions
// overlap and ro_after_init covers exactly its bounds symbols.
TEST(Regions, RodataSplitAroundRoAfterInit) {
  std::unique_ptr<ElfImage> image;
  const Analysis analysis = analyse("612", &image);
  const uint64_t begin = *image->symbol_address("__start_ro_after_init");
  const uint64_t end = *image->symbol_address("__end_ro_after_init");
  const RegionInfo* ro = region_named(analysis, "ro_after_init");
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(ro->kind, RegionKind::kRoAfterInit);
  EXPECT_EQ(ro->start, begin);
  EXPECT_EQ(ro->size, end - begin);
  const RegionInfo* head = region_named(analysis, ".rodata", begin - 1);
  const RegionInfo* tail = region_named(analysis, ".rodata", end);
  ASSERT_NE(head, nullptr);
  ASSERT_NE(tail, nullptr);
  EXPECT_EQ(head->start + head->size, begin);
  EXPECT_EQ(tail->start, end);
  const Section* rodata = image->section(".rodata");
  EXPECT_EQ(tail->start + tail->size, rodata->address + rodata->size);
  for (size_t i = 1; i < analysis.regions.size(); ++i) {
    EXPECT_LE(analysis.regions[i - 1].start + analysis.regions[i - 1].size, analysis.regions[i].start)
        << analysis.regions[i - 1].name << " overlaps " << analysis.regions[i].name;
  }
}

// Proves each kind of memory gets the permissions the kernel gives it, before
// and after the final lock, and that nothing is ever writable and executable.
TEST(Regions, PermissionsBeforeAndAfterTheFinalLock) {
  const Analysis analysis = analyse("61");
  const uint8_t r = policy::kPermRead, w = policy::kPermWrite, x = policy::kPermSupervisorExec;
  const RegionInfo* text = region_named(analysis, ".text");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->kind, RegionKind::kText);
  EXPECT_EQ(text->perms_boot, r | x);
  EXPECT_EQ(text->perms_final, r | x);
  const RegionInfo* ro = region_named(analysis, "ro_after_init");
  EXPECT_EQ(ro->perms_boot, r | w);
  EXPECT_EQ(ro->perms_final, r);
  const RegionInfo* init_text = region_named(analysis, ".init.text");
  ASSERT_NE(init_text, nullptr);
  EXPECT_EQ(init_text->kind, RegionKind::kInitText);
  EXPECT_EQ(init_text->perms_boot, r | x);
  EXPECT_EQ(init_text->perms_final, r | w);  // freed to the page allocator
  EXPECT_EQ(region_named(analysis, ".init.data")->kind, RegionKind::kInitData);
  EXPECT_EQ(region_named(analysis, ".altinstr_replacement")->kind, RegionKind::kInitText);
  EXPECT_EQ(region_named(analysis, ".data")->kind, RegionKind::kData);
  EXPECT_EQ(region_named(analysis, ".bss")->kind, RegionKind::kBss);
  EXPECT_EQ(region_named(analysis, ".smp_locks")->kind, RegionKind::kRodata);
  EXPECT_EQ(region_named(analysis, ".notes")->kind, RegionKind::kRodata);
  for (const RegionInfo& region : analysis.regions) {
    EXPECT_FALSE((region.perms_boot & w) && (region.perms_boot & x)) << region.name;
    EXPECT_FALSE((region.perms_final & w) && (region.perms_final & x)) << region.name;
  }
}

// Proves the per-CPU area's boot copy (at __per_cpu_load, not at its VA 0)
// becomes an init-data region.
TEST(Regions, PerCpuBootCopyIsInitData) {
  std::unique_ptr<ElfImage> image;
  const Analysis analysis = analyse("612", &image);
  const RegionInfo* copy = region_named(analysis, ".data..percpu (boot copy)");
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->start, *image->symbol_address("__per_cpu_load"));
  EXPECT_EQ(copy->size, 8u);
  EXPECT_EQ(copy->kind, RegionKind::kInitData);
}

// Proves functions come from STT_FUNC symbols, sorted, with the init flag.
TEST(Functions, SortedWithInitFlag) {
  const Analysis analysis = analyse("612");
  ASSERT_FALSE(analysis.functions.empty());
  for (size_t i = 1; i < analysis.functions.size(); ++i) {
    EXPECT_LE(analysis.functions[i - 1].address, analysis.functions[i].address);
  }
  bool saw_init = false, saw_target = false;
  for (const FunctionInfo& function : analysis.functions) {
    if (function.name == "init_fn") saw_init = function.init;
    if (function.name == "target_fn") saw_target = !function.init && function.size == 1;
    EXPECT_NE(function.name, "some_var");  // a FUNC symbol in .data is not code
  }
  EXPECT_TRUE(saw_init);
  EXPECT_TRUE(saw_target);
}

// Proves no page the regions share is writable and executable at boot: the
// monitor refuses such a policy (KCI kUnsafe). The fixtures, like Debian's
// 6.12.117, put read-only init tables (.altinstructions) on the page of init
// code (.altinstr_replacement); those tables are read-only until init is freed.
TEST(Regions, NoSharedPageIsWritableAndExecutableAtBoot) {
  for (const char* layout : {"61", "612"}) {
    const Analysis analysis = analyse(layout);
    std::map<uint64_t, uint8_t> page_perms;
    for (const RegionInfo& region : analysis.regions) {
      for (uint64_t page = region.start / 4096; page <= (region.start + region.size - 1) / 4096; ++page)
        page_perms[page] |= region.perms_boot;
    }
    for (const auto& [page, perms] : page_perms) {
      const bool wx = (perms & policy::kPermWrite) != 0 && (perms & policy::kPermSupervisorExec) != 0;
      EXPECT_FALSE(wx) << layout << ": page " << std::hex << page * 4096 << " is W+X at boot";
    }
    const RegionInfo* alt = region_named(analysis, ".altinstructions");
    ASSERT_NE(alt, nullptr) << layout;
    EXPECT_EQ(alt->perms_boot, policy::kPermRead) << layout;
  }
}

}  // namespace
}  // namespace vg::analyzer
