// The JSON and SARIF reports parse as JSON and hold the structure their
// consumers read: the documented keys of docs/report-json.md, and the parts of
// SARIF 2.1.0 that code-scanning services require.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "report.h"
#include "synthetic_analysis.h"

namespace vg::cli {
namespace {

using nlohmann::json;

struct Reports {
  analyzer::Analysis analysis = testing::synthetic_analysis();
  std::vector<Finding> findings = evaluate(analysis);
  ReportInput input() const {
    ReportInput in;
    in.analysis = &analysis;
    in.findings = &findings;
    in.tool_version = "9.9.9";
    return in;
  }
};

TEST(JsonReport, HasTheDocumentedTopLevelKeysInOrder) {
  Reports r;
  const json report = json::parse(render_json(r.input()));
  std::vector<std::string> keys;
  for (auto it = report.begin(); it != report.end(); ++it) keys.push_back(it.key());
  // nlohmann sorts object keys; the set is what is documented.
  const std::set<std::string> expected{"schema_version", "tool",       "kernel",  "policy",  "regions",
                                       "sites",          "privileged", "objects", "trusted", "summary",
                                       "findings",       "notes",      "timings"};
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), expected);
  EXPECT_EQ(report["schema_version"], kReportSchemaVersion);
  EXPECT_TRUE(report["policy"].is_null());
}

TEST(JsonReport, AddressesAreHexStringsAndCountsAgree) {
  Reports r;
  const json report = json::parse(render_json(r.input()));
  EXPECT_EQ(report["kernel"]["text_va"], "0xffffffff81000000");
  EXPECT_EQ(report["kernel"]["build_id"], "3b9e017a55c0de42");
  EXPECT_EQ(report["privileged"]["total"], r.analysis.privileged.size());
  EXPECT_EQ(report["privileged"]["instructions"].size(), r.analysis.privileged.size());
  EXPECT_EQ(report["findings"].size(), r.findings.size());
  EXPECT_EQ(report["summary"]["errors"], 1);
  EXPECT_EQ(report["sites"]["by_kind"]["return"], 1);
  EXPECT_EQ(report["sites"]["by_kind"]["alternative"], 1);
  const json& first = report["findings"][0];
  EXPECT_EQ(first["rule"], "VG001");
  EXPECT_EQ(first["severity"], "error");
  EXPECT_EQ(first["address"], "0xffffffff81004a2c");
  EXPECT_EQ(first["function"], "proc_map_files_readdir");
  EXPECT_EQ(first["function_offset"], "0x1ac");
  // An absent object has no address, not a zero one.
  EXPECT_TRUE(report["objects"][2]["address"].is_null());
}

TEST(JsonReport, EscapesHostileStrings) {
  Reports r;
  r.analysis.kernel.path = "a\"b\\c\n\x01";
  const json report = json::parse(render_json(r.input()));
  EXPECT_EQ(report["kernel"]["path"], "a\"b\\c\n\x01");
}

TEST(SarifReport, IsStructurallyValidSarif210) {
  Reports r;
  const json sarif = json::parse(render_sarif(r.input()));
  EXPECT_EQ(sarif["version"], "2.1.0");
  EXPECT_TRUE(sarif["$schema"].get<std::string>().find("sarif-2.1.0") != std::string::npos);
  ASSERT_EQ(sarif["runs"].size(), 1u);
  const json& run = sarif["runs"][0];
  const json& driver = run["tool"]["driver"];
  EXPECT_EQ(driver["name"], "vmplguard");
  std::set<std::string> rule_ids;
  for (const json& rule : driver["rules"]) {
    EXPECT_TRUE(rule_ids.insert(rule["id"].get<std::string>()).second);
    EXPECT_FALSE(rule["shortDescription"]["text"].get<std::string>().empty());
    EXPECT_FALSE(rule["fullDescription"]["text"].get<std::string>().empty());
    const std::string level = rule["defaultConfiguration"]["level"];
    EXPECT_TRUE(level == "error" || level == "warning" || level == "note");
  }
  ASSERT_EQ(run["results"].size(), r.findings.size());
  for (const json& result : run["results"]) {
    const size_t index = result["ruleIndex"];
    ASSERT_LT(index, driver["rules"].size());
    EXPECT_EQ(result["ruleId"], driver["rules"][index]["id"]);
    EXPECT_FALSE(result["message"]["text"].get<std::string>().empty());
    ASSERT_EQ(result["locations"].size(), 1u);
    EXPECT_EQ(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "/boot/vmlinux-test");
  }
}

TEST(SarifReport, LocationsCarryFunctionOffsetAndTextRelativeAddress) {
  Reports r;
  const json sarif = json::parse(render_sarif(r.input()));
  const json& first = sarif["runs"][0]["results"][0];
  EXPECT_EQ(first["ruleId"], "VG001");
  EXPECT_EQ(first["level"], "error");
  const json& address = first["locations"][0]["physicalLocation"]["address"];
  EXPECT_EQ(address["relativeAddress"], 0x4a2c);
  EXPECT_EQ(address["fullyQualifiedName"], "proc_map_files_readdir+0x1ac");
  EXPECT_EQ(first["locations"][0]["logicalLocations"][0]["name"], "proc_map_files_readdir");
  EXPECT_EQ(first["properties"]["address"], "0xffffffff81004a2c");
}

}  // namespace
}  // namespace vg::cli
