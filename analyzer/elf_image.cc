// Minimal stand-in ElfImage (wt/analyzer-objects), replaced by
// wt/analyzer-core's full implementation on merge. It maps the file, reads
// section headers and the symbol table through libelf, and checks that
// section contents lie inside the file and symbols inside their sections.
#include "analyzer/elf_image.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace vg::analyzer {

bool Section::allocated() const { return (flags & SHF_ALLOC) != 0; }
bool Section::executable() const { return (flags & SHF_EXECINSTR) != 0; }
bool Section::writable() const { return (flags & SHF_WRITE) != 0; }

Result<std::unique_ptr<ElfImage>, Diagnostic> ElfImage::open(const std::string& path) {
  std::unique_ptr<ElfImage> image(new ElfImage());
  image->path_ = path;
  image->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (image->fd_ < 0) return Err{image->error("cannot open")};
  struct stat status {};
  if (fstat(image->fd_, &status) != 0 || status.st_size <= 0) return Err{image->error("cannot stat or empty")};
  image->map_size_ = static_cast<uint64_t>(status.st_size);
  void* map = mmap(nullptr, image->map_size_, PROT_READ, MAP_PRIVATE, image->fd_, 0);
  if (map == MAP_FAILED) return Err{image->error("cannot map")};
  image->map_ = static_cast<const uint8_t*>(map);

  elf_version(EV_CURRENT);
  image->elf_ = elf_memory(static_cast<char*>(map), image->map_size_);
  if (image->elf_ == nullptr || elf_kind(image->elf_) != ELF_K_ELF) return Err{image->error("not an ELF file")};
  GElf_Ehdr header;
  if (gelf_getehdr(image->elf_, &header) == nullptr || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_machine != EM_X86_64) {
    return Err{image->error("not a little-endian ELF64 x86-64 file")};
  }
  size_t names_index = 0;
  if (elf_getshdrstrndx(image->elf_, &names_index) != 0) return Err{image->error("no section name table")};

  Elf_Scn* scn = nullptr;
  Elf_Scn* symtab = nullptr;
  while ((scn = elf_nextscn(image->elf_, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) return Err{image->error("unreadable section header")};
    Section section;
    const char* name = elf_strptr(image->elf_, names_index, shdr.sh_name);
    section.name = name != nullptr ? name : "";
    section.index = static_cast<uint32_t>(elf_ndxscn(scn));
    section.type = shdr.sh_type;
    section.flags = shdr.sh_flags;
    section.address = shdr.sh_addr;
    section.size = shdr.sh_size;
    section.file_offset = shdr.sh_offset;
    section.entry_size = shdr.sh_entsize;
    if (shdr.sh_type != SHT_NOBITS) {
      if (shdr.sh_offset > image->map_size_ || shdr.sh_size > image->map_size_ - shdr.sh_offset) {
        return Err{image->error("section " + section.name + " extends past the end of the file")};
      }
      section.bytes = ByteView{image->map_ + shdr.sh_offset, shdr.sh_size};
    }
    if (shdr.sh_type == SHT_SYMTAB) symtab = scn;
    image->sections_.push_back(std::move(section));
  }
  if (symtab == nullptr) return Err{image->error("no symbol table")};

  GElf_Shdr symtab_header;
  gelf_getshdr(symtab, &symtab_header);
  Elf_Data* data = elf_getdata(symtab, nullptr);
  if (data == nullptr || symtab_header.sh_entsize != sizeof(Elf64_Sym)) return Err{image->error("bad symbol table")};
  size_t count = symtab_header.sh_size / sizeof(Elf64_Sym);
  for (size_t i = 1; i < count; ++i) {
    GElf_Sym raw;
    if (gelf_getsym(data, static_cast<int>(i), &raw) == nullptr) return Err{image->error("bad symbol")};
    uint8_t type = GELF_ST_TYPE(raw.st_info);
    if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) continue;
    const char* name = elf_strptr(image->elf_, symtab_header.sh_link, raw.st_name);
    if (name == nullptr || *name == '\0') continue;
    if (raw.st_shndx == SHN_UNDEF) continue;
    Symbol symbol;
    symbol.name = name;
    symbol.value = raw.st_value;
    symbol.size = raw.st_size;
    symbol.type = type;
    symbol.bind = GELF_ST_BIND(raw.st_info);
    symbol.section = raw.st_shndx;
    image->symbols_.push_back(symbol);
  }
  std::sort(image->symbols_.begin(), image->symbols_.end(),
            [](const Symbol& a, const Symbol& b) { return a.value < b.value; });
  image->symbols_by_name_.resize(image->symbols_.size());
  for (uint32_t i = 0; i < image->symbols_by_name_.size(); ++i) image->symbols_by_name_[i] = i;
  std::sort(image->symbols_by_name_.begin(), image->symbols_by_name_.end(),
            [&](uint32_t a, uint32_t b) { return image->symbols_[a].name < image->symbols_[b].name; });
  if (auto text = image->symbol_address("_text")) image->text_base_ = *text;
  return image;
}

ElfImage::~ElfImage() {
  if (elf_ != nullptr) elf_end(elf_);
  if (map_ != nullptr) munmap(const_cast<uint8_t*>(map_), map_size_);
  if (fd_ >= 0) ::close(fd_);
}

const Section* ElfImage::section(std::string_view name) const {
  for (const Section& candidate : sections_) {
    if (candidate.name == name) return &candidate;
  }
  return nullptr;
}

const Section* ElfImage::section_at(uint64_t va) const {
  for (const Section& candidate : sections_) {
    if (candidate.allocated() && candidate.contains(va)) return &candidate;
  }
  return nullptr;
}

const Symbol* ElfImage::symbol(std::string_view name) const {
  auto found = std::lower_bound(symbols_by_name_.begin(), symbols_by_name_.end(), name,
                                [&](uint32_t index, std::string_view key) { return symbols_[index].name < key; });
  if (found == symbols_by_name_.end() || symbols_[*found].name != name) return nullptr;
  return &symbols_[*found];
}

std::optional<uint64_t> ElfImage::symbol_address(std::string_view name) const {
  const Symbol* found = symbol(name);
  if (found == nullptr) return std::nullopt;
  return found->value;
}

Result<ByteView, Diagnostic> ElfImage::bytes_at(uint64_t va, uint64_t size) const {
  const Section* holder = section_at(va);
  if (holder == nullptr || holder->bytes.size == 0) return Err{error("no file bytes at address")};
  uint64_t offset = va - holder->address;
  if (!holder->bytes.contains(offset, size)) return Err{error("range leaves its section")};
  return holder->bytes.sub(offset, size);
}

}  // namespace vg::analyzer
