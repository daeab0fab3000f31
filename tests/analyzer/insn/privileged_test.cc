// collect_privileged on the assembled fixture (fixtures/privileged.S): what
// a user of the report relies on, site by site.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fixture.h"

namespace vg::analyzer::insn {
namespace {

using policy::PrivilegedKind;
using testing::address_of;
using testing::site_at;

class CollectPrivilegedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = testing::open_fixture("privileged.elf");
    ASSERT_NE(image_, nullptr);
    auto functions = collect_functions(*image_, analysis_);
    ASSERT_TRUE(functions.ok()) << functions.error().to_string();
    auto privileged =
        collect_privileged(*image_, analysis_, [this](std::string_view stage, uint64_t done, uint64_t total) {
          progress_.emplace_back(std::string(stage), done, total);
        });
    ASSERT_TRUE(privileged.ok()) << privileged.error().to_string();
  }

  uint64_t at(const std::string& label) const { return address_of(*image_, label); }

  // Sites whose address lies in [begin, end).
  std::vector<const PrivilegedSite*> sites_between(uint64_t begin, uint64_t end) const {
    std::vector<const PrivilegedSite*> sites;
    for (const PrivilegedSite& site : analysis_.privileged) {
      if (site.address >= begin && site.address < end) sites.push_back(&site);
    }
    return sites;
  }

  std::unique_ptr<ElfImage> image_;
  Analysis analysis_;
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> progress_;
};

struct Expected {
  const char* label;
  PrivilegedKind kind;
  uint8_t length;
  const char* text;
};

TEST_F(CollectPrivilegedTest, FindsEveryAlignedKindWithItsFunctionOffsetAndText) {
  const std::vector<Expected> expected = {
      {"k_cr0", PrivilegedKind::kMovToCr0, 3, "mov cr0, rdi"},
      {"k_cr2", PrivilegedKind::kMovToCr2, 3, "mov cr2, rdi"},
      {"k_cr3", PrivilegedKind::kMovToCr3, 3, "mov cr3, rdi"},
      {"k_cr4", PrivilegedKind::kMovToCr4, 3, "mov cr4, rdi"},
      {"k_cr8", PrivilegedKind::kMovToCr8, 4, "mov cr8, rdi"},
      {"k_dr7", PrivilegedKind::kMovToDr, 3, "mov dr7, rax"},
      {"k_wrmsr", PrivilegedKind::kWrmsr, 2, "wrmsr"},
      {"k_rdmsr", PrivilegedKind::kRdmsr, 2, "rdmsr"},
      {"k_lgdt", PrivilegedKind::kLgdt, 3, "lgdt [rdi]"},
      {"k_lidt", PrivilegedKind::kLidt, 3, "lidt [rdi]"},
      {"k_lldt", PrivilegedKind::kLldt, 3, "lldt di"},
      {"k_ltr", PrivilegedKind::kLtr, 3, "ltr di"},
      {"k_invlpg", PrivilegedKind::kInvlpg, 3, "invlpg byte ptr [rdi]"},
      {"k_invpcid", PrivilegedKind::kInvpcid, 5, "invpcid rdi, xmmword ptr [rsi]"},
      {"k_wbinvd", PrivilegedKind::kWbinvd, 2, "wbinvd"},
      {"k_invd", PrivilegedKind::kInvd, 2, "invd"},
      {"k_xsetbv", PrivilegedKind::kXsetbv, 3, "xsetbv"},
      {"k_swapgs", PrivilegedKind::kSwapgs, 3, "swapgs"},
      {"k_sysretq", PrivilegedKind::kSysret, 3, "sysret"},
      {"k_sysexit", PrivilegedKind::kSysexit, 2, "sysexit"},
      {"k_iretq", PrivilegedKind::kIretq, 2, "iretq"},
      {"k_clts", PrivilegedKind::kClts, 2, "clts"},
      {"k_hlt", PrivilegedKind::kHlt, 1, "hlt"},
  };
  const uint64_t function = at("aligned_kinds");
  for (const Expected& e : expected) {
    const PrivilegedSite* site = site_at(analysis_, at(e.label), e.kind);
    ASSERT_NE(site, nullptr) << e.label;
    EXPECT_FALSE(site->unintended) << e.label;
    EXPECT_FALSE(site->init) << e.label;
    EXPECT_FALSE(site->replacement) << e.label;
    EXPECT_EQ(site->length, e.length) << e.label;
    EXPECT_EQ(site->function, "aligned_kinds") << e.label;
    EXPECT_EQ(site->function_offset, at(e.label) - function) << e.label;
    EXPECT_EQ(site->disassembly, e.text) << e.label;
  }
  // One more: entered one byte late, MOV CR8 (44 0F 22 C7) loses its REX.R
  // and writes CR0. Nothing else: push/pop/ret are not privileged.
  const PrivilegedSite* cr0 = site_at(analysis_, at("k_cr8") + 1, PrivilegedKind::kMovToCr0);
  ASSERT_NE(cr0, nullptr);
  EXPECT_TRUE(cr0->unintended);
  EXPECT_EQ(cr0->disassembly, "mov cr0, rdi");
  EXPECT_EQ(sites_between(function, at("capstone_gaps")).size(), expected.size() + 1);
}

TEST_F(CollectPrivilegedTest, DecodesCapstoneGapsAndStaysInStepAfterThem) {
  const std::vector<Expected> expected = {
      {"k_pvalidate", PrivilegedKind::kPvalidate, 4, "pvalidate"},
      {"k_rmpadjust", PrivilegedKind::kRmpadjust, 4, "rmpadjust"},
      {"k_vmgexit", PrivilegedKind::kVmgexit, 4, "vmgexit"},
      {"k_psmash", PrivilegedKind::kPsmash, 4, "psmash"},
      {"k_rmpquery", PrivilegedKind::kRmpquery, 4, "rmpquery"},
      {"k_invlpgb", PrivilegedKind::kInvlpgb, 3, "invlpgb"},
      {"k_tlbsync", PrivilegedKind::kTlbsync, 3, "tlbsync"},
      {"k_wrpkru", PrivilegedKind::kWrpkru, 3, "wrpkru"},
      {"k_after_gaps", PrivilegedKind::kMovToCr3, 3, "mov cr3, rsi"},
  };
  for (const Expected& e : expected) {
    const PrivilegedSite* site = site_at(analysis_, at(e.label), e.kind);
    ASSERT_NE(site, nullptr) << e.label;
    EXPECT_FALSE(site->unintended) << e.label;
    EXPECT_EQ(site->length, e.length) << e.label;
    EXPECT_EQ(site->function, "capstone_gaps") << e.label;
    EXPECT_EQ(site->disassembly, e.text) << e.label;
  }
  // rdpkru, serialize and rmpupdate decode but are not privileged kinds.
  // Entered after their F2/F3 prefix, PVALIDATE and PSMASH are TLBSYNC, and
  // RMPADJUST and RMPUPDATE are INVLPGB: other instructions, so unintended.
  const std::vector<std::pair<uint64_t, PrivilegedKind>> inner = {
      {at("k_pvalidate") + 1, PrivilegedKind::kTlbsync},
      {at("k_rmpadjust") + 1, PrivilegedKind::kInvlpgb},
      {at("k_psmash") + 1, PrivilegedKind::kTlbsync},
      {at("k_after_gaps") - 3, PrivilegedKind::kInvlpgb},
  };
  for (const auto& [address, kind] : inner) {
    const PrivilegedSite* site = site_at(analysis_, address, kind);
    ASSERT_NE(site, nullptr) << std::hex << address;
    EXPECT_TRUE(site->unintended);
  }
  EXPECT_EQ(sites_between(at("capstone_gaps"), at("bogus_registers")).size(), expected.size() + inner.size());
}

TEST_F(CollectPrivilegedTest, NeverReportsRegistersThatDoNotExist) {
  const auto sites = sites_between(at("bogus_registers"), at("hidden_in_immediates"));
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0]->address, at("k_dr8") + 1);
  EXPECT_EQ(sites[0]->disassembly, "mov dr0, rax");
  for (const PrivilegedSite& site : analysis_.privileged) {
    EXPECT_NE(site.kind, PrivilegedKind::kMovToCr1) << std::hex << site.address;
  }
}

TEST_F(CollectPrivilegedTest, FindsPrivilegedBytesHiddenInImmediatesAtUnintendedOffsets) {
  const std::set<std::pair<uint64_t, PrivilegedKind>> expected = {
      {at("k_hide_cr0") + 5, PrivilegedKind::kMovToCr0},
      {at("k_hide_wrmsr") + 1, PrivilegedKind::kWrmsr},
      {at("k_hide_cr4") + 6, PrivilegedKind::kMovToCr4},
      // A REX.R byte before the opcode turns the same bytes into CR8.
      {at("k_hide_cr8") + 4, PrivilegedKind::kMovToCr8},
      {at("k_hide_cr8") + 5, PrivilegedKind::kMovToCr0},
      // F2 before 0F 01 FF is PVALIDATE; without it, TLBSYNC.
      {at("k_hide_pvalidate") + 4, PrivilegedKind::kPvalidate},
      {at("k_hide_pvalidate") + 5, PrivilegedKind::kTlbsync},
  };
  std::set<std::pair<uint64_t, PrivilegedKind>> found;
  for (const PrivilegedSite* site : sites_between(at("hidden_in_immediates"), at("code32_in_text"))) {
    EXPECT_TRUE(site->unintended) << site->disassembly;
    EXPECT_EQ(site->function, "hidden_in_immediates");
    found.emplace(site->address, site->kind);
  }
  EXPECT_EQ(found, expected);
  const PrivilegedSite* cr0 = site_at(analysis_, at("k_hide_cr0") + 5, PrivilegedKind::kMovToCr0);
  ASSERT_NE(cr0, nullptr);
  EXPECT_EQ(cr0->disassembly, "mov cr0, rax");
  EXPECT_EQ(cr0->length, 3);
}

TEST_F(CollectPrivilegedTest, RestartsAtEachFunctionAfter32BitCode) {
  // Without the restart the 64-bit decode of the 32-bit code swallows this
  // instruction (sweep_test.cc shows it), and it would be reported unintended.
  const PrivilegedSite* cr4 = site_at(analysis_, at("k_after32_cr4"), PrivilegedKind::kMovToCr4);
  ASSERT_NE(cr4, nullptr);
  EXPECT_FALSE(cr4->unintended);
  EXPECT_EQ(cr4->function, "after_code32");
  EXPECT_EQ(cr4->function_offset, 0u);
}

TEST_F(CollectPrivilegedTest, MarksInitAndReplacementCode) {
  const PrivilegedSite* init = site_at(analysis_, at("k_init_wrmsr"), PrivilegedKind::kWrmsr);
  ASSERT_NE(init, nullptr);
  EXPECT_TRUE(init->init);
  EXPECT_EQ(init->function, "init_function");

  for (auto [label, kind] : {std::pair{"k_repl_cr3", PrivilegedKind::kMovToCr3},
                             std::pair{"k_repl_wrmsr", PrivilegedKind::kWrmsr}}) {
    const PrivilegedSite* site = site_at(analysis_, at(label), kind);
    ASSERT_NE(site, nullptr) << label;
    EXPECT_TRUE(site->replacement) << label;
    EXPECT_FALSE(site->init) << label;
    EXPECT_EQ(site->function, "") << label;
    const Section* section = image_->section(".altinstr_replacement");
    ASSERT_NE(section, nullptr);
    EXPECT_EQ(site->function_offset, at(label) - section->address) << label;
  }
}

TEST_F(CollectPrivilegedTest, SitesAreSortedByAddress) {
  for (size_t i = 1; i < analysis_.privileged.size(); ++i) {
    EXPECT_LE(analysis_.privileged[i - 1].address, analysis_.privileged[i].address);
  }
}

TEST_F(CollectPrivilegedTest, ReportsProgressUpToTheTotal) {
  ASSERT_FALSE(progress_.empty());
  for (const auto& [stage, done, total] : progress_) {
    EXPECT_EQ(stage, "privileged");
    EXPECT_LE(done, total);
  }
  const auto& [stage, done, total] = progress_.back();
  EXPECT_EQ(done, total);
  EXPECT_GT(total, 0u);
}

TEST(CollectPrivilegedErrors, RefusesAnImageWithoutCode) {
  auto image = testing::open_fixture("no_code.elf");
  ASSERT_NE(image, nullptr);
  Analysis analysis;
  auto result = collect_privileged(*image, analysis, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().file, testing::fixture_path("no_code.elf"));
  EXPECT_EQ(result.error().message, "no executable section to analyze");
}

}  // namespace
}  // namespace vg::analyzer::insn
