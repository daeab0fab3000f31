// ElfImage: maps a vmlinux read-only and validates its headers once.
//
// The headers are parsed straight from the mapping (with <elf.h> layouts and
// explicit bounds checks) rather than through libelf's accessors, so that every
// defect gets one precise diagnostic and nothing is copied. libelf is opened on
// the same mapping only after validation, for the stages that need libdw.
#include "analyzer/elf_image.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vg::analyzer {
namespace {

// Bounds that no real vmlinux comes near (6.12: 60 sections, 192k symbols)
// but that keep a hostile file from making us allocate or loop without end.
constexpr uint64_t kMaxSections = 8192;
constexpr uint64_t kMaxSymbols = 8u << 20;
constexpr uint64_t kMaxNoteBytes = 1u << 20;

std::string hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

// True if [offset, offset + size) lies inside a file of `file_size` bytes.
bool in_file(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

template <typename T>
T load(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

// The runtime VA of .data..percpu is 0: its symbols are offsets into the
// per-CPU area, not kernel addresses, so it takes no part in VA checks.
bool has_kernel_va(const Section& section) {
  return section.allocated() && section.address != 0;
}

}  // namespace

bool Section::allocated() const {
  return (flags & SHF_ALLOC) != 0;
}
bool Section::executable() const {
  return (flags & SHF_EXECINSTR) != 0;
}
bool Section::writable() const {
  return (flags & SHF_WRITE) != 0;
}

ElfImage::~ElfImage() {
  if (elf_ != nullptr) elf_end(elf_);
  // SAFETY: map_ / map_size_ are exactly what mmap returned in open().
  if (map_ != nullptr) munmap(const_cast<uint8_t*>(map_), map_size_);
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<ElfImage>, Diagnostic> ElfImage::open(const std::string& path) {
  std::unique_ptr<ElfImage> image(new ElfImage());
  image->path_ = path;
  image->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (image->fd_ < 0) return Err{image->error(std::string("cannot open: ") + std::strerror(errno))};
  struct stat info {};
  if (fstat(image->fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
    return Err{image->error("not a regular file")};
  }
  image->map_size_ = static_cast<uint64_t>(info.st_size);
  if (image->map_size_ < sizeof(Elf64_Ehdr)) {
    return Err{image->error("truncated: " + std::to_string(image->map_size_) +
                            " bytes, smaller than an ELF64 header")};
  }
  // A private writable mapping: libelf's elf_memory() wants a mutable image.
  // Nothing here writes to it, so no page is ever copied, and untouched pages
  // cost no memory (the 6.1 vmlinux is 590 MB; we read a few tens of MB).
  void* map = mmap(nullptr, image->map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, image->fd_, 0);
  if (map == MAP_FAILED) return Err{image->error(std::string("cannot map: ") + std::strerror(errno))};
  image->map_ = static_cast<const uint8_t*>(map);
  VG_TRY_VOID(image->validate());
  return image;
}

Result<void, Diagnostic> ElfImage::validate() {
  const uint64_t file_size = map_size_;
  const auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(map_);
  if (std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0) return Err{error("not an ELF file (bad magic)")};
  if (ehdr->e_ident[EI_CLASS] != ELFCLASS64)
    return Err{error("not ELF64 (class " + std::to_string(ehdr->e_ident[EI_CLASS]) + ")")};
  if (ehdr->e_ident[EI_DATA] != ELFDATA2LSB) return Err{error("not little-endian")};
  if (ehdr->e_machine != EM_X86_64) {
    return Err{error("not x86-64 (e_machine " + std::to_string(ehdr->e_machine) + ")")};
  }
  if (ehdr->e_shentsize != sizeof(Elf64_Shdr)) {
    return Err{error("section header size " + std::to_string(ehdr->e_shentsize) + ", expected 64")};
  }
  uint64_t section_count = ehdr->e_shnum;
  if (ehdr->e_shoff == 0) return Err{error("no section header table")};
  if (!in_file(ehdr->e_shoff, sizeof(Elf64_Shdr), file_size)) {
    return Err{
        error("truncated: section header table at " + hex(ehdr->e_shoff) + " is past the end of the file")};
  }
  const auto* first = reinterpret_cast<const Elf64_Shdr*>(map_ + ehdr->e_shoff);
  if (ehdr->e_shoff % alignof(Elf64_Shdr) != 0) return Err{error("misaligned section header table")};
  if (section_count == 0) section_count = first->sh_size;  // extended numbering [gABI]
  if (section_count > kMaxSections) {
    return Err{error("absurd section count " + std::to_string(section_count))};
  }
  if (!in_file(ehdr->e_shoff, section_count * sizeof(Elf64_Shdr), file_size)) {
    return Err{error("truncated: " + std::to_string(section_count) + " section headers at " +
                     hex(ehdr->e_shoff) + " run past the end of the file")};
  }
  uint64_t names_index = ehdr->e_shstrndx;
  if (names_index == SHN_XINDEX) names_index = first->sh_link;
  if (names_index == 0 || names_index >= section_count) {
    return Err{error("section name table index " + std::to_string(names_index) + " out of range")};
  }
  const Elf64_Shdr& names_header = first[names_index];
  if (names_header.sh_type != SHT_STRTAB ||
      !in_file(names_header.sh_offset, names_header.sh_size, file_size) || names_header.sh_size == 0 ||
      map_[names_header.sh_offset + names_header.sh_size - 1] != 0) {
    return Err{error("section name table is not a NUL-terminated string table inside the file")};
  }
  const char* names = reinterpret_cast<const char*>(map_ + names_header.sh_offset);

  sections_.reserve(section_count);
  for (uint32_t i = 0; i < section_count; ++i) {
    const Elf64_Shdr& header = first[i];
    Section section;
    section.index = i;
    if (header.sh_name >= names_header.sh_size) {
      return Err{error("section " + std::to_string(i) + ": name offset out of the name table")};
    }
    section.name = names + header.sh_name;
    section.type = header.sh_type;
    section.flags = header.sh_flags;
    section.address = header.sh_addr;
    section.size = header.sh_size;
    section.file_offset = header.sh_offset;
    section.entry_size = header.sh_entsize;
    if (header.sh_type != SHT_NOBITS && header.sh_type != SHT_NULL) {
      if (!in_file(header.sh_offset, header.sh_size, file_size)) {
        return Err{error("section " + section.name + ": offset " + hex(header.sh_offset) + " size " +
                         hex(header.sh_size) + " runs past the end of the file (" + hex(file_size) + ")")};
      }
      section.bytes = ByteView{map_ + header.sh_offset, static_cast<size_t>(header.sh_size)};
    }
    if (section.allocated() && section.address + section.size < section.address) {
      return Err{error("section " + section.name + ": address range wraps around")};
    }
    sections_.push_back(std::move(section));
  }
  VG_TRY_VOID(check_overlaps());
  VG_TRY_VOID(read_symbols());
  read_notes();

  const Symbol* text = symbol("_text");
  if (text == nullptr) return Err{error("no _text symbol: not a vmlinux")};
  text_base_ = text->value;

  // libelf on the validated mapping, for libdw (DWARF) users.
  elf_version(EV_CURRENT);
  elf_ = elf_memory(reinterpret_cast<char*>(const_cast<uint8_t*>(map_)), map_size_);
  if (elf_ == nullptr) return Err{error(std::string("libelf refuses the file: ") + elf_errmsg(-1))};
  return Ok{};
}

Result<void, Diagnostic> ElfImage::check_overlaps() {
  // Allocated sections must not share virtual addresses: a byte with two
  // meanings would get two sets of permissions.
  std::vector<const Section*> by_va;
  std::vector<const Section*> by_offset;
  for (const Section& section : sections_) {
    if (has_kernel_va(section) && section.size > 0) by_va.push_back(&section);
    if (section.type == SHT_PROGBITS && section.size > 0) by_offset.push_back(&section);
  }
  std::sort(by_va.begin(), by_va.end(),
            [](const Section* a, const Section* b) { return a->address < b->address; });
  for (size_t i = 1; i < by_va.size(); ++i) {
    if (by_va[i]->address < by_va[i - 1]->address + by_va[i - 1]->size) {
      return Err{error("sections " + by_va[i - 1]->name + " and " + by_va[i]->name +
                       " overlap in memory at " + hex(by_va[i]->address))};
    }
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Section* a, const Section* b) { return a->file_offset < b->file_offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->file_offset < by_offset[i - 1]->file_offset + by_offset[i - 1]->size) {
      return Err{error("sections " + by_offset[i - 1]->name + " and " + by_offset[i]->name +
                       " overlap in the file at " + hex(by_offset[i]->file_offset))};
    }
  }
  sorted_by_va_.clear();
  for (const Section* section : by_va) sorted_by_va_.push_back(section->index);
  return Ok{};
}

Result<void, Diagnostic> ElfImage::read_symbols() {
  const Section* table = nullptr;
  for (const Section& section : sections_) {
    if (section.type == SHT_SYMTAB) table = &section;
  }
  if (table == nullptr) return Err{error("no symbol table (stripped vmlinux?)")};
  if (table->entry_size != sizeof(Elf64_Sym) || table->size % sizeof(Elf64_Sym) != 0) {
    return Err{error("symbol table entry size " + std::to_string(table->entry_size) + " or size " +
                     std::to_string(table->size) + " is not a multiple of 24")};
  }
  const uint64_t count = table->size / sizeof(Elf64_Sym);
  if (count > kMaxSymbols) return Err{error("absurd symbol count " + std::to_string(count))};
  const Elf64_Shdr* headers =
      reinterpret_cast<const Elf64_Shdr*>(map_ + reinterpret_cast<const Elf64_Ehdr*>(map_)->e_shoff);
  const uint32_t strings_index = headers[table->index].sh_link;
  if (strings_index == 0 || strings_index >= sections_.size() ||
      sections_[strings_index].type != SHT_STRTAB) {
    return Err{
        error("symbol table links to section " + std::to_string(strings_index) + ", not a string table")};
  }
  const Section& strings = sections_[strings_index];
  if (strings.size == 0 || strings.bytes.data[strings.size - 1] != 0) {
    return Err{error("symbol string table is not NUL-terminated")};
  }
  if (table->file_offset % alignof(Elf64_Sym) != 0) return Err{error("misaligned symbol table")};
  const auto* raw = reinterpret_cast<const Elf64_Sym*>(table->bytes.data);
  uint64_t image_begin = UINT64_MAX;
  uint64_t image_end = 0;
  for (const Section& section : sections_) {
    if (!has_kernel_va(section)) continue;
    image_begin = std::min(image_begin, section.address);
    image_end = std::max(image_end, section.address + section.size);
  }
  symbols_.reserve(count / 2);
  for (uint64_t i = 1; i < count; ++i) {
    const Elf64_Sym& sym = raw[i];
    const uint8_t type = ELF64_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) continue;
    if (sym.st_name >= strings.size) {
      return Err{error("symbol " + std::to_string(i) + ": name offset " + hex(sym.st_name) +
                       " is outside the string table")};
    }
    if (sym.st_name == 0) continue;
    Symbol symbol;
    symbol.name = std::string_view(reinterpret_cast<const char*>(strings.bytes.data) + sym.st_name);
    symbol.value = sym.st_value;
    symbol.size = sym.st_size;
    symbol.type = type;
    symbol.bind = ELF64_ST_BIND(sym.st_info);
    symbol.section = sym.st_shndx;
    if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || sym.st_shndx == SHN_COMMON) {
      // Absolute symbols (linker-script constants) carry no section.
      if (sym.st_shndx == SHN_UNDEF) continue;
    } else {
      if (sym.st_shndx >= sections_.size() || sym.st_shndx >= SHN_LORESERVE) {
        return Err{error("symbol " + std::string(symbol.name) + ": section index " +
                         std::to_string(sym.st_shndx) + " does not exist")};
      }
      const Section& home = sections_[sym.st_shndx];
      // Functions and objects lie inside their own section. Linker-script
      // symbols (NOTYPE: __end_rodata, __stop_X) may sit in the padding
      // between sections, so they only need to be inside the image. The
      // per-CPU section (VA 0) holds both per-CPU offsets and the kernel VAs
      // of its load copy (__per_cpu_load, __init_begin): not checkable.
      const uint64_t end = sym.st_value + sym.st_size;
      if (end < sym.st_value) return Err{error("symbol " + std::string(symbol.name) + ": size wraps around")};
      if (has_kernel_va(home) && type != STT_NOTYPE &&
          (sym.st_value < home.address || end > home.address + home.size)) {
        return Err{error("symbol " + std::string(symbol.name) + " at " + hex(sym.st_value) +
                         " lies outside its section " + home.name)};
      }
      if (has_kernel_va(home) && type == STT_NOTYPE && (sym.st_value < image_begin || end > image_end)) {
        return Err{error("symbol " + std::string(symbol.name) + " at " + hex(sym.st_value) +
                         " lies outside every section")};
      }
    }
    symbols_.push_back(symbol);
  }
  std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
    return a.value != b.value ? a.value < b.value : a.name < b.name;
  });
  symbols_by_name_.resize(symbols_.size());
  for (uint32_t i = 0; i < symbols_.size(); ++i) symbols_by_name_[i] = i;
  std::sort(symbols_by_name_.begin(), symbols_by_name_.end(),
            [this](uint32_t a, uint32_t b) { return symbols_[a].name < symbols_[b].name; });
  return Ok{};
}

void ElfImage::read_notes() {
  for (const Section& section : sections_) {
    if (section.type != SHT_NOTE || section.size > kMaxNoteBytes) continue;
    const ByteView notes = section.bytes;
    size_t at = 0;
    // Nhdr: namesz, descsz, type, then name and desc, each padded to 4 [gABI 5].
    while (notes.contains(at, 12)) {
      const uint32_t name_size = load<uint32_t>(notes.data + at);
      const uint32_t desc_size = load<uint32_t>(notes.data + at + 4);
      const uint32_t type = load<uint32_t>(notes.data + at + 8);
      const size_t name_at = at + 12;
      const size_t desc_at = name_at + ((size_t{name_size} + 3) & ~size_t{3});
      const size_t next = desc_at + ((size_t{desc_size} + 3) & ~size_t{3});
      if (!notes.contains(name_at, name_size) || !notes.contains(desc_at, desc_size) || next <= at) break;
      const std::string_view name(reinterpret_cast<const char*>(notes.data + name_at),
                                  name_size > 0 ? name_size - 1 : 0);
      const uint8_t* desc = notes.data + desc_at;
      if (name == "GNU" && type == NT_GNU_BUILD_ID && desc_size <= 32 && build_id_.empty()) {
        build_id_.assign(desc, desc + desc_size);
      } else if (name == "Linux" && desc_size > 0 && desc_size < 128 && release_.empty()) {
        // The Linux note carries the release string (NUL-terminated).
        const char* text = reinterpret_cast<const char*>(desc);
        const size_t length = strnlen(text, desc_size);
        bool printable = length > 0;
        for (size_t i = 0; i < length; ++i) printable = printable && text[i] >= 0x20 && text[i] < 0x7f;
        if (printable) release_.assign(text, length);
      }
      at = next;
    }
  }
}

const Section* ElfImage::section(std::string_view name) const {
  for (const Section& section : sections_) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

const Section* ElfImage::section_at(uint64_t va) const {
  // sorted_by_va_ holds non-overlapping sections with a kernel VA.
  auto it =
      std::upper_bound(sorted_by_va_.begin(), sorted_by_va_.end(), va,
                       [this](uint64_t value, uint32_t index) { return value < sections_[index].address; });
  if (it == sorted_by_va_.begin()) return nullptr;
  const Section& candidate = sections_[*(it - 1)];
  return candidate.contains(va) ? &candidate : nullptr;
}

std::optional<uint64_t> ElfImage::symbol_address(std::string_view name) const {
  const Symbol* found = symbol(name);
  if (found == nullptr) return std::nullopt;
  return found->value;
}

const Symbol* ElfImage::symbol(std::string_view name) const {
  auto it = std::lower_bound(
      symbols_by_name_.begin(), symbols_by_name_.end(), name,
      [this](uint32_t index, std::string_view value) { return symbols_[index].name < value; });
  if (it == symbols_by_name_.end() || symbols_[*it].name != name) return nullptr;
  return &symbols_[*it];
}

Result<ByteView, Diagnostic> ElfImage::bytes_at(uint64_t va, uint64_t size) const {
  const Section* home = section_at(va);
  if (home == nullptr) return Err{error("address " + hex(va) + " is in no section")};
  if (home->type != SHT_PROGBITS)
    return Err{error("address " + hex(va) + " is in " + home->name + ", which has no file bytes")};
  const uint64_t offset = va - home->address;
  if (!home->bytes.contains(offset, size)) {
    return Err{error(hex(size) + " bytes at " + hex(va) + " run past the end of " + home->name)};
  }
  return home->bytes.sub(offset, size);
}

}  // namespace vg::analyzer
