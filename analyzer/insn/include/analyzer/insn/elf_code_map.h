// Builds the CodeSection list of an ElfImage: every allocated, executable
// PROGBITS section, restarting the sweep at every function and code symbol.
#pragma once

#include <vector>

#include "analyzer/elf_image.h"
#include "analyzer/insn/code_map.h"
#include "analyzer/model.h"

namespace vg::analyzer::insn {

// Names of the sections whose code the kernel copies elsewhere at boot.
inline constexpr const char* kReplacementSection = ".altinstr_replacement";

std::vector<CodeSection> code_sections(const ElfImage& image, const std::vector<FunctionInfo>& functions);

}  // namespace vg::analyzer::insn
