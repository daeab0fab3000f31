#include "analyzer/insn/function_locator.h"

#include <elf.h>

#include <algorithm>

namespace vg::analyzer::insn {

FunctionLocator::FunctionLocator(const ElfImage& image, const std::vector<FunctionInfo>& functions)
    : image_(image), functions_(functions) {}

Located FunctionLocator::locate(uint64_t address) const {
  Located located;
  auto after = std::upper_bound(functions_.begin(), functions_.end(), address,
                                [](uint64_t value, const FunctionInfo& f) { return value < f.address; });
  // Functions may nest (aliases, a .cold part inside another's range): walk
  // back over the few that start at or before the address.
  for (auto it = after; it != functions_.begin();) {
    --it;
    if (address - it->address < it->size) {
      located.name = it->name;
      located.start = it->address;
      located.function = &*it;
      return located;
    }
    if (after - it > 8) break;
  }
  const Section* section = image_.section_at(address);
  const std::vector<Symbol>& symbols = image_.symbols();
  auto symbol_after = std::upper_bound(symbols.begin(), symbols.end(), address,
                                       [](uint64_t value, const Symbol& s) { return value < s.value; });
  while (symbol_after != symbols.begin()) {
    --symbol_after;
    if (section == nullptr || !section->contains(symbol_after->value)) break;
    if (symbol_after->type == STT_FUNC || symbol_after->type == STT_NOTYPE) {
      located.name = symbol_after->name;
      located.start = symbol_after->value;
      return located;
    }
  }
  return located;
}

}  // namespace vg::analyzer::insn
