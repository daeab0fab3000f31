// The monitor's core question for a text patch: is this byte sequence one the
// kernel may legitimately write at this site?
#include <gtest/gtest.h>

#include "policy_fixture.h"

namespace vg::policy {
namespace {

class SiteAllows : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = testing::sample_builder().build().value();
    aligned_ = std::make_unique<testing::AlignedPolicy>(bytes_);
    view_ = PolicyView::parse(aligned_->view()).value();
  }
  bool allows(uint32_t site_offset, std::vector<uint8_t> candidate) {
    const Site* site = view_.find_site(site_offset);
    EXPECT_NE(site, nullptr);
    return site != nullptr && site_allows(view_, *site, candidate.data(), candidate.size());
  }
  std::vector<uint8_t> bytes_;
  std::unique_ptr<testing::AlignedPolicy> aligned_;
  PolicyView view_;
};

TEST_F(SiteAllows, JumpLabelMayBecomeNop5OrJumpToItsOwnTarget) {
  EXPECT_TRUE(allows(0x110, {0x0f, 0x1f, 0x44, 0x00, 0x00}));
  // jmp from 0x110+5 to 0x130: rel32 = 0x1b.
  EXPECT_TRUE(allows(0x110, {0xe9, 0x1b, 0x00, 0x00, 0x00}));
  EXPECT_FALSE(allows(0x110, {0xe9, 0x1c, 0x00, 0x00, 0x00})) << "jump to an attacker target";
  EXPECT_FALSE(allows(0x110, {0xe8, 0x1b, 0x00, 0x00, 0x00})) << "call instead of jmp";
  EXPECT_FALSE(allows(0x110, {0x90, 0x90, 0x90, 0x90, 0x90})) << "non-canonical NOPs";
}

TEST_F(SiteAllows, FtraceSiteMayCallOnlyTheTracer) {
  // call from 0x100+5 to 0x200: rel32 = 0xfb.
  EXPECT_TRUE(allows(0x100, {0xe8, 0xfb, 0x00, 0x00, 0x00}));
  EXPECT_FALSE(allows(0x100, {0xe8, 0xfc, 0x00, 0x00, 0x00}));
}

TEST_F(SiteAllows, StaticCallMayTargetAnyFunctionStartButNothingElse) {
  // From 0x1010+5 to target_fn at 0x200: rel32 = 0x200 - 0x1015 = -0xe15.
  const int32_t rel = 0x200 - 0x1015;
  std::vector<uint8_t> call = {0xe8, 0, 0, 0, 0};
  std::memcpy(call.data() + 1, &rel, 4);
  EXPECT_TRUE(allows(0x1010, call));
  const int32_t into_middle = rel + 1;
  std::memcpy(call.data() + 1, &into_middle, 4);
  EXPECT_FALSE(allows(0x1010, call)) << "a call into the middle of a function";
  EXPECT_TRUE(allows(0x1010, {0x0f, 0x1f, 0x44, 0x00, 0x00}));
}

TEST_F(SiteAllows, ShortJumpLabelUsesRel8) {
  // From 0x1020+2 to 0x1030: rel8 = 0x0e.
  EXPECT_TRUE(allows(0x1020, {0xeb, 0x0e}));
  EXPECT_TRUE(allows(0x1020, {0x66, 0x90}));
  EXPECT_FALSE(allows(0x1020, {0xeb, 0x0f}));
}

TEST_F(SiteAllows, MergedSiteAllowsEitherSourcesPatterns) {
  EXPECT_TRUE(allows(0x1040, {0xc3, 0xcc, 0xcc, 0xcc, 0xcc}));
  const int32_t rel = 0x1000 - 0x1045;
  std::vector<uint8_t> jmp = {0xe9, 0, 0, 0, 0};
  std::memcpy(jmp.data() + 1, &rel, 4);
  EXPECT_TRUE(allows(0x1040, jmp));
  EXPECT_FALSE(allows(0x1040, {0xc3, 0xcc, 0xcc, 0xcc})) << "wrong length";
}

}  // namespace
}  // namespace vg::policy
