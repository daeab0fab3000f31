#include "analyzer/objects/dwarf_sizes.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include <memory>
#include <set>

namespace vg::analyzer {
namespace {

struct DwarfDeleter {
  void operator()(Dwarf* dwarf) const { dwarf_end(dwarf); }
};

// The address of a definition whose location is a single DW_OP_addr.
std::optional<uint64_t> static_address(Dwarf_Die* die) {
  Dwarf_Attribute attribute;
  if (dwarf_attr(die, DW_AT_location, &attribute) == nullptr) return std::nullopt;
  Dwarf_Op* ops = nullptr;
  size_t count = 0;
  if (dwarf_getlocation(&attribute, &ops, &count) != 0 || count != 1) return std::nullopt;
  if (ops[0].atom != DW_OP_addr) return std::nullopt;
  return ops[0].number;
}

std::optional<uint64_t> variable_size(Dwarf_Die* die) {
  Dwarf_Attribute attribute;
  Dwarf_Die type;
  // dwarf_attr_integrate follows DW_AT_specification/abstract_origin, so a
  // definition that only points at its declaration still finds the type.
  if (dwarf_attr_integrate(die, DW_AT_type, &attribute) == nullptr) return std::nullopt;
  if (dwarf_formref_die(&attribute, &type) == nullptr) return std::nullopt;
  Dwarf_Word size = 0;
  // Fails for incomplete types (`extern int table[];`), which is the answer.
  if (dwarf_aggregate_size(&type, &size) != 0 || size == 0) return std::nullopt;
  return size;
}

// libdw does not export its "no DWARF" error code; ask the section table.
bool has_debug_info(Elf* elf) {
  size_t names = 0;
  if (elf_getshdrstrndx(elf, &names) != 0) return false;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr header;
    if (gelf_getshdr(scn, &header) == nullptr) continue;
    const char* name = elf_strptr(elf, names, header.sh_name);
    if (name != nullptr && std::string_view(name) == ".debug_info") return true;
  }
  return false;
}

}  // namespace

Result<DwarfScan, std::string> scan_dwarf_variables(Elf* elf, std::span<const DwarfQuery> queries) {
  DwarfScan scan;
  if (elf == nullptr || !has_debug_info(elf)) return scan;
  std::unique_ptr<Dwarf, DwarfDeleter> dwarf(dwarf_begin_elf(elf, DWARF_C_READ, nullptr));
  if (!dwarf) return Err{std::string("unreadable DWARF (libdw: ") + dwarf_errmsg(-1) + ")"};

  std::map<std::string_view, uint64_t, std::less<>> wanted;  // name -> address
  for (const DwarfQuery& query : queries) wanted.emplace(query.name, query.address);
  std::set<std::string_view, std::less<>> defined;

  Dwarf_Off offset = 0;
  Dwarf_Off next = 0;
  size_t header_size = 0;
  while (defined.size() < wanted.size()) {
    int status = dwarf_nextcu(dwarf.get(), offset, &next, &header_size, nullptr, nullptr, nullptr);
    if (status > 0) break;  // past the last unit
    if (status < 0) {
      return Err{std::string("unreadable DWARF unit at .debug_info+") + std::to_string(offset) +
                 " (libdw: " + dwarf_errmsg(-1) + ")"};
    }
    Dwarf_Die unit;
    Dwarf_Off unit_start = offset;
    offset = next;
    ++scan.units;
    // A unit whose header libdw cannot use (unknown version, bad abbrev
    // offset) hides its variables: say so instead of skipping it silently.
    if (dwarf_offdie(dwarf.get(), unit_start + header_size, &unit) == nullptr) {
      return Err{std::string("unreadable DWARF unit at .debug_info+") + std::to_string(unit_start) +
                 " (libdw: " + dwarf_errmsg(-1) + ")"};
    }
    Dwarf_Die child;
    if (dwarf_child(&unit, &child) != 0) continue;
    do {
      if (dwarf_tag(&child) != DW_TAG_variable) continue;
      const char* name = dwarf_diename(&child);
      if (name == nullptr) continue;
      auto match = wanted.find(std::string_view(name));
      if (match == wanted.end()) continue;
      std::string_view wanted_name = match->first;
      std::optional<uint64_t> size = variable_size(&child);
      if (!size) continue;
      DwarfVariable variable;
      variable.size = *size;
      variable.definition = !dwarf_hasattr(&child, DW_AT_declaration);
      if (variable.definition) {
        variable.address = static_address(&child);
        if (variable.address == match->second) defined.insert(wanted_name);
      }
      auto [entry, inserted] = scan.variables.try_emplace(std::string(wanted_name));
      entry->second.push_back(variable);
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  return scan;
}

}  // namespace vg::analyzer
