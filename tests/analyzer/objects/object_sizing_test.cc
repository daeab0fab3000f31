// The size rule: BTF, then DWARF, then the symbol; debug info must fit the
// section and agree with a non-zero symbol size.
#include "analyzer/objects/object_sizing.h"

#include <gtest/gtest.h>

namespace vg::analyzer {
namespace {

TEST(ChooseSize, BtfWinsWhenItAgreesWithTheSymbol) {
  SizeChoice choice = choose_size("x", SizeEvidence{40, 40, 40, 4096});
  EXPECT_EQ(choice.size, 40u);
  EXPECT_EQ(choice.source, "BTF");
  EXPECT_TRUE(choice.notes.empty());
}

// Objects defined in assembly have st_size 0: debug info is the only answer.
TEST(ChooseSize, DebugInfoSizesAZeroSizeSymbol) {
  EXPECT_EQ(choose_size("x", SizeEvidence{0, 64, std::nullopt, 4096}).source, "BTF");
  SizeChoice dwarf = choose_size("x", SizeEvidence{0, std::nullopt, 64, 4096});
  EXPECT_EQ(dwarf.source, "DWARF");
  EXPECT_EQ(dwarf.size, 64u);
}

TEST(ChooseSize, DisagreeingBtfIsReportedAndTheNextSourceUsed) {
  SizeChoice choice = choose_size("selinux_state", SizeEvidence{16, 8, 16, 4096});
  EXPECT_EQ(choice.size, 16u);
  EXPECT_EQ(choice.source, "DWARF");
  ASSERT_EQ(choice.notes.size(), 1u);
  EXPECT_EQ(choice.notes[0], "selinux_state: BTF gives 8 bytes but the symbol is 16 bytes; ignored");

  SizeChoice symbol = choose_size("selinux_state", SizeEvidence{16, 8, std::nullopt, 4096});
  EXPECT_EQ(symbol.size, 16u);
  EXPECT_EQ(symbol.source, "symbol");
}

// A hostile or damaged section must not make the policy cover memory past
// the object's section.
TEST(ChooseSize, SizesPastTheSectionEndAreIgnored) {
  SizeChoice choice = choose_size("x", SizeEvidence{0, 1u << 20, std::nullopt, 128});
  EXPECT_EQ(choice.source, "none");
  EXPECT_EQ(choice.size, 0u);
  ASSERT_EQ(choice.notes.size(), 2u);
  EXPECT_EQ(choice.notes[0],
            "x: BTF gives 1048576 bytes, past the end of its section (128 bytes left); ignored");
  EXPECT_EQ(choice.notes[1], "x: no size in BTF, DWARF or the symbol table; size unknown");

  SizeChoice symbol = choose_size("y", SizeEvidence{256, std::nullopt, std::nullopt, 128});
  EXPECT_EQ(symbol.source, "none");
  EXPECT_EQ(symbol.notes.at(0), "y: the symbol's 256 bytes run past the end of its section; size unknown");
}

TEST(ChooseSize, SymbolSizeIsTheLastResort) {
  SizeChoice choice = choose_size("x", SizeEvidence{3704, std::nullopt, std::nullopt, 8192});
  EXPECT_EQ(choice.size, 3704u);
  EXPECT_EQ(choice.source, "symbol");
  EXPECT_TRUE(choice.notes.empty());
}

}  // namespace
}  // namespace vg::analyzer
