// Which size to believe for a critical object, given what the symbol table,
// BTF and DWARF say. Kept apart from the readers so the rule is tested on its
// own and reads in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vg::analyzer {

struct SizeEvidence {
  uint64_t symbol_size = 0;            // st_size, 0 for assembly without .size
  std::optional<uint64_t> btf_size;    // from the VAR entry or the declared type
  std::optional<uint64_t> dwarf_size;  // from the DW_TAG_variable's type
  uint64_t room = 0;                   // bytes from the object to the end of its section
};

struct SizeChoice {
  uint64_t size = 0;
  std::string source;              // "BTF", "DWARF", "symbol" or "none"
  std::vector<std::string> notes;  // disagreements worth a line in the report
};

// BTF first, then DWARF, then the symbol size. A debug-info size is used only
// if it fits in the section and agrees with a non-zero symbol size: st_size
// is the compiler's own sizeof of the definition, while a BTF size may come
// from the table's declared type, which can be stale for a kernel, or from a
// damaged section. Disagreements are reported, never silently resolved.
SizeChoice choose_size(std::string_view name, const SizeEvidence& evidence);

}  // namespace vg::analyzer
