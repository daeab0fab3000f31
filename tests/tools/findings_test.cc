// Which analyses produce which findings, and what --fail-on selects: the
// contract CI gating relies on.
#include "findings.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "synthetic_analysis.h"

namespace vg::cli {
namespace {

std::vector<std::string> rule_ids(const std::vector<Finding>& findings) {
  std::vector<std::string> ids;
  for (const Finding& finding : findings) ids.emplace_back(finding.rule->id);
  return ids;
}

TEST(Findings, EachRuleFiresOnlyForItsCase) {
  const auto findings = evaluate(testing::synthetic_analysis());
  EXPECT_EQ(rule_ids(findings),
            (std::vector<std::string>{"VG001", "VG002", "VG003", "VG004", "VG005", "VG007"}));
}

TEST(Findings, UnintendedCr0InUntrustedCodeIsAnErrorAtItsFunction) {
  const auto findings = evaluate(testing::synthetic_analysis());
  ASSERT_FALSE(findings.empty());
  const Finding& first = findings.front();
  EXPECT_STREQ(first.rule->id, "VG001");
  EXPECT_EQ(first.rule->severity, Severity::kError);
  EXPECT_EQ(first.function, "proc_map_files_readdir");
  EXPECT_EQ(first.function_offset, 0x1acu);
  EXPECT_EQ(first.address, testing::kTextVa + 0x4a2c);
  EXPECT_NE(first.message.find("mov cr0"), std::string::npos);
}

TEST(Findings, TrustedPrivilegedInstructionsAreNotFindings) {
  auto analysis = testing::synthetic_analysis();
  for (auto& site : analysis.privileged) site.trusted = true;
  const auto ids = rule_ids(evaluate(analysis));
  for (const char* rule : {"VG001", "VG002", "VG003", "VG005"}) {
    EXPECT_EQ(std::count(ids.begin(), ids.end(), rule), 0) << rule;
  }
}

TEST(Findings, UnintendedCr3AndCr4AreErrorsToo) {
  auto analysis = testing::synthetic_analysis();
  analysis.privileged[3].kind = policy::PrivilegedKind::kMovToCr4;
  analysis.privileged[4].kind = policy::PrivilegedKind::kMovToCr3;
  const auto counts = count(evaluate(analysis));
  EXPECT_EQ(counts.errors, 2u);
}

TEST(Findings, ObjectWithoutSizeIsAWarning) {
  auto analysis = testing::synthetic_analysis();
  analysis.objects[1].size = 0;
  const auto ids = rule_ids(evaluate(analysis));
  EXPECT_NE(std::find(ids.begin(), ids.end(), "VG006"), ids.end());
}

TEST(Findings, WritableExecutableRegionIsAnError) {
  auto analysis = testing::synthetic_analysis();
  analysis.regions[3].perms_final |= policy::kPermSupervisorExec;
  const auto findings = evaluate(analysis);
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [](const Finding& f) { return std::string(f.rule->id) == "VG008"; });
  ASSERT_NE(it, findings.end());
  EXPECT_EQ(it->rule->severity, Severity::kError);
  EXPECT_NE(it->message.find(".data"), std::string::npos);
}

TEST(Findings, CleanAnalysisHasNoFindings) {
  auto analysis = testing::synthetic_analysis();
  analysis.privileged.clear();
  analysis.objects.resize(2);
  analysis.site_tables[0].skipped = 0;
  EXPECT_TRUE(evaluate(analysis).empty());
}

TEST(Findings, RuleIdsAreUniqueAndDocumented) {
  std::vector<std::string> ids;
  for (const Rule& rule : rules()) {
    ids.emplace_back(rule.id);
    EXPECT_GT(std::string(rule.description).size(), 40u) << rule.id;
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

TEST(FailOn, SeverityThresholdSelectsThatLevelAndAbove) {
  const auto findings = evaluate(testing::synthetic_analysis());
  auto error = FailOn::parse("error");
  ASSERT_TRUE(error.ok());
  EXPECT_TRUE(error->any(findings));
  auto warning = FailOn::parse("warning");
  ASSERT_TRUE(warning.ok());
  size_t selected = 0;
  for (const Finding& f : findings) selected += warning->selects(f) ? 1u : 0u;
  EXPECT_EQ(selected, 3u);  // VG001 error, VG002 and VG003 warnings
}

TEST(FailOn, RuleListSelectsOnlyThoseRules) {
  auto only_absent = FailOn::parse("VG004,VG008");
  ASSERT_TRUE(only_absent.ok());
  const auto findings = evaluate(testing::synthetic_analysis());
  for (const Finding& f : findings) EXPECT_EQ(only_absent->selects(f), std::string(f.rule->id) == "VG004");
}

TEST(FailOn, DefaultSelectsNothing) {
  EXPECT_FALSE(FailOn().any(evaluate(testing::synthetic_analysis())));
}

TEST(FailOn, RejectsUnknownWords) {
  auto bad = FailOn::parse("VG001,VG999");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("'VG999'"), std::string::npos);
  EXPECT_FALSE(FailOn::parse("errors").ok());
  EXPECT_FALSE(FailOn::parse("").ok());
  EXPECT_FALSE(FailOn::parse("VG001,").ok());
}

}  // namespace
}  // namespace vg::cli
