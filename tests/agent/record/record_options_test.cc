// The record mode's command line: what it accepts and the error bad input gets.
#include "agent/record_options.h"

#include <gtest/gtest.h>

#include <vector>

namespace vg::agent {
namespace {

Result<RecordOptions, std::string> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "vmplguard-agent");
  return parse_record_options(static_cast<int>(args.size()), args.data());
}

TEST(RecordOptions, AcceptsEveryOption) {
  auto options = parse({"--record",        "/out/t.vgtrace",
                        "--boot-baseline", "/b.bin",
                        "--boot-sites",    "/s",
                        "--kcore",         "/k",
                        "--control",       "/tmp/ctl",
                        "--link-text",     "0xffffffff80000000",
                        "--ready-file",    "/r",
                        "--kallsyms",      "/ks",
                        "--notes",         "/n",
                        "--watch-data",    "/w"});
  ASSERT_TRUE(options.ok()) << options.error();
  EXPECT_EQ(options->trace_path, "/out/t.vgtrace");
  EXPECT_EQ(options->boot_baseline, "/b.bin");
  EXPECT_EQ(options->boot_sites, "/s");
  EXPECT_EQ(options->kcore, "/k");
  EXPECT_EQ(options->control, "/tmp/ctl");
  EXPECT_EQ(options->link_text, 0xffffffff80000000u);
  EXPECT_EQ(options->ready_file, "/r");
  EXPECT_EQ(options->kallsyms, "/ks");
  EXPECT_EQ(options->notes, "/n");
  EXPECT_EQ(options->watch_data, "/w");
}

TEST(RecordOptions, DefaultsToTheX86LinkAddressAndProcFiles) {
  auto options = parse({"--record", "-"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->link_text, 0xffffffff81000000u);
  EXPECT_EQ(options->kcore, "/proc/kcore");
  EXPECT_TRUE(options->boot_baseline.empty());
  EXPECT_TRUE(options->control.empty());
}

TEST(RecordOptions, RefusesBadInputWithItsReason) {
  EXPECT_EQ(parse({"--control", "/c"}).error(), "record mode needs --record FILE");
  EXPECT_EQ(parse({"--record"}).error(), "--record needs a value");
  EXPECT_EQ(parse({"--record", ""}).error(), "--record needs a value");
  EXPECT_EQ(parse({"--record", "a", "--record", "b"}).error(), "--record given twice");
  EXPECT_EQ(parse({"--record", "a", "--link-text", "xyz"}).error(), "--link-text: not a hex address: xyz");
  EXPECT_EQ(parse({"--record", "a", "--link-text", "-1"}).error(), "--link-text: not a hex address: -1");
  EXPECT_EQ(parse({"--record", "a", "--link-text", "1ffffffff81000000"}).error(),
            "--link-text: not a hex address: 1ffffffff81000000");
  EXPECT_EQ(parse({"--record", "a", "--policy", "/p"}).error(),
            "--policy is not used in record mode (a record run classifies and exports nothing)");
  EXPECT_EQ(parse({"--record", "a", "--bogus"}).error(), "unknown record-mode option: --bogus");
  EXPECT_EQ(parse({"--record", "a", "--boot-sites", "/s"}).error(), "--boot-sites needs --boot-baseline");
}

TEST(RecordOptions, RecordModeIsChosenByTheRecordOptionAnywhere) {
  const char* normal[] = {"vmplguard-agent", "--policy", "/p"};
  const char* record[] = {"vmplguard-agent", "--control", "/c", "--record", "t"};
  EXPECT_FALSE(wants_record_mode(3, normal));
  EXPECT_TRUE(wants_record_mode(5, record));
}

}  // namespace
}  // namespace vg::agent
