#include "base/result.h"

#include <gtest/gtest.h>

#include <string>

#include "base/types.h"

namespace {

enum class Failure { kBad };

vg::Result<int, Failure> half(int value) {
  if (value % 2 != 0) return vg::Err{Failure::kBad};
  return value / 2;
}

vg::Result<int, Failure> quarter(int value) {
  int h = VG_TRY(half(value));
  return VG_TRY(half(h));
}

TEST(Result, PropagatesErrorsThroughTry) {
  ASSERT_TRUE(quarter(8).ok());
  EXPECT_EQ(quarter(8).value(), 2);
  ASSERT_FALSE(quarter(6).ok());
  EXPECT_EQ(quarter(6).error(), Failure::kBad);
}

TEST(Result, HoldsNonTrivialValues) {
  vg::Result<std::string, Failure> text = std::string("policy");
  vg::Result<std::string, Failure> copy = text;
  EXPECT_EQ(copy.value(), "policy");
  vg::Result<void, Failure> nothing = vg::Ok{};
  EXPECT_TRUE(nothing.ok());
}

TEST(StrongTypes, PfnRoundTripsThroughGpa) {
  vg::Gpa gpa(0x12345678);
  EXPECT_EQ(vg::Pfn::of(gpa).gpa(), vg::Gpa(0x12345000));
  EXPECT_TRUE(vg::Vmpl(0).more_privileged_than(vg::Vmpl(3)));
  EXPECT_FALSE(vg::Vmpl(3).more_privileged_than(vg::Vmpl(3)));
}

}  // namespace
