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

TEST(Options, AllowKprobesIsAFlagOfItsOwn) {
  auto plain = parse_command_line({"analyze", "vmlinux"});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(std::get<AnalyzeOptions>(plain.value()).allow_kprobes);
  auto with = parse_command_line({"analyze", "vmlinux", "--allow-kprobes"});
  ASSERT_TRUE(with.ok()) << with.error();
  EXPECT_TRUE(std::get<AnalyzeOptions>(with.value()).allow_kprobes);
  EXPECT_FALSE(std::get<AnalyzeOptions>(with.value()).allow_bpf_jit) << "kprobes do not imply BPF JIT";
}

TEST(Options, MisspeltOrValuedFlagsAreErrors) {
  for (const char* spelling : {"--allow-kprobe", "--allow_kprobes", "--allow-kprobes-all", "--kprobes"}) {
    auto command = parse_command_line({"analyze", "vmlinux", spelling});
    ASSERT_FALSE(command.ok()) << spelling;
    EXPECT_EQ(command.error(), std::string("analyze: unknown option '") + spelling + "'");
  }
  // A value must not switch a flag on: "--allow-kprobes=no" used to.
  auto valued = parse_command_line({"analyze", "vmlinux", "--allow-kprobes=no"});
  ASSERT_FALSE(valued.ok());
  EXPECT_EQ(valued.error(), "--allow-kprobes takes no value (given 'no')");
  auto jit = parse_command_line({"analyze", "vmlinux", "--allow-bpf-jit=false"});
  ASSERT_FALSE(jit.ok());
  EXPECT_EQ(jit.error(), "--allow-bpf-jit takes no value (given 'false')");
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
