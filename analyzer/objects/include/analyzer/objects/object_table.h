// The critical data objects of a Linux x86-64 guest kernel: which ones the
// monitor protects and how. The rows live in object_table.cc; the reasoning
// for each protection class is in docs/critical-objects.md (keep them in step).
#pragma once

#include <span>
#include <string_view>

#include "policy/format.h"

namespace vg::analyzer {

struct CriticalObjectSpec {
  std::string_view name;  // the kernel symbol
  // One sentence: what an attacker who can write the object gains.
  std::string_view why;
  policy::Protection protection;
  // The type the kernel declares the object with, spelled as BTF and DWARF
  // spell it ("struct cred", "long unsigned int"), or empty. vmlinux BTF holds
  // VAR entries only for per-CPU variables, so this is how BTF sizes the rest;
  // arrays whose bound is not part of the type name are left empty.
  std::string_view declared_type;
};

// Every row, in a stable order (the report order). Names are unique.
std::span<const CriticalObjectSpec> critical_object_table();

// The row for `name`, or nullptr.
const CriticalObjectSpec* find_critical_object(std::string_view name);

std::string_view protection_name(policy::Protection protection);

}  // namespace vg::analyzer
