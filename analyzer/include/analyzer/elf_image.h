// A read-only, validated view of a vmlinux (ELF64, x86-64, little-endian).
//
// open() maps the file (pages are only touched when read, which keeps the
// analyzer's RSS far below the file size), validates the section and symbol
// tables once, and refuses anything malformed with a Diagnostic: truncated
// files, bogus offsets or sizes, overlapping sections, symbols outside any
// section, absurd counts. Everything after open() may rely on those checks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/diagnostic.h"
#include "base/result.h"
#include "base/types.h"

struct Elf;  // libelf

namespace vg::analyzer {

struct Section {
  std::string name;
  uint32_t index = 0;
  uint32_t type = 0;     // SHT_*
  uint64_t flags = 0;    // SHF_*
  uint64_t address = 0;  // sh_addr
  uint64_t size = 0;     // sh_size
  uint64_t file_offset = 0;
  uint64_t entry_size = 0;  // sh_entsize
  ByteView bytes;           // file contents; empty for SHT_NOBITS

  bool allocated() const;
  bool executable() const;
  bool writable() const;
  bool contains(uint64_t va) const { return va >= address && va - address < size; }
};

struct Symbol {
  std::string_view name;  // points into the mapped string table
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0;      // STT_*
  uint8_t bind = 0;      // STB_*
  uint16_t section = 0;  // st_shndx
};

class ElfImage {
 public:
  static Result<std::unique_ptr<ElfImage>, Diagnostic> open(const std::string& path);
  ~ElfImage();
  ElfImage(const ElfImage&) = delete;
  ElfImage& operator=(const ElfImage&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<Section>& sections() const { return sections_; }
  const Section* section(std::string_view name) const;
  // The allocated section containing `va`, preferring PROGBITS.
  const Section* section_at(uint64_t va) const;

  // Every STT_FUNC/STT_OBJECT/STT_NOTYPE symbol with a name, sorted by value.
  const std::vector<Symbol>& symbols() const { return symbols_; }
  std::optional<uint64_t> symbol_address(std::string_view name) const;
  const Symbol* symbol(std::string_view name) const;

  // File bytes backing [va, va + size) inside one PROGBITS section.
  Result<ByteView, Diagnostic> bytes_at(uint64_t va, uint64_t size) const;

  uint64_t text_base() const { return text_base_; }  // address of `_text`
  const std::vector<uint8_t>& build_id() const { return build_id_; }
  const std::string& release() const { return release_; }  // from the Linux note, may be empty
  Elf* libelf_handle() const { return elf_; }              // for libdw (borrowed)

  Diagnostic error(std::string message) const { return Diagnostic{path_, std::move(message)}; }

 private:
  ElfImage() = default;
  Result<void, Diagnostic> validate();
  Result<void, Diagnostic> check_overlaps();
  Result<void, Diagnostic> read_symbols();
  void read_notes();

  std::string path_;
  int fd_ = -1;
  const uint8_t* map_ = nullptr;
  uint64_t map_size_ = 0;
  Elf* elf_ = nullptr;
  std::vector<Section> sections_;
  std::vector<Symbol> symbols_;
  std::vector<uint32_t> symbols_by_name_;  // indices into symbols_, sorted by name
  std::vector<uint32_t> sorted_by_va_;     // allocated sections with a kernel VA, by address
  uint64_t text_base_ = 0;
  std::vector<uint8_t> build_id_;
  std::string release_;
};

}  // namespace vg::analyzer
