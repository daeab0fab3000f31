// Sizes of kernel variables from DWARF (libdw), the fallback when a vmlinux
// has no usable .BTF section.
//
// Only the top-level DIEs of each compilation unit are read (file-scope
// variables live there); the scan stops as soon as every query has found a
// definition at its address (statics in different files share names). It never descends into functions or
// types, which is what makes a full libdw walk of a vmlinux cost seconds and hundreds of megabytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

struct Elf;  // libelf

namespace vg::analyzer {

struct DwarfVariable {
  uint64_t size = 0;
  // A definition carries a location; a declaration (`extern struct x y;`)
  // still has a type, which sizes objects defined in assembly.
  bool definition = false;
  std::optional<uint64_t> address;  // DW_OP_addr of the definition, if it has one
};

struct DwarfQuery {
  std::string_view name;
  uint64_t address = 0;  // the symbol's value: picks the right one of same-named statics
};

struct DwarfScan {
  std::map<std::string, std::vector<DwarfVariable>, std::less<>> variables;
  uint64_t units = 0;  // compilation units read
};

// `elf` is borrowed. An ELF without DWARF gives an empty scan; DWARF that
// libdw refuses gives an error message.
// Every top-level variable DIE (definition or declaration) named by a query
// is returned, with its size when its type is complete.
Result<DwarfScan, std::string> scan_dwarf_variables(Elf* elf, std::span<const DwarfQuery> queries);

}  // namespace vg::analyzer
