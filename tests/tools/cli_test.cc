// The command line as a user meets it: exit codes, the one-line errors, the
// files it writes, color rules, and policy show/verify on real policy bytes.
// The analysis comes from a fake backend returning the synthetic analysis.
#include "cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "synthetic_analysis.h"

namespace vg::cli {
namespace {

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vmplguard-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    backend_.analyze = [this](const AnalyzeRequest& request,
                              ProgressReporter& progress) -> Result<AnalyzeOutput, analyzer::Diagnostic> {
      last_jobs_ = request.jobs;
      last_allow_kprobes_ = request.allow_kprobes;
      if (request.vmlinux == "missing")
        return Err{analyzer::Diagnostic{"missing", "cannot open: No such file"}};
      progress.stage_begin("privileged");
      progress.update("privileged", 50, 100);
      progress.update("privileged", 100, 100);
      progress.stage_end("privileged", 0.5);
      AnalyzeOutput output;
      output.analysis = testing::synthetic_analysis();
      output.analysis.kernel.path = request.vmlinux;
      output.policy = testing::synthetic_policy(output.analysis);
      return output;
    };
    backend_.identify = [](const std::string& path) -> Result<analyzer::KernelInfo, analyzer::Diagnostic> {
      if (path == "missing") return Err{analyzer::Diagnostic{"missing", "cannot open: No such file"}};
      analyzer::KernelInfo kernel = testing::synthetic_analysis().kernel;
      if (path == "other-kernel") kernel.build_id = {1, 2, 3};
      return kernel;
    };
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  Outcome run_cli(std::vector<std::string> args, Terminal terminal = Terminal{}) {
    std::ostringstream out, err;
    Outcome outcome;
    outcome.status = run(args, backend_, terminal, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string slurp(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }

  std::string dir_;
  Backend backend_;
  unsigned last_jobs_ = 0;
  bool last_allow_kprobes_ = false;
};

TEST_F(CliTest, AnalyzeWithoutFailOnExitsZeroDespiteFindings) {
  const Outcome o = run_cli({"analyze", "vmlinux"});
  EXPECT_EQ(o.status, kExitOk);
  EXPECT_NE(o.out.find("proc_map_files_readdir+0x1ac"), std::string::npos);
  EXPECT_NE(o.out.find("1 error, 2 warnings, 3 notes"), std::string::npos);
}

TEST_F(CliTest, FailOnErrorExitsOne) {
  EXPECT_EQ(run_cli({"analyze", "vmlinux", "--fail-on", "error"}).status, kExitFindings);
  EXPECT_EQ(run_cli({"analyze", "vmlinux", "--fail-on=VG004"}).status, kExitFindings);
  EXPECT_EQ(run_cli({"analyze", "vmlinux", "--fail-on", "VG006,VG008"}).status, kExitOk);
}

TEST_F(CliTest, UnreadableKernelIsOneLineAndExitTwo) {
  const Outcome o = run_cli({"analyze", "missing", "--fail-on", "error"});
  EXPECT_EQ(o.status, kExitUsage);
  EXPECT_EQ(o.err, "vmplguard: missing: cannot open: No such file\n");
  EXPECT_TRUE(o.out.empty());
}

TEST_F(CliTest, UsageErrorsExitTwoWithAHint) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"analyse", "x"},
           {"analyze"},
           {"analyze", "a", "b"},
           {"analyze", "x", "--format", "html"},
           {"analyze", "x", "--jobs", "0"},
           {"analyze", "x", "--jobs"},
           {"analyze", "x", "--fail-on", "VG999"},
           {"analyze", "x", "--bogus"},
           {"analyze", "x", "--allow-kprobe"},
           {"analyze", "x", "--allow-kprobes=no"},
           {"analyze", "x", "--quiet=yes"},
           {"analyze", "x", "--quiet", "--verbose"},
           {"policy"},
           {"policy", "dump", "x"},
           {"policy", "show"},
           {"policy", "show", "x", "--format", "sarif"},
       }) {
    const Outcome o = run_cli(args);
    EXPECT_EQ(o.status, kExitUsage) << ::testing::PrintToString(args);
    EXPECT_EQ(o.err.rfind("vmplguard: ", 0), 0u) << o.err;
    EXPECT_NE(o.err.find("Try 'vmplguard --help'"), std::string::npos);
  }
}

TEST_F(CliTest, AllowKprobesReachesTheAnalysisRequest) {
  ASSERT_EQ(run_cli({"analyze", "vmlinux", "--allow-kprobes"}).status, kExitOk);
  EXPECT_TRUE(last_allow_kprobes_);
  ASSERT_EQ(run_cli({"analyze", "vmlinux"}).status, kExitOk);
  EXPECT_FALSE(last_allow_kprobes_);
  const Outcome misspelt = run_cli({"analyze", "vmlinux", "--allow-kprobe"});
  EXPECT_EQ(misspelt.status, kExitUsage);
  EXPECT_EQ(misspelt.err.rfind("vmplguard: analyze: unknown option '--allow-kprobe'", 0), 0u) << misspelt.err;
  EXPECT_TRUE(misspelt.out.empty());
}

TEST_F(CliTest, HelpAndVersion) {
  EXPECT_NE(run_cli({"--help"}).out.find("usage: vmplguard <command>"), std::string::npos);
  EXPECT_NE(run_cli({"analyze", "--help"}).out.find("--fail-on"), std::string::npos);
  EXPECT_NE(run_cli({"policy", "show", "--help"}).out.find("policy show FILE"), std::string::npos);
  EXPECT_NE(run_cli({"policy", "verify", "-h"}).out.find("--vmlinux"), std::string::npos);
  const Outcome version = run_cli({"--version"});
  EXPECT_EQ(version.status, kExitOk);
  EXPECT_EQ(version.out.rfind("vmplguard ", 0), 0u);
}

TEST_F(CliTest, ColorOnlyOnATerminalWithoutNoColor) {
  Terminal tty;
  tty.stdout_is_tty = true;
  EXPECT_NE(run_cli({"analyze", "vmlinux"}, tty).out.find('\x1b'), std::string::npos);
  Terminal no_color = tty;
  no_color.no_color = true;
  EXPECT_EQ(run_cli({"analyze", "vmlinux"}, no_color).out.find('\x1b'), std::string::npos);
  EXPECT_EQ(run_cli({"analyze", "vmlinux"}).out.find('\x1b'), std::string::npos);
  // A report written to a file never carries color.
  run_cli({"analyze", "vmlinux", "--output", path("r.txt")}, tty);
  EXPECT_EQ(slurp(path("r.txt")).find('\x1b'), std::string::npos);
}

TEST_F(CliTest, ProgressOnlyOnATerminalUnlessVerbose) {
  EXPECT_TRUE(run_cli({"analyze", "vmlinux"}).err.empty());
  Terminal tty;
  tty.stderr_is_tty = true;
  EXPECT_NE(run_cli({"analyze", "vmlinux"}, tty).err.find("privileged 100%"), std::string::npos);
  EXPECT_TRUE(run_cli({"analyze", "vmlinux", "--quiet"}, tty).err.empty());
  EXPECT_NE(run_cli({"analyze", "vmlinux", "--verbose"}).err.find("privileged     done in 0.500 s"),
            std::string::npos);
}

TEST_F(CliTest, JobsDefaultToTwoOnTwoCores) {
  Terminal two;
  two.hardware_threads = 2;
  run_cli({"analyze", "vmlinux"}, two);
  EXPECT_EQ(last_jobs_, 2u);
  run_cli({"analyze", "vmlinux", "-j", "1"}, two);
  EXPECT_EQ(last_jobs_, 1u);
  run_cli({"analyze", "vmlinux"}, Terminal{});
  EXPECT_EQ(last_jobs_, 1u);
}

TEST_F(CliTest, WritesPolicyAndJsonReportThatAgree) {
  const Outcome o =
      run_cli({"analyze", "vmlinux", "-o", path("p.vgpol"), "--format", "json", "--output", path("r.json")});
  ASSERT_EQ(o.status, kExitOk) << o.err;
  EXPECT_TRUE(o.out.empty());
  const auto report = nlohmann::json::parse(slurp(path("r.json")));
  EXPECT_EQ(report["policy"]["path"], path("p.vgpol"));
  EXPECT_EQ(report["policy"]["size"], slurp(path("p.vgpol")).size());

  const Outcome shown = run_cli({"policy", "show", path("p.vgpol"), "--format", "json"});
  ASSERT_EQ(shown.status, kExitOk) << shown.err;
  const auto policy = nlohmann::json::parse(shown.out);
  EXPECT_EQ(policy["sha256"], report["policy"]["sha256"]);
  EXPECT_EQ(policy["kernel_release"], "6.12.117+deb12-cloud-amd64");
  EXPECT_EQ(policy["privileged"], 7);
  EXPECT_EQ(policy["sites"], 3);
}

TEST_F(CliTest, PolicyShowText) {
  ASSERT_EQ(run_cli({"analyze", "vmlinux", "-o", path("p.vgpol"), "-q"}).status, kExitOk);
  const Outcome shown = run_cli({"policy", "show", path("p.vgpol")});
  EXPECT_EQ(shown.status, kExitOk);
  EXPECT_NE(shown.out.find("sys_call_table"), std::string::npos);
  EXPECT_NE(shown.out.find("ro_after_init"), std::string::npos);
  EXPECT_NE(shown.out.find("mov_cr0 1 (unintended)"), std::string::npos);
}

TEST_F(CliTest, PolicyVerifyChecksDigestAndKernel) {
  ASSERT_EQ(run_cli({"analyze", "vmlinux", "-o", path("p.vgpol")}).status, kExitOk);
  const Outcome ok = run_cli({"policy", "verify", path("p.vgpol"), "--vmlinux", "vmlinux"});
  EXPECT_EQ(ok.status, kExitOk) << ok.err;
  EXPECT_NE(ok.out.find(": ok: valid policy, sha256 "), std::string::npos);

  const Outcome other = run_cli({"policy", "verify", path("p.vgpol"), "--vmlinux", "other-kernel"});
  EXPECT_EQ(other.status, kExitFindings);
  EXPECT_NE(other.err.find(
                "does not match other-kernel: build id 3b9e017a55c0de42 in the policy, 010203 in the kernel"),
            std::string::npos);

  EXPECT_EQ(run_cli({"policy", "verify", path("p.vgpol"), "--vmlinux", "missing"}).status, kExitUsage);

  // One flipped byte anywhere breaks the digest.
  std::string bytes = slurp(path("p.vgpol"));
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  std::ofstream(path("bad.vgpol"), std::ios::binary) << bytes;
  const Outcome bad = run_cli({"policy", "verify", path("bad.vgpol")});
  EXPECT_EQ(bad.status, kExitUsage);
  EXPECT_EQ(bad.err.rfind("vmplguard: " + path("bad.vgpol") + ": not a valid policy: ", 0), 0u) << bad.err;
}

TEST_F(CliTest, PolicyCommandsRejectNonPolicies) {
  std::ofstream(path("empty"), std::ios::binary) << "";
  std::ofstream(path("text"), std::ios::binary) << std::string(300, 'x');
  for (const char* name : {"empty", "text"}) {
    const Outcome o = run_cli({"policy", "show", path(name)});
    EXPECT_EQ(o.status, kExitUsage);
    EXPECT_NE(o.err.find(": not a valid policy: "), std::string::npos) << o.err;
  }
  const Outcome dir = run_cli({"policy", "show", dir_});
  EXPECT_EQ(dir.status, kExitUsage);
  EXPECT_EQ(dir.err, "vmplguard: " + dir_ + ": not a regular file\n");
  const Outcome none = run_cli({"policy", "verify", path("none")});
  EXPECT_EQ(none.err, "vmplguard: " + path("none") + ": cannot open: No such file or directory\n");
}

TEST_F(CliTest, UnwritableOutputIsAnInputError) {
  const Outcome o = run_cli({"analyze", "vmlinux", "-o", path("no/such/dir/p.vgpol")});
  EXPECT_EQ(o.status, kExitUsage);
  EXPECT_EQ(o.err.rfind("vmplguard: " + path("no/such/dir/p.vgpol") + ": cannot create: ", 0), 0u) << o.err;
}

TEST_F(CliTest, ReportToADeviceIsWrittenInPlace) {
  // The benchmark sends reports to /dev/null: it must stay a device, not be
  // replaced by a renamed temporary file.
  ASSERT_EQ(run_cli({"analyze", "vmlinux", "--format", "json", "--output", "/dev/null"}).status, kExitOk);
  struct stat info {};
  ASSERT_EQ(::stat("/dev/null", &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
  const Outcome dir = run_cli({"analyze", "vmlinux", "--output", dir_});
  EXPECT_EQ(dir.status, kExitUsage);
  EXPECT_EQ(dir.err, "vmplguard: " + dir_ + ": is a directory\n");
}

}  // namespace
}  // namespace vg::cli
