// Helpers shared by the analyzer tests: the fixture kernels built by CMake,
// running the core stages on them, and byte-level edits of an ELF file for
// the bad-input tests.
#pragma once

#include <elf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "analyzer/stages.h"

namespace vg::analyzer::testing {

inline std::string fixture_path(const std::string& layout) {
  return std::string(VG_FIXTURE_DIR) + "/kernel_" + layout + ".elf";
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A file that removes itself: bad inputs are written to disk because
// ElfImage::open takes a path, exactly like the CLI.
class TempFile {
 public:
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    char name[] = "/tmp/vg_analyzer_test_XXXXXX";
    const int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      size_t done = 0;
      while (done < bytes.size()) {
        const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      close(fd);
    }
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Field-level edits of a (valid) ELF64 image held in memory.
class ElfEditor {
 public:
  explicit ElfEditor(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  std::vector<uint8_t>& bytes() { return bytes_; }

  Elf64_Ehdr* header() { return reinterpret_cast<Elf64_Ehdr*>(bytes_.data()); }
  Elf64_Shdr* section(const std::string& name) {
    Elf64_Shdr* table = reinterpret_cast<Elf64_Shdr*>(bytes_.data() + header()->e_shoff);
    const char* names = reinterpret_cast<const char*>(bytes_.data() + table[header()->e_shstrndx].sh_offset);
    for (int i = 0; i < header()->e_shnum; ++i) {
      if (name == names + table[i].sh_name) return &table[i];
    }
    return nullptr;
  }
  Elf64_Sym* symbol(const std::string& name) {
    Elf64_Shdr* symtab = section(".symtab");
    Elf64_Shdr* strtab = section(".strtab");
    if (symtab == nullptr || strtab == nullptr) return nullptr;
    auto* symbols = reinterpret_cast<Elf64_Sym*>(bytes_.data() + symtab->sh_offset);
    const char* names = reinterpret_cast<const char*>(bytes_.data() + strtab->sh_offset);
    for (size_t i = 0; i < symtab->sh_size / sizeof(Elf64_Sym); ++i) {
      if (name == names + symbols[i].st_name) return &symbols[i];
    }
    return nullptr;
  }
  // File offset of the byte at `va` in the PROGBITS section `name`.
  uint8_t* at_va(const std::string& name, uint64_t va) {
    Elf64_Shdr* home = section(name);
    return bytes_.data() + home->sh_offset + (va - home->sh_addr);
  }

 private:
  std::vector<uint8_t> bytes_;
};

// Runs the core stages in order; the Diagnostic of the first failure, if any.
inline Result<void, Diagnostic> run_core(const ElfImage& image, Analysis& out) {
  VG_TRY_VOID(collect_kernel_info(image, out));
  VG_TRY_VOID(collect_regions(image, out));
  VG_TRY_VOID(collect_functions(image, out));
  VG_TRY_VOID(collect_patch_sites(image, out));
  return Ok{};
}

inline const PatchSite* site_at(const Analysis& analysis, uint64_t va, uint16_t kind) {
  for (const PatchSite& site : analysis.sites) {
    if (site.address == va && (site.kind & kind) != 0) return &site;
  }
  return nullptr;
}

inline bool has_literal(const PatchSite& site, const std::vector<uint8_t>& bytes) {
  for (const auto& pattern : site.patterns) {
    if (pattern.kind == policy::PatternKind::kLiteral && pattern.literal == bytes) return true;
  }
  return false;
}

inline bool has_pattern(const PatchSite& site, const policy::PatternSpec& spec) {
  for (const auto& pattern : site.patterns) {
    if (pattern == spec) return true;
  }
  return false;
}

inline std::vector<uint8_t> rel32(uint8_t opcode, uint64_t site, uint64_t target, size_t length = 5) {
  const auto value = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int64_t>(target - (site + 5))));
  std::vector<uint8_t> bytes = {opcode, static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                                static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
  bytes.resize(length, 0x90);
  return bytes;
}

}  // namespace vg::analyzer::testing
