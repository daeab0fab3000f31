#include "analyzer/site_tables.h"

#include <elf.h>

#include <cstdio>

namespace vg::analyzer {

std::string hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

Result<std::optional<Table>, Diagnostic> find_table(const ElfImage& image, const TableSpec& spec) {
  const auto start = image.symbol_address(spec.start_symbol);
  const auto stop = image.symbol_address(spec.stop_symbol);
  Table table;
  table.name = std::string(spec.name);
  if (start && stop) {
    if (*stop < *start) {
      return Err{image.error(table.name + ": bounds " + std::string(spec.start_symbol) + " " + hex(*start) +
                             " and " + std::string(spec.stop_symbol) + " " + hex(*stop) + " are reversed")};
    }
    table.address = *start;
    if (*stop == *start) return std::optional<Table>(table);
    auto bytes = image.bytes_at(*start, *stop - *start);
    if (!bytes.ok()) {
      return Err{image.error(table.name + ": bounds " + hex(*start) + ".." + hex(*stop) +
                             " are not inside one section with file bytes")};
    }
    table.bytes = bytes.value();
    return std::optional<Table>(table);
  }
  if (!spec.section.empty()) {
    const Section* section = image.section(spec.section);
    if (section != nullptr && section->type == SHT_PROGBITS) {
      table.address = section->address;
      table.bytes = section->bytes;
      return std::optional<Table>(table);
    }
  }
  return std::optional<Table>();
}

Result<uint64_t, Diagnostic> entry_count(const ElfImage& image, const Table& table, uint64_t entry_size) {
  if (table.bytes.size % entry_size != 0) {
    return Err{image.error(table.name + ": size " + std::to_string(table.bytes.size) +
                           " is not a multiple of its entry size " + std::to_string(entry_size))};
  }
  return table.bytes.size / entry_size;
}

}  // namespace vg::analyzer
