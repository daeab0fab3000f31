// Golden-file comparison for report tests. A golden file starts with lines
// beginning with "#" that say how it was made; they are not part of the
// expected output. VMPLGUARD_UPDATE_GOLDEN=1 rewrites the files (keeping the
// header): review the diff before committing it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace vg::cli::testing {

inline std::string golden_path(const std::string& name) {
  return std::string(VG_TOOLS_TEST_DIR) + "/golden/" + name;
}

inline void expect_golden(const std::string& name, const std::string& header, const std::string& actual) {
  const std::string path = golden_path(name);
  const char* update = std::getenv("VMPLGUARD_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << header << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << " (VMPLGUARD_UPDATE_GOLDEN=1 creates it)";
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string expected = buffer.str();
  while (!expected.empty() && expected[0] == '#') expected.erase(0, expected.find('\n') + 1);
  EXPECT_EQ(actual, expected) << "report differs from " << path;
}

}  // namespace vg::cli::testing
