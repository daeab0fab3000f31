// The three report formats, byte for byte, for the synthetic analysis: any
// change of a report is visible as a golden-file diff in review.
#include <gtest/gtest.h>

#include "golden.h"
#include "report.h"
#include "synthetic_analysis.h"

namespace vg::cli {
namespace {

constexpr const char* kHeader =
    "# Made by tests/tools/report_golden_test.cc from synthetic_analysis.h (tool version 0.1.0-test,\n"
    "# policy summary below). Regenerate: VMPLGUARD_UPDATE_GOLDEN=1 ./vmplguard_cli_tests, review the "
    "diff.\n";

struct Fixture {
  analyzer::Analysis analysis = testing::synthetic_analysis();
  std::vector<Finding> findings = evaluate(analysis);
  ReportInput input() const {
    ReportInput in;
    in.analysis = &analysis;
    in.findings = &findings;
    in.tool_version = "0.1.0-test";
    in.policy = PolicySummary{"out/vmlinux.vgpol", std::string(64, 'a'), 4096};
    return in;
  }
};

TEST(ReportGolden, Text) {
  Fixture f;
  testing::expect_golden("report.txt", kHeader, render_text(f.input(), TextOptions{}));
}

TEST(ReportGolden, TextQuietShowsFindingsOnly) {
  Fixture f;
  testing::expect_golden("report-quiet.txt", kHeader,
                         render_text(f.input(), TextOptions{false, true, false}));
}

TEST(ReportGolden, Json) {
  Fixture f;
  testing::expect_golden("report.json", kHeader, render_json(f.input()));
}

TEST(ReportGolden, Sarif) {
  Fixture f;
  testing::expect_golden("report.sarif", kHeader, render_sarif(f.input()));
}

TEST(ReportText, ColorOnlyWhenAsked) {
  Fixture f;
  const std::string plain = render_text(f.input(), TextOptions{});
  const std::string colored = render_text(f.input(), TextOptions{true, false, false});
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_NE(colored.find("\x1b[31merror\x1b[0m"), std::string::npos);
}

TEST(ReportText, TimingsOnlyWhenVerbose) {
  Fixture f;
  EXPECT_EQ(render_text(f.input(), TextOptions{}).find("Stage timings"), std::string::npos);
  EXPECT_NE(render_text(f.input(), TextOptions{false, false, true}).find("Stage timings"), std::string::npos);
}

}  // namespace
}  // namespace vg::cli
