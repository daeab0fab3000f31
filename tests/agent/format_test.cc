// Output formats: golden records for the native schema, OCSF and syslog,
// and escaping of every guest-supplied string.
//
// The golden files under golden/ were made by running this test with
// VG_UPDATE_GOLDEN=1 and checked by hand against docs/agent-schema.md, the
// OCSF 1.1 Detection Finding class and RFC 5424.
#include "agent/format.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "agent/escape.h"
#include "agent_fixture.h"

#ifndef VG_AGENT_GOLDEN_DIR
#error "VG_AGENT_GOLDEN_DIR must name tests/agent/golden"
#endif

namespace vg::agent {
namespace {

using namespace testing;

FormatContext fixed_context() {
  FormatContext context;
  context.hostname = "cvm-7";
  context.kernel_release = "6.12.117+deb12-cloud-amd64";
  context.build_id_hex = "7f76f39f";
  context.policy_digest_hex = "5c05e14a";
  context.kaslr_offset = kSlide;
  context.boot_to_realtime_ns = 1'795'000'000'000'000'000;  // 2026-11-18T...
  context.agent_pid = 4242;
  return context;
}

// The attack the test bed stages: a raw write outside any site by a module,
// with a hostile task name.
Finding attack_finding(Agent& agent) {
  agent.classifier.classify(
      module_load("vg_attack", 0xffffffffc0400000ull, 0x1000, 0xffffffffc0500000ull, 0x1000));
  Event event = text_poke(at(0x310), {0x89, 0xf5, 0x41, 0x54}, {at(0x601), 0xffffffffc0500118ull, at(0x805)});
  const char comm[] = "in\"s\nmod\x1b[31m";
  event.comm_length = sizeof(comm) - 1;
  std::memcpy(event.comm.data(), comm, event.comm_length);
  Finding finding = agent.classifier.classify(event);
  finding.sequence = 42;
  return finding;
}

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(VG_AGENT_GOLDEN_DIR) + "/" + name;
  if (std::getenv("VG_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual << "\n";
  }
  std::ifstream file(path);
  ASSERT_TRUE(file.good()) << path;
  std::stringstream expected;
  expected << file.rdbuf();
  EXPECT_EQ(actual + "\n", expected.str()) << "golden " << path;
}

TEST(Format, NativeRecordMatchesGolden) {
  Agent agent;
  std::string out;
  format_native(out, attack_finding(agent), fixed_context());
  expect_golden("attack.native.json", out);
}

TEST(Format, OcsfDetectionFindingMatchesGolden) {
  Agent agent;
  std::string out;
  format_ocsf(out, attack_finding(agent), fixed_context());
  expect_golden("attack.ocsf.json", out);
  // The fields a SIEM keys on.
  EXPECT_NE(out.find("\"class_uid\":2004,"), std::string::npos);
  EXPECT_NE(out.find("\"type_uid\":200401,"), std::string::npos);
  EXPECT_NE(out.find("\"severity_id\":4,"), std::string::npos);
  EXPECT_NE(out.find("\"technique\":{\"name\":\"Rootkit\",\"uid\":\"T1014\"}"), std::string::npos);
}

TEST(Format, SyslogMessageMatchesGolden) {
  Agent agent;
  std::string out;
  format_syslog(out, attack_finding(agent), fixed_context());
  expect_golden("attack.syslog.txt", out);
  // <PRI> = authpriv(10) * 8 + critical(2); VERSION 1.
  EXPECT_EQ(out.rfind("<82>1 ", 0), 0u);
}

TEST(Format, AllowedPatchHasNoAttackAndLowSeverity) {
  Agent agent;
  Finding finding = agent.classifier.classify(text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00}));
  std::string ocsf;
  format_ocsf(ocsf, finding, fixed_context());
  EXPECT_EQ(ocsf.find("\"attacks\""), std::string::npos);
  EXPECT_NE(ocsf.find("\"severity_id\":1,"), std::string::npos);
  std::string native;
  format_native(native, finding, fixed_context());
  expect_golden("jump_label.native.json", native);
}

TEST(Format, NoRecordContainsRawControlCharacters) {
  Agent agent;
  const Finding finding = attack_finding(agent);
  for (Format format : {Format::kNative, Format::kOcsf, Format::kSyslog}) {
    std::string out;
    format_finding(format, out, finding, fixed_context());
    for (char c : out) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "format " << static_cast<int>(format) << " byte " << int(c);
    }
  }
}

TEST(Escape, JsonEscapesQuotesBackslashesAndEveryNonPrintableByte) {
  std::string out;
  const char input[] = "a\"b\\c\n\x01\x7f\xc3\xa9";
  append_json_escaped(out, input, sizeof(input) - 1);
  EXPECT_EQ(out, "a\\\"b\\\\c\\u000a\\u0001\\u007f\\u00c3\\u00a9");
}

TEST(Escape, SyslogStructuredDataEscapesClosingBracket) {
  std::string out;
  const char input[] = "x]\"\\\ty";
  append_sd_escaped(out, input, sizeof(input) - 1);
  EXPECT_EQ(out, "x\\]\\\"\\\\\\x09y");
  std::string text;
  append_text_escaped(text, "a\\b\r", 4);
  EXPECT_EQ(text, "a\\\\b\\x0d");
}

TEST(Escape, NumbersAndBytes) {
  std::string out;
  append_hex_u64(out, 0);
  out.push_back(' ');
  append_hex_u64(out, 0xffffffff9a200000ull);
  out.push_back(' ');
  append_u64(out, 18446744073709551615ull);
  out.push_back(' ');
  const uint8_t bytes[] = {0x0f, 0xa0};
  append_hex_bytes(out, bytes, 2);
  EXPECT_EQ(out, "0x0 0xffffffff9a200000 18446744073709551615 0fa0");
}

}  // namespace
}  // namespace vg::agent
