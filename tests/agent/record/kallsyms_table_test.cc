// Naming stack frames from /proc/kallsyms text: how record mode tells which
// kernel machinery asked for a text patch.
#include "agent/kallsyms_table.h"

#include <gtest/gtest.h>

namespace vg::agent {
namespace {

// The shape of /proc/kallsyms; data symbols, module symbols and junk lines mixed in.
constexpr char kKallsyms[] =
    "ffffffff81000000 T _text\n"
    "ffffffff81100000 T text_poke_bp_batch\n"
    "ffffffff81100400 t text_poke_loc_init\n"
    "ffffffff81200000 T ftrace_modify_all_code\n"
    "ffffffff82000000 D some_data\n"
    "garbage line\n"
    "zzzzzzzzzzzzzzzz T bad_address\n"
    "ffffffffc0200000 t nls_init\t[nls_utf8]\n";

TEST(KallsymsTable, NamesTheTextSymbolAtOrBelowAnAddress) {
  const KallsymsTable table = KallsymsTable::parse(kKallsyms);
  EXPECT_EQ(table.size(), 5u);  // four kernel text symbols and one module symbol
  EXPECT_EQ(table.function_at(0xffffffff81100010), "text_poke_bp_batch");
  EXPECT_EQ(table.function_at(0xffffffff81100400), "text_poke_loc_init");
  EXPECT_EQ(table.function_at(0xffffffff81234567), "ftrace_modify_all_code");
  // Data symbols do not end a function: the last text symbol still names it.
  EXPECT_EQ(table.function_at(0xffffffff82000010), "ftrace_modify_all_code");
  EXPECT_EQ(table.function_at(0xffffffffc0200010), "[mod]");
  EXPECT_EQ(table.function_at(0xffffffff80000000), "");
}

TEST(KallsymsTable, ToleratesEmptyAndTruncatedInput) {
  EXPECT_EQ(KallsymsTable::parse("").size(), 0u);
  EXPECT_EQ(KallsymsTable::parse("ffffffff81000000 T").size(), 0u);
  EXPECT_EQ(KallsymsTable::parse("ffffffff81000000").function_at(0xffffffff81000000), "");
}

}  // namespace
}  // namespace vg::agent
