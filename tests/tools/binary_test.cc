// End to end: the real vmplguard binary on a miniature kernel assembled at
// build time (fixtures/mini_kernel.S), as CI would call it. Proves the
// pipeline's stages connect, the gadget in hides_cr0 becomes VG001 at the
// right function+offset, --fail-on gates, the written policy verifies against
// its kernel, and bad input gets one line and exit 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "policy/format.h"
#include "policy/reader.h"

namespace {

struct CliRun {
  int status = -1;
  std::string out;  // standard output and error together
};

CliRun vmplguard(const std::string& args) {
  const std::string command = std::string(VG_VMPLGUARD_BINARY) + " " + args + " 2>&1";
  CliRun result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const std::string kKernel = VG_MINI_KERNEL;
const std::string kOut = std::string(VG_TEST_OUT_DIR);

TEST(VmplguardBinary, FindsTheHiddenCr0WriteAndWritesAVerifiablePolicy) {
  const std::string policy = kOut + "/mini.vgpol";
  const std::string report = kOut + "/mini.json";
  const CliRun analyze =
      vmplguard("analyze " + kKernel + " -o " + policy + " --format json --output " + report);
  ASSERT_EQ(analyze.status, 0) << analyze.out;
  const auto json = nlohmann::json::parse(slurp(report));
  EXPECT_EQ(json["schema_version"], 1);
  EXPECT_EQ(json["kernel"]["text_va"], "0xffffffff81000000");
  EXPECT_EQ(json["kernel"]["build_id"].get<std::string>().size(), 40u);  // --build-id=sha1
  bool found = false;
  for (const auto& finding : json["findings"]) {
    if (finding["rule"] == "VG001") {
      EXPECT_EQ(finding["function"], "hides_cr0");
      EXPECT_EQ(finding["function_offset"], "0x1");
      EXPECT_EQ(finding["address"], "0xffffffff81000005");
      found = true;
    }
  }
  EXPECT_TRUE(found) << slurp(report);
  // The real CR4 write is the kernel's own: not a finding.
  for (const auto& finding : json["findings"]) EXPECT_NE(finding["function"], "write_cr4_trusted");

  const CliRun verify = vmplguard("policy verify " + policy + " --vmlinux " + kKernel);
  EXPECT_EQ(verify.status, 0) << verify.out;
  EXPECT_NE(verify.out.find("matches"), std::string::npos);
  EXPECT_NE(verify.out.find(json["policy"]["sha256"].get<std::string>()), std::string::npos);
}

TEST(VmplguardBinary, FailOnErrorGates) {
  EXPECT_EQ(vmplguard("analyze " + kKernel + " --quiet --fail-on error").status, 1);
  EXPECT_EQ(vmplguard("analyze " + kKernel + " --quiet --fail-on VG008").status, 0);
}

TEST(VmplguardBinary, SarifAndTextReports) {
  const CliRun sarif = vmplguard("analyze " + kKernel + " --format sarif --jobs 1");
  ASSERT_EQ(sarif.status, 0) << sarif.out;
  const auto json = nlohmann::json::parse(sarif.out);
  EXPECT_EQ(json["version"], "2.1.0");
  const CliRun text = vmplguard("analyze " + kKernel + " --verbose");
  EXPECT_NE(text.out.find("hides_cr0+0x1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("privileged"), std::string::npos);
  EXPECT_NE(text.out.find("Stage timings"), std::string::npos);
}

TEST(VmplguardBinary, BadInputIsOneLineAndExitTwo) {
  const std::string junk = kOut + "/junk";
  std::ofstream(junk) << "not an ELF file\n";
  const CliRun run = vmplguard("analyze " + junk);
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out.rfind("vmplguard: " + junk + ": ", 0), 0u) << run.out;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 1) << run.out;

  const CliRun missing = vmplguard("analyze " + kOut + "/does-not-exist");
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.out.rfind("vmplguard: " + kOut + "/does-not-exist: ", 0), 0u) << missing.out;

  const CliRun verify = vmplguard("policy verify " + junk);
  EXPECT_EQ(verify.status, 2);
  EXPECT_NE(verify.out.find("not a valid policy"), std::string::npos);
}

// --allow-kprobes lands in the written policy's header as
// kFlagKprobesAllowed (KCI reads nothing else to allow kprobe steps), and
// only with the option.
TEST(VmplguardBinary, AllowKprobesSetsThePolicyFlag) {
  const std::string with = kOut + "/kprobes.vgpol";
  const std::string without = kOut + "/no-kprobes.vgpol";
  const CliRun allowed = vmplguard("analyze " + kKernel + " -q --allow-kprobes -o " + with);
  ASSERT_EQ(allowed.status, 0) << allowed.out;
  const CliRun plain = vmplguard("analyze " + kKernel + " -q -o " + without);
  ASSERT_EQ(plain.status, 0) << plain.out;

  const std::string with_bytes = slurp(with);
  const std::string without_bytes = slurp(without);
  auto with_policy = vg::policy::PolicyView::parse(
      vg::ByteView{reinterpret_cast<const uint8_t*>(with_bytes.data()), with_bytes.size()});
  auto without_policy = vg::policy::PolicyView::parse(
      vg::ByteView{reinterpret_cast<const uint8_t*>(without_bytes.data()), without_bytes.size()});
  ASSERT_TRUE(with_policy.ok());
  ASSERT_TRUE(without_policy.ok());
  EXPECT_NE(with_policy.value().header().flags & vg::policy::kFlagKprobesAllowed, 0u);
  EXPECT_EQ(with_policy.value().header().flags & vg::policy::kFlagBpfJitAllowed, 0u);
  EXPECT_EQ(without_policy.value().header().flags & vg::policy::kFlagKprobesAllowed, 0u);

  // What a user sees of it.
  const CliRun shown = vmplguard("policy show " + with);
  EXPECT_NE(shown.out.find("kprobes_allowed"), std::string::npos) << shown.out;
  EXPECT_EQ(vmplguard("policy show " + without).out.find("kprobes_allowed"), std::string::npos);

  const CliRun misspelt = vmplguard("analyze " + kKernel + " --allow-kprobe");
  EXPECT_EQ(misspelt.status, 2);
  EXPECT_NE(misspelt.out.find("unknown option '--allow-kprobe'"), std::string::npos) << misspelt.out;
}

}  // namespace
