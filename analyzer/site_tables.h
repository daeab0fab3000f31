// Locating and reading the kernel's special sections (internal to the
// analyzer). A table is found by its linker bounds symbols (`__start_X` /
// `__stop_X` and friends), which is how the kernel itself finds it, or else by
// its own section; tables inside .rodata or .init.data only have the symbols.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "analyzer/diagnostic.h"
#include "analyzer/elf_image.h"
#include "base/result.h"
#include "base/types.h"

namespace vg::analyzer {

struct TableSpec {
  std::string_view name;  // as reported: "__jump_table"
  std::string_view start_symbol;
  std::string_view stop_symbol;
  std::string_view section;  // its own section, if it has one
};

struct Table {
  std::string name;
  uint64_t address = 0;  // VA of the first entry
  ByteView bytes;        // the whole table
};

// The table's bytes, nullopt if the kernel has no such table, or a
// Diagnostic if its bounds are inconsistent.
Result<std::optional<Table>, Diagnostic> find_table(const ElfImage& image, const TableSpec& spec);

// Checks that the table is a whole number of `entry_size` entries.
Result<uint64_t, Diagnostic> entry_count(const ElfImage& image, const Table& table, uint64_t entry_size);

inline int32_t read_s32(const uint8_t* at) {
  int32_t value;
  __builtin_memcpy(&value, at, sizeof(value));
  return value;
}
inline uint64_t read_u64(const uint8_t* at) {
  uint64_t value;
  __builtin_memcpy(&value, at, sizeof(value));
  return value;
}
inline uint16_t read_u16(const uint8_t* at) {
  uint16_t value;
  __builtin_memcpy(&value, at, sizeof(value));
  return value;
}
inline uint32_t read_u32(const uint8_t* at) {
  uint32_t value;
  __builtin_memcpy(&value, at, sizeof(value));
  return value;
}

// target = address_of_field + (s32)value, the kernel's self-relative form.
inline uint64_t self_relative(uint64_t field_va, const uint8_t* field) {
  return field_va + static_cast<uint64_t>(static_cast<int64_t>(read_s32(field)));
}

std::string hex(uint64_t value);

}  // namespace vg::analyzer
