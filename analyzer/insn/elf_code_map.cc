#include "analyzer/insn/elf_code_map.h"

#include <elf.h>

#include <algorithm>
#include <string_view>

namespace vg::analyzer::insn {
namespace {

bool is_init_section(std::string_view name) {
  return name.starts_with(".init.");
}

// Symbols that name code: functions, and the untyped labels assembly code
// gets from SYM_CODE_START (entry_SYSCALL_64, pvh_start_xen's neighbours).
bool names_code(const Symbol& symbol) {
  return symbol.type == STT_FUNC || symbol.type == STT_NOTYPE;
}

}  // namespace

std::vector<CodeSection> code_sections(const ElfImage& image, const std::vector<FunctionInfo>& functions) {
  std::vector<CodeSection> sections;
  for (const Section& section : image.sections()) {
    if (section.type != SHT_PROGBITS || !section.allocated() || !section.executable()) continue;
    if (section.bytes.size == 0) continue;
    CodeSection code;
    code.name = section.name;
    code.address = section.address;
    code.bytes = section.bytes;
    code.init = is_init_section(section.name);
    code.replacement = section.name == kReplacementSection;
    code.restarts.push_back(0);
    for (const Symbol& symbol : image.symbols()) {
      if (names_code(symbol) && section.contains(symbol.value))
        code.restarts.push_back(symbol.value - section.address);
    }
    for (const FunctionInfo& function : functions) {
      if (section.contains(function.address)) code.restarts.push_back(function.address - section.address);
    }
    std::sort(code.restarts.begin(), code.restarts.end());
    code.restarts.erase(std::unique(code.restarts.begin(), code.restarts.end()), code.restarts.end());
    sections.push_back(std::move(code));
  }
  return sections;
}

}  // namespace vg::analyzer::insn
