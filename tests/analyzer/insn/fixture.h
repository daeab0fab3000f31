// Loads the assembled fixture kernels and runs the stages on them.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "analyzer/elf_image.h"
#include "analyzer/model.h"
#include "analyzer/stages.h"

namespace vg::analyzer::insn::testing {

inline std::string fixture_path(const std::string& name) {
  return std::string(VG_INSN_FIXTURE_DIR) + "/" + name;
}

inline std::unique_ptr<ElfImage> open_fixture(const std::string& name) {
  auto image = ElfImage::open(fixture_path(name));
  EXPECT_TRUE(image.ok()) << (image.ok() ? "" : image.error().to_string());
  if (!image.ok()) return nullptr;
  return std::move(*image);
}

// The address of a k_* label (or a function) of the fixture.
inline uint64_t address_of(const ElfImage& image, const std::string& name) {
  const auto address = image.symbol_address(name);
  EXPECT_TRUE(address.has_value()) << name;
  return address.value_or(0);
}

inline const PrivilegedSite* site_at(const Analysis& analysis, uint64_t address,
                                     policy::PrivilegedKind kind) {
  for (const PrivilegedSite& site : analysis.privileged) {
    if (site.address == address && site.kind == kind) return &site;
  }
  return nullptr;
}

inline const FunctionInfo* function_named(const Analysis& analysis, const std::string& name) {
  for (const FunctionInfo& function : analysis.functions) {
    if (function.name == name) return &function;
  }
  return nullptr;
}

}  // namespace vg::analyzer::insn::testing
