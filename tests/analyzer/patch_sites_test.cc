// collect_patch_sites on the fixture kernels: one test per site kind, each
// checking the byte sequences the kernel may write there.
#include <gtest/gtest.h>

#include <map>

#include "fixture.h"

namespace vg::analyzer {
namespace {

using policy::PatternSpec;
using testing::has_literal;
using testing::has_pattern;
using testing::rel32;
using testing::site_at;

class PatchSites : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto image = ElfImage::open(testing::fixture_path(GetParam()));
    ASSERT_TRUE(image.ok()) << image.error().to_string();
    image_ = std::move(image.value());
    auto result = testing::run_core(*image_, analysis_);
    ASSERT_TRUE(result.ok()) << result.error().to_string();
    for (const auto& table : analysis_.site_tables) tables_[table.section] = table;
  }
  uint64_t va(const char* name) const { return *image_->symbol_address(name); }
  uint32_t offset(const char* name) const { return static_cast<uint32_t>(va(name) - image_->text_base()); }
  const PatchSite& site(const char* name, uint16_t kind) const {
    const PatchSite* found = site_at(analysis_, va(name), kind);
    EXPECT_NE(found, nullptr) << name;
    static const PatchSite empty;
    return found != nullptr ? *found : empty;
  }

  std::unique_ptr<ElfImage> image_;
  Analysis analysis_;
  std::map<std::string, SiteTableStats> tables_;
};

// Proves the layout is read from the file itself (entry sizes), per fixture.
TEST_P(PatchSites, LayoutDetectedFromTheFile) {
  EXPECT_EQ(analysis_.kernel.layout, GetParam() == "61" ? KernelLayout::kLinux61 : KernelLayout::kLinux612);
  EXPECT_EQ(tables_[".altinstructions"].entry_size, GetParam() == "61" ? 12u : 14u);
}

// Proves jump labels keep their on-disk size: NOP2 <-> jmp8, NOP5 <-> jmp32.
TEST_P(PatchSites, JumpLabelsAllowNopOrJumpToTarget) {
  const uint32_t target = offset("jl_target");
  const PatchSite& nop5 = site("jl_nop5_site", policy::kSiteJumpLabel);
  EXPECT_EQ(nop5.length, 5);
  EXPECT_EQ(nop5.target, va("jl_target"));
  EXPECT_TRUE(has_pattern(nop5, PatternSpec::nop(5)));
  EXPECT_TRUE(has_pattern(nop5, PatternSpec::jmp32(target)));
  const PatchSite& nop2 = site("jl_nop2_site", policy::kSiteJumpLabel);
  EXPECT_EQ(nop2.length, 2);
  EXPECT_TRUE(has_pattern(nop2, PatternSpec::nop(2)));
  EXPECT_TRUE(has_pattern(nop2, PatternSpec::jmp8(target)));
  const PatchSite& jmp = site("jl_jmp_site", policy::kSiteJumpLabel);
  EXPECT_EQ(jmp.length, 5);
  EXPECT_EQ(tables_["__jump_table"].entries, 3u);
  EXPECT_EQ(tables_["__jump_table"].entry_size, 16u);
}

// Proves static call sites allow any function (call or tail jmp), NOP5 for a
// NULL call, the RET form for a NULL tail call; trampolines are sites too.
TEST_P(PatchSites, StaticCallsAllowAnyFunctionNopOrRet) {
  const PatchSite& call = site("sc_call_site", policy::kSiteStaticCall);
  EXPECT_TRUE(has_pattern(call, PatternSpec::call_any_function()));
  EXPECT_TRUE(has_pattern(call, PatternSpec::nop(5)));
  EXPECT_FALSE(has_pattern(call, PatternSpec::jmp_any_function()));
  const PatchSite& tail = site("sc_tail_site", policy::kSiteStaticCall);
  EXPECT_TRUE(has_pattern(tail, PatternSpec::jmp_any_function()));
  EXPECT_TRUE(has_literal(tail, {0xc3, 0xcc, 0xcc, 0xcc, 0xcc}));
  EXPECT_TRUE(has_pattern(tail, PatternSpec::jmp32(offset("__x86_return_thunk"))));
  EXPECT_FALSE(has_pattern(tail, PatternSpec::nop(5)));
  const PatchSite& trampoline = site("__SCT__fixture_call", policy::kSiteStaticCall);
  EXPECT_TRUE(has_pattern(trampoline, PatternSpec::jmp_any_function()));
  EXPECT_EQ(tables_[".static_call_sites"].entries, 2u);
}

// Proves ftrace sites allow NOP5 or a call to the in-image ftrace entry
// points, and that zero __mcount_loc entries are skipped.
TEST_P(PatchSites, FtraceSitesAllowNopOrCallToTracer) {
  const PatchSite& mcount = site("mcount_site", policy::kSiteFtrace);
  EXPECT_TRUE(has_pattern(mcount, PatternSpec::nop(5)));
  EXPECT_TRUE(has_pattern(mcount, PatternSpec::call(offset("__fentry__"))));
  EXPECT_TRUE(has_pattern(mcount, PatternSpec::call(offset("ftrace_caller"))));
  EXPECT_TRUE(has_pattern(mcount, PatternSpec::call(offset("ftrace_regs_caller"))));
  EXPECT_FALSE(has_pattern(mcount, PatternSpec::call_any_function()));
  EXPECT_EQ(tables_["__mcount_loc"].entries, 2u);
  EXPECT_EQ(tables_["__mcount_loc"].sites, 1u);
  EXPECT_EQ(tables_["__mcount_loc"].skipped, 1u);
}

// Proves retpoline sites allow the inlined indirect forms apply_retpolines()
// writes: call *%r11 (REX), jmp *%rax + int3, the inverted-Jcc form, lfence.
TEST_P(PatchSites, RetpolinesAllowInlinedIndirectBranches) {
  const bool v61 = GetParam() == "61";
  const PatchSite& call = site("rp_call_site", policy::kSiteRetpoline);
  EXPECT_EQ(call.length, 5);
  EXPECT_TRUE(has_literal(call, {0x41, 0xff, 0xd3, 0x66, 0x90}));
  const PatchSite& jmp = site("rp_jmp_site", policy::kSiteRetpoline);
  EXPECT_TRUE(has_literal(jmp, {0xff, 0xe0, 0xcc, 0x66, 0x90}));
  EXPECT_TRUE(has_literal(jmp, {0x0f, 0xae, 0xe8, 0xff, 0xe0}));  // lfence; jmp *%rax
  const PatchSite& jcc = site("rp_jcc_site", policy::kSiteRetpoline);
  EXPECT_EQ(jcc.length, 6);
  EXPECT_TRUE(has_literal(jcc, {0x74, 0x04, 0xff, 0xe0, 0xcc, 0x90}));  // je .+4; jmp *%rax; int3; nop
  (void)v61;
}

// Proves return sites allow a jmp to any return thunk present, or ret+int3.
TEST_P(PatchSites, ReturnSitesAllowThunksOrRet) {
  const PatchSite& ret = site("ret_site", policy::kSiteReturn);
  EXPECT_TRUE(has_pattern(ret, PatternSpec::jmp32(offset("__x86_return_thunk"))));
  EXPECT_TRUE(has_pattern(ret, PatternSpec::jmp32(offset("srso_return_thunk"))));
  EXPECT_TRUE(has_literal(ret, {0xc3, 0xcc, 0xcc, 0xcc, 0xcc}));
}

// Proves lock prefixes may become DS prefixes and back.
TEST_P(PatchSites, SmpLocksAllowLockOrDsPrefix) {
  const PatchSite& lock = site("lock_site", policy::kSiteSmpLock);
  EXPECT_EQ(lock.length, 1);
  EXPECT_TRUE(has_literal(lock, {0xf0}));
  EXPECT_TRUE(has_literal(lock, {0x3e}));
  EXPECT_EQ(tables_[".smp_locks"].sites, 1u);
  EXPECT_EQ(tables_[".smp_locks"].skipped, 1u);  // the zero padding entry
}

// Proves the kprobe blacklist is counted and reported, not made into sites.
TEST_P(PatchSites, KprobeBlacklistIsReported) {
  EXPECT_EQ(tables_["_kprobe_blacklist"].entries, 1u);
  bool noted = false;
  for (const auto& note : analysis_.notes)
    noted = noted || note.rfind("_kprobe_blacklist: 1 ranges, 1 bytes", 0) == 0;
  EXPECT_TRUE(noted);
}

// Proves the sites are sorted and each one is inside executable code.
TEST_P(PatchSites, SitesSortedAndInsideText) {
  for (size_t i = 1; i < analysis_.sites.size(); ++i) {
    EXPECT_LE(analysis_.sites[i - 1].address, analysis_.sites[i].address);
  }
  for (const PatchSite& s : analysis_.sites) {
    const Section* home = image_->section_at(s.address);
    ASSERT_NE(home, nullptr);
    EXPECT_TRUE(home->executable());
    EXPECT_FALSE(s.patterns.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(BothLayouts, PatchSites, ::testing::Values("61", "612"));

class PatchSites612 : public PatchSites {};
class PatchSites61 : public PatchSites {};

// Proves 6.12 call sites may be redirected to the call-depth thunk placed
// just before their target (size of skl_call_thunk_template).
TEST_P(PatchSites612, CallSitesAllowTheAccountingThunk) {
  const PatchSite& call = site("call_site", policy::kSiteCall);
  EXPECT_TRUE(has_pattern(call, PatternSpec::call(offset("native_fn"))));
  EXPECT_TRUE(has_pattern(call, PatternSpec::call(offset("native_fn") - 9)));
}

// Proves sealed endbr64 may become `osp nopl (%rax)`.
TEST_P(PatchSites612, EndbrSealAllowsThePoison) {
  const PatchSite& seal = site("endbr_site", policy::kSiteEndbrSeal);
  EXPECT_EQ(seal.length, 4);
  EXPECT_TRUE(has_literal(seal, {0xf3, 0x0f, 0x1e, 0xfa}));
  EXPECT_TRUE(has_literal(seal, {0x66, 0x0f, 0x1f, 0x00}));
}

// Proves runtime constants are sites over exactly their immediate.
TEST_P(PatchSites612, RuntimeConstantsCoverTheirImmediates) {
  const PatchSite* shift = site_at(analysis_, va("rc_shift_end") - 1, policy::kSiteRuntimeConst);
  ASSERT_NE(shift, nullptr);
  EXPECT_EQ(shift->length, 1);
  EXPECT_TRUE(has_literal(*shift, {12}));
  const PatchSite* pointer = site_at(analysis_, va("rc_ptr_end") - 8, policy::kSiteRuntimeConst);
  ASSERT_NE(pointer, nullptr);
  EXPECT_EQ(pointer->length, 8);
  EXPECT_TRUE(has_literal(*pointer, {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01}));
}

// Proves 6.1 paravirt sites allow a call to any function (NOP-padded to the
// site) or all NOPs, and the 6.12-only tables are absent.
TEST_P(PatchSites61, ParavirtAllowsCallOrNops) {
  const PatchSite& pv = site("pv_site", policy::kSiteParavirt);
  EXPECT_EQ(pv.length, 6);
  EXPECT_EQ(pv.target, 7u);
  EXPECT_TRUE(has_pattern(pv, PatternSpec::call_any_function(6)));
  EXPECT_TRUE(has_pattern(pv, PatternSpec::nop(6)));
  EXPECT_EQ(tables_.count(".call_sites"), 0u);
  EXPECT_EQ(tables_.count(".ibt_endbr_seal"), 0u);
  EXPECT_EQ(tables_[".parainstructions"].entries, 1u);
}

INSTANTIATE_TEST_SUITE_P(Layout612, PatchSites612, ::testing::Values("612"));
INSTANTIATE_TEST_SUITE_P(Layout61, PatchSites61, ::testing::Values("61"));

}  // namespace
}  // namespace vg::analyzer
