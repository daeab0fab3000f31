// classify_trust on the assembled fixture, and the naming rule behind it.
#include <gtest/gtest.h>

#include "analyzer/insn/trust_rules.h"
#include "fixture.h"

namespace vg::analyzer::insn {
namespace {

using policy::PrivilegedKind;
using testing::address_of;
using testing::function_named;
using testing::site_at;

class ClassifyTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = testing::open_fixture("privileged.elf");
    ASSERT_NE(image_, nullptr);
    ASSERT_TRUE(collect_functions(*image_, analysis_).ok());
    ASSERT_TRUE(collect_privileged(*image_, analysis_, nullptr).ok());
  }
  void classify() {
    auto result = classify_trust(*image_, analysis_);
    ASSERT_TRUE(result.ok()) << result.error().to_string();
  }
  uint64_t at(const std::string& label) const { return address_of(*image_, label); }

  std::unique_ptr<ElfImage> image_;
  Analysis analysis_;
};

TEST_F(ClassifyTrustTest, TrustsFunctionsWithAlignedPrivilegedInstructions) {
  classify();
  const FunctionInfo* function = function_named(analysis_, "capstone_gaps");
  ASSERT_NE(function, nullptr);
  EXPECT_TRUE(function->trusted);
  EXPECT_EQ(
      function->trust_reason,
      "privileged: mov to cr3, pvalidate, rmpadjust, vmgexit, wrpkru, rmpquery, psmash, invlpgb, tlbsync");
  const PrivilegedSite* site = site_at(analysis_, at("k_pvalidate"), PrivilegedKind::kPvalidate);
  ASSERT_NE(site, nullptr);
  EXPECT_TRUE(site->trusted);
}

TEST_F(ClassifyTrustTest, TrustsPatchingMachineryByName) {
  classify();
  const FunctionInfo* poke = function_named(analysis_, "text_poke_early");
  ASSERT_NE(poke, nullptr);
  EXPECT_TRUE(poke->trusted);
  EXPECT_EQ(poke->trust_reason, "patching machinery: text_poke");
  const FunctionInfo* cold = function_named(analysis_, "apply_alternatives.cold");
  ASSERT_NE(cold, nullptr);
  EXPECT_TRUE(cold->trusted);
  EXPECT_EQ(cold->trust_reason, "patching machinery: alternatives");
}

TEST_F(ClassifyTrustTest, LeavesOrdinaryCodeAndUnintendedInstructionsUntrusted) {
  classify();
  for (const char* name : {"plain_function", "hidden_in_immediates"}) {
    const FunctionInfo* function = function_named(analysis_, name);
    ASSERT_NE(function, nullptr) << name;
    EXPECT_FALSE(function->trusted) << name;
    EXPECT_EQ(function->trust_reason, "") << name;
  }
  int unintended = 0;
  for (const PrivilegedSite& site : analysis_.privileged) {
    if (!site.unintended) continue;
    ++unintended;
    EXPECT_FALSE(site.trusted) << site.function << "+" << site.function_offset;
  }
  EXPECT_EQ(unintended, 12);  // privileged_test.cc lists them
}

TEST_F(ClassifyTrustTest, SummaryAddsUpTheFunctions) {
  classify();
  TrustedSummary expected;
  for (const FunctionInfo& function : analysis_.functions) {
    (function.trusted ? expected.functions : expected.untrusted_functions) += 1;
    (function.trusted ? expected.bytes : expected.untrusted_bytes) += function.size;
  }
  EXPECT_EQ(analysis_.trusted.functions, expected.functions);
  EXPECT_EQ(analysis_.trusted.bytes, expected.bytes);
  EXPECT_EQ(analysis_.trusted.untrusted_functions, expected.untrusted_functions);
  EXPECT_EQ(analysis_.trusted.untrusted_bytes, expected.untrusted_bytes);
  // aligned_kinds, capstone_gaps, bogus_registers (MOV DR0 one byte into
  // DR8), code32_in_text, after_code32, init_function, text_poke_early,
  // apply_alternatives.cold.
  EXPECT_EQ(analysis_.trusted.functions, 8u);
  EXPECT_GT(analysis_.trusted.untrusted_functions, 0u);
}

TEST_F(ClassifyTrustTest, ReplacementCodeIsTrustedOnlyWhenAnAlternativeUsesIt) {
  classify();
  const PrivilegedSite* wrmsr = site_at(analysis_, at("k_repl_wrmsr"), PrivilegedKind::kWrmsr);
  ASSERT_NE(wrmsr, nullptr);
  EXPECT_FALSE(wrmsr->trusted);  // no alternative site names it yet

  // An alternative in plain_function that may be patched to WRMSR.
  PatchSite alternative;
  alternative.address = at("plain_function");
  alternative.kind = policy::kSiteAlternative;
  alternative.length = 4;
  alternative.patterns.push_back(policy::PatternSpec::literal_bytes({0x0F, 0x30, 0x90, 0x90}));
  analysis_.sites.push_back(alternative);
  classify();

  const FunctionInfo* plain = function_named(analysis_, "plain_function");
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain->trusted);
  EXPECT_EQ(plain->trust_reason, "privileged via alternative: wrmsr");
  wrmsr = site_at(analysis_, at("k_repl_wrmsr"), PrivilegedKind::kWrmsr);
  const PrivilegedSite* cr3 = site_at(analysis_, at("k_repl_cr3"), PrivilegedKind::kMovToCr3);
  ASSERT_NE(wrmsr, nullptr);
  ASSERT_NE(cr3, nullptr);
  EXPECT_TRUE(wrmsr->trusted);
  EXPECT_FALSE(cr3->trusted);
}

TEST_F(ClassifyTrustTest, IsIdempotent) {
  classify();
  const Analysis first = analysis_;
  classify();
  ASSERT_EQ(first.functions.size(), analysis_.functions.size());
  for (size_t i = 0; i < first.functions.size(); ++i) {
    EXPECT_EQ(first.functions[i].trusted, analysis_.functions[i].trusted);
    EXPECT_EQ(first.functions[i].trust_reason, analysis_.functions[i].trust_reason);
  }
  EXPECT_EQ(first.trusted.functions, analysis_.trusted.functions);
}

TEST(TrustRules, StripsCompilerSuffixes) {
  EXPECT_EQ(base_function_name("apply_alternatives.cold"), "apply_alternatives");
  EXPECT_EQ(base_function_name("jump_label_transform.constprop.0"), "jump_label_transform");
  EXPECT_EQ(base_function_name("text_poke"), "text_poke");
  EXPECT_EQ(base_function_name(".hidden"), ".hidden");
}

TEST(TrustRules, KnowsThePatchingMachineryAndNothingNearIt) {
  EXPECT_EQ(patching_mechanism("__text_poke"), "text_poke");
  EXPECT_EQ(patching_mechanism("text_poke_bp_batch"), "text_poke");
  EXPECT_EQ(patching_mechanism("arch_jump_label_transform_queue"), "jump label");
  EXPECT_EQ(patching_mechanism("__static_call_transform"), "static call");
  EXPECT_EQ(patching_mechanism("ftrace_modify_code_direct"), "ftrace");
  EXPECT_EQ(patching_mechanism("optimize_kprobe.part.0"), "");  // asks for a patch, does not write text
  EXPECT_EQ(patching_mechanism("perf_event_text_poke"), "");    // reports a patch
  EXPECT_EQ(patching_mechanism("apply_to_page_range"), "");
  EXPECT_EQ(patching_mechanism("__pfx_text_poke"), "");  // padding before text_poke
}

}  // namespace
}  // namespace vg::analyzer::insn
