// Option syntax: both "--name value" and "--name=value", short aliases, and
// the defaults a plain `vmplguard analyze VMLINUX` gets.
#include "options.h"

#include <gtest/gtest.h>

namespace vg::cli {
namespace {

TEST(Options, AnalyzeDefaults) {
  auto command = parse_command_line({"analyze", "vmlinux"});
  ASSERT_TRUE(command.ok());
  const auto& options = std::get<AnalyzeOptions>(command.value());
  EXPECT_EQ(options.vmlinux, "vmlinux");
  EXPECT_EQ(options.format, ReportFormat::kText);
  EXPECT_TRUE(options.policy_path.empty());
  EXPECT_TRUE(options.output_path.empty());
  EXPECT_EQ(options.jobs, 0u);
}

TEST(Options, AnalyzeAllOptionsBothSpellings) {
  auto command = parse_command_line(
      {"analyze", "--format=sarif", "-o", "p", "--output=r", "vmlinux", "-j", "3", "--verbose"});
  ASSERT_TRUE(command.ok()) << command.error();
  const auto& options = std::get<AnalyzeOptions>(command.value());
  EXPECT_EQ(options.vmlinux, "vmlinux");
  EXPECT_EQ(options.format, ReportFormat::kSarif);
  EXPECT_EQ(options.policy_path, "p");
  EXPECT_EQ(options.output_path, "r");
  EXPECT_EQ(options.jobs, 3u);
  EXPECT_TRUE(options.verbose);
}

TEST(Options, ErrorsNameTheProblem) {
  auto missing = parse_command_line({"analyze", "x", "--output"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "--output needs a value");
  auto jobs = parse_command_line({"analyze", "x", "--jobs=two"});
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(jobs.error(), "--jobs: 'two' is not a number from 1 to 256");
  auto unknown = parse_command_line({"analyze", "x", "--colour"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), "analyze: unknown option '--colour'");
}

TEST(Options, PolicyVerifyTakesVmlinux) {
  auto command = parse_command_line({"policy", "verify", "--vmlinux=k", "p"});
  ASSERT_TRUE(command.ok());
  const auto& options = std::get<PolicyVerifyOptions>(command.value());
  EXPECT_EQ(options.file, "p");
  EXPECT_EQ(options.vmlinux, "k");
}

}  // namespace
}  // namespace vg::cli
