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

}  // namespace
