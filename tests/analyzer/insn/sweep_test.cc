// The two passes on code built in the test: the properties the stage relies
// on (bounded sweep equals full sweep, threads change nothing, restarts fix
// desynchronisation) and the unintended-offset rules.
#include "analyzer/insn/sweep.h"

#include <gtest/gtest.h>

#include <vector>

#include "analyzer/insn/elf_code_map.h"
#include "analyzer/insn/unintended.h"
#include "fixture.h"

namespace vg::analyzer::insn {
namespace {

using policy::PrivilegedKind;

constexpr uint64_t kBase = 0xffffffff81000000;

CodeSection section_of(const std::vector<uint8_t>& bytes) {
  CodeSection section;
  section.name = ".text";
  section.address = kBase;
  section.bytes = ByteView{bytes.data(), bytes.size()};
  section.restarts = {0};
  return section;
}

struct Passes {
  SweepResult sweep;
  std::vector<FoundInsn> unintended;
};

Passes run(const std::vector<CodeSection>& sections, SweepOptions options) {
  auto swept = sweep_code(sections, options, nullptr);
  EXPECT_TRUE(swept.ok());
  auto decoder = Decoder::open();
  EXPECT_TRUE(decoder.ok());
  Passes passes{std::move(*swept), {}};
  passes.unintended = find_unintended(sections, passes.sweep, *decoder);
  return passes;
}

bool same(const std::vector<FoundInsn>& a, const std::vector<FoundInsn>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].address != b[i].address || a[i].kind != b[i].kind || a[i].length != b[i].length ||
        a[i].unintended != b[i].unintended) {
      return false;
    }
  }
  return true;
}

class FixturePasses : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = testing::open_fixture("privileged.elf");
    ASSERT_NE(image_, nullptr);
    sections_ = code_sections(*image_, {});
    ASSERT_EQ(sections_.size(), 3u);
  }
  std::unique_ptr<ElfImage> image_;
  std::vector<CodeSection> sections_;
};

TEST_F(FixturePasses, BoundedSweepFindsExactlyWhatTheFullSweepFinds) {
  const Passes full = run(sections_, {1, SweepExtent::kFull});
  const Passes bounded = run(sections_, {1, SweepExtent::kToLastCandidate});
  EXPECT_TRUE(same(full.sweep.aligned, bounded.sweep.aligned));
  EXPECT_TRUE(same(full.unintended, bounded.unintended));
  EXPECT_GT(full.sweep.aligned.size(), 30u);
  EXPECT_EQ(full.unintended.size(), 12u);
  EXPECT_EQ(full.sweep.stats.bytes_skipped, 0u);
}

TEST_F(FixturePasses, ThreadsChangeNothing) {
  const Passes one = run(sections_, {1, SweepExtent::kFull});
  const Passes two = run(sections_, {2, SweepExtent::kFull});
  const Passes many = run(sections_, {7, SweepExtent::kFull});
  EXPECT_TRUE(same(one.sweep.aligned, two.sweep.aligned));
  EXPECT_TRUE(same(one.sweep.aligned, many.sweep.aligned));
  EXPECT_TRUE(same(one.unintended, two.unintended));
  EXPECT_EQ(one.sweep.stats.instructions, many.sweep.stats.instructions);
  EXPECT_EQ(one.sweep.starts, many.sweep.starts);
}

TEST_F(FixturePasses, WithoutRestartsThe32BitCodeHidesTheNextFunction) {
  const uint64_t cr4 = image_->symbol_address("k_after32_cr4").value_or(0);
  auto is_cr4 = [cr4](const FoundInsn& insn) {
    return insn.address == cr4 && insn.kind == PrivilegedKind::kMovToCr4;
  };
  std::vector<CodeSection> no_restarts = sections_;
  for (CodeSection& section : no_restarts) section.restarts = {0};
  const Passes lost = run(no_restarts, {1, SweepExtent::kFull});
  EXPECT_EQ(std::count_if(lost.sweep.aligned.begin(), lost.sweep.aligned.end(), is_cr4), 0);
  EXPECT_EQ(std::count_if(lost.unintended.begin(), lost.unintended.end(), is_cr4), 1);

  const Passes restarted = run(sections_, {1, SweepExtent::kFull});
  EXPECT_EQ(std::count_if(restarted.sweep.aligned.begin(), restarted.sweep.aligned.end(), is_cr4), 1);
  EXPECT_EQ(std::count_if(restarted.unintended.begin(), restarted.unintended.end(), is_cr4), 0);
}

TEST(SweepRules, BoundedSweepReachesAnOpcodeBehindLongPrefixesInTheNextRange) {
  // Found by fuzz_insn_passes: an LGDT with 10 prefix bytes starts in the
  // first range and has its opcode 10 bytes into the second.
  const std::vector<uint8_t> bytes = {0x3E, 0x4C, 0x26, 0x26, 0x26, 0x26, 0x26,
                                      0x26, 0x26, 0x3E, 0x0F, 0x01, 0x13, 0xC3};
  CodeSection section = section_of(bytes);
  section.restarts = {0, 2};
  const Passes full = run({section}, {1, SweepExtent::kFull});
  const Passes bounded = run({section}, {1, SweepExtent::kToLastCandidate});
  ASSERT_EQ(full.sweep.aligned.size(), 2u);  // from 0 (13 bytes) and from the restart at 2
  EXPECT_EQ(full.sweep.aligned[0].address, kBase);
  EXPECT_EQ(full.sweep.aligned[0].kind, PrivilegedKind::kLgdt);
  EXPECT_TRUE(same(full.sweep.aligned, bounded.sweep.aligned));
  EXPECT_TRUE(same(full.unintended, bounded.unintended));
}

TEST(UnintendedRules, TriesThePrefixRunUpToAnInstructionLength) {
  // movabs rax, imm64 whose immediate is F2 + 7 CS prefixes, then the aligned
  // `cs cs tlbsync`. Entered at the F2, ten prefixes before the opcode, the
  // bytes are PVALIDATE, a kind the aligned instruction is not.
  const std::vector<uint8_t> bytes = {0x48, 0xB8, 0xF2, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E,
                                      0x2E, 0x2E, 0x2E, 0x2E, 0x0F, 0x01, 0xFF, 0xC3};
  const Passes passes = run({section_of(bytes)}, {1, SweepExtent::kFull});
  ASSERT_EQ(passes.sweep.aligned.size(), 1u);
  EXPECT_EQ(passes.sweep.aligned[0].kind, PrivilegedKind::kTlbsync);
  ASSERT_EQ(passes.unintended.size(), 1u);
  EXPECT_EQ(passes.unintended[0].address, kBase + 2);
  EXPECT_EQ(passes.unintended[0].kind, PrivilegedKind::kPvalidate);
  EXPECT_EQ(passes.unintended[0].length, 13u);
}

TEST(UnintendedRules, ADroppedPrefixThatChangesTheKindIsANewGadget) {
  // data16 pvalidate; ret. From +1 it is still PVALIDATE (same opcode, same
  // kind: not reported); from +2 it is TLBSYNC, a different instruction.
  const std::vector<uint8_t> bytes = {0x66, 0xF2, 0x0F, 0x01, 0xFF, 0xC3};
  const Passes passes = run({section_of(bytes)}, {1, SweepExtent::kFull});
  ASSERT_EQ(passes.sweep.aligned.size(), 1u);
  EXPECT_EQ(passes.sweep.aligned[0].kind, PrivilegedKind::kPvalidate);
  ASSERT_EQ(passes.unintended.size(), 1u);
  EXPECT_EQ(passes.unintended[0].address, kBase + 2);
  EXPECT_EQ(passes.unintended[0].kind, PrivilegedKind::kTlbsync);
}

TEST(UnintendedRules, StuiHidesWrpkru) {
  // F3 0F 01 EF is STUI (not privileged); entered one byte later it is WRPKRU.
  const std::vector<uint8_t> bytes = {0xF3, 0x0F, 0x01, 0xEF, 0xC3};
  const Passes passes = run({section_of(bytes)}, {1, SweepExtent::kFull});
  EXPECT_TRUE(passes.sweep.aligned.empty());
  ASSERT_EQ(passes.unintended.size(), 1u);
  EXPECT_EQ(passes.unintended[0].address, kBase + 1);
  EXPECT_EQ(passes.unintended[0].kind, PrivilegedKind::kWrpkru);
}

TEST(UnintendedRules, FindsIretqButNotBareCfOrHlt) {
  // mov eax, 0xf4cf48 hides 48 CF (iretq), and also CF and F4 alone, which
  // are not searched (unintended.h says why).
  const std::vector<uint8_t> bytes = {0xB8, 0x48, 0xCF, 0xF4, 0x00, 0xC3};
  const Passes passes = run({section_of(bytes)}, {1, SweepExtent::kFull});
  EXPECT_TRUE(passes.sweep.aligned.empty());
  ASSERT_EQ(passes.unintended.size(), 1u);
  EXPECT_EQ(passes.unintended[0].address, kBase + 1);
  EXPECT_EQ(passes.unintended[0].kind, PrivilegedKind::kIretq);
  EXPECT_EQ(passes.unintended[0].length, 2u);
}

TEST(UnintendedRules, ACandidateAtTheEndOfTheSectionIsNotReadPastIt) {
  const std::vector<uint8_t> bytes = {0xB8, 0x00, 0x00, 0x00, 0x0F};  // ends in a lone 0F
  const Passes passes = run({section_of(bytes)}, {1, SweepExtent::kFull});
  EXPECT_TRUE(passes.unintended.empty());
}

}  // namespace
}  // namespace vg::analyzer::insn
