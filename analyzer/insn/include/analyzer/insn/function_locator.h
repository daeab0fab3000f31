// Finds the function that holds an address: first among the analysis'
// functions (symbols with a size), then, for assembly code whose labels carry
// no size, the closest code symbol before it in the same section.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "analyzer/elf_image.h"
#include "analyzer/model.h"

namespace vg::analyzer::insn {

struct Located {
  std::string_view name;  // "" when no symbol precedes the address in its section
  uint64_t start = 0;
  const FunctionInfo* function = nullptr;  // set when a sized function holds the address
};

class FunctionLocator {
 public:
  // `functions` must be sorted by address and outlive the locator.
  FunctionLocator(const ElfImage& image, const std::vector<FunctionInfo>& functions);
  Located locate(uint64_t address) const;

 private:
  const ElfImage& image_;
  const std::vector<FunctionInfo>& functions_;
};

}  // namespace vg::analyzer::insn
