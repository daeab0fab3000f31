// testbed-policy: a small policy generator for the agent's QEMU test bed.
//
// The project's analyzer (`vmplguard analyze`) is the real producer of
// policies; until it lands, this tool makes a policy for one vmlinux with
// just what the test bed exercises: regions from the section headers,
// functions from the symbol table, jump-label sites (__jump_table), ftrace
// sites (__mcount_loc plus ftrace_call/ftrace_regs_call), static-call sites
// (.static_call_sites) and a few critical objects. Every fact is read from
// the file; nothing is assumed about a particular build.
//
// usage: testbed-policy VMLINUX RELEASE OUT
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/builder.h"

namespace {

using vg::policy::PatternSpec;

struct Section {
  std::string name;
  uint64_t address, size, offset, flags;
  uint32_t type;
};

struct Image {
  std::vector<Section> sections;
  std::map<std::string, GElf_Sym> symbols;  // first definition of each name
  std::vector<std::pair<std::string, GElf_Sym>> functions;
  std::vector<uint8_t> build_id;
  std::vector<uint8_t> file;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "testbed-policy: %s\n", message.c_str());
  std::exit(1);
}

const Section* section_at(const Image& image, uint64_t address) {
  for (const auto& s : image.sections) {
    if ((s.flags & SHF_ALLOC) && address >= s.address && address - s.address < s.size) return &s;
  }
  return nullptr;
}

// Reads `size` bytes at link address `address` from the file.
std::optional<std::vector<uint8_t>> read_at(const Image& image, uint64_t address, size_t size) {
  const Section* s = section_at(image, address);
  if (s == nullptr || s->type == SHT_NOBITS || address - s->address + size > s->size) return std::nullopt;
  const uint64_t file_offset = s->offset + (address - s->address);
  if (file_offset + size > image.file.size()) return std::nullopt;
  return std::vector<uint8_t>(image.file.begin() + static_cast<long>(file_offset),
                              image.file.begin() + static_cast<long>(file_offset + size));
}

int32_t s32_at(const std::vector<uint8_t>& bytes, size_t at) {
  int32_t value;
  std::memcpy(&value, bytes.data() + at, 4);
  return value;
}

uint64_t symbol(const Image& image, const char* name) {
  auto it = image.symbols.find(name);
  if (it == image.symbols.end()) die(std::string("symbol ") + name + " not found");
  return it->second.st_value;
}

Image load(const char* path) {
  Image image;
  FILE* f = std::fopen(path, "rb");
  if (f == nullptr) die(std::string(path) + ": cannot open");
  std::fseek(f, 0, SEEK_END);
  image.file.resize(static_cast<size_t>(std::ftell(f)));
  std::fseek(f, 0, SEEK_SET);
  if (std::fread(image.file.data(), 1, image.file.size(), f) != image.file.size()) die("short read");
  std::fclose(f);
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(reinterpret_cast<char*>(image.file.data()), image.file.size());
  if (elf == nullptr) die("not an ELF file");
  size_t shstrndx = 0;
  elf_getshdrstrndx(elf, &shstrndx);
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    gelf_getshdr(scn, &shdr);
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    image.sections.push_back(
        {name ? name : "", shdr.sh_addr, shdr.sh_size, shdr.sh_offset, shdr.sh_flags, shdr.sh_type});
    if (shdr.sh_type == SHT_SYMTAB) {
      Elf_Data* data = elf_getdata(scn, nullptr);
      const size_t count = shdr.sh_size / shdr.sh_entsize;
      for (size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        gelf_getsym(data, static_cast<int>(i), &sym);
        const char* sym_name = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (sym_name == nullptr || *sym_name == '\0') continue;
        image.symbols.emplace(sym_name, sym);
        if (GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF) {
          image.functions.emplace_back(sym_name, sym);
        }
      }
    }
    if (shdr.sh_type == SHT_NOTE) {
      Elf_Data* data = elf_getdata(scn, nullptr);
      size_t offset = 0, name_offset, desc_offset;
      GElf_Nhdr note;
      while ((offset = gelf_getnote(data, offset, &note, &name_offset, &desc_offset)) > 0) {
        if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
            std::memcmp(static_cast<char*>(data->d_buf) + name_offset, "GNU", 4) == 0) {
          const auto* desc = static_cast<uint8_t*>(data->d_buf) + desc_offset;
          image.build_id.assign(desc, desc + note.n_descsz);
        }
      }
    }
  }
  if (image.build_id.empty()) die("no GNU build id note");
  return image;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) die("usage: testbed-policy VMLINUX RELEASE OUT");
  const Image image = load(argv[1]);
  const uint64_t text = symbol(image, "_text");
  const uint64_t image_end = symbol(image, "_end");
  auto off = [&](uint64_t address) { return static_cast<uint32_t>(address - text); };
  vg::policy::PolicyBuilder builder;
  builder.set_kernel(image.build_id, argv[2], text);
  builder.set_flags(vg::policy::kFlagModulesAllowed | vg::policy::kFlagModulesUnrestricted |
                    vg::policy::kFlagBpfJitAllowed);

  // Regions: allocated sections inside [_text, _end), by their flags;
  // ro_after_init is carved out of the read-only data it sits in.
  using vg::policy::RegionKind;
  const uint64_t ro_start = symbol(image, "__start_ro_after_init");
  const uint64_t ro_end = symbol(image, "__end_ro_after_init");
  std::map<uint64_t, std::pair<uint64_t, RegionKind>> regions;
  for (const auto& s : image.sections) {
    if (!(s.flags & SHF_ALLOC) || s.size == 0 || s.address < text || s.address >= image_end) continue;
    const bool init = s.name.rfind(".init", 0) == 0 || s.name.rfind(".exit", 0) == 0;
    RegionKind kind =
        (s.flags & SHF_EXECINSTR) ? (init ? RegionKind::kInitText : RegionKind::kText)
        : (s.flags & SHF_WRITE)
            ? (init ? RegionKind::kInitData : (s.type == SHT_NOBITS ? RegionKind::kBss : RegionKind::kData))
            : RegionKind::kRodata;
    regions[s.address] = {s.size, kind};
  }
  uint64_t previous_end = 0;
  for (const auto& [start, value] : regions) {
    auto [size, kind] = value;
    if (start < previous_end) continue;  // overlapping section (already covered)
    const uint8_t r = vg::policy::kPermRead;
    const uint8_t w = vg::policy::kPermWrite;
    const uint8_t x = vg::policy::kPermSupervisorExec;
    auto add = [&](uint64_t a, uint64_t b, RegionKind k) {
      if (b <= a) return;
      uint8_t boot = static_cast<uint8_t>(r | w);
      if (k == RegionKind::kText || k == RegionKind::kInitText) boot = static_cast<uint8_t>(r | x);
      if (k == RegionKind::kRodata) boot = r;
      const uint8_t final_perms = k == RegionKind::kRoAfterInit                              ? r
                                  : k == RegionKind::kInitText || k == RegionKind::kInitData ? uint8_t(0)
                                                                                             : boot;
      builder.add_region(a - text, b - a, k, boot, final_perms);
    };
    const uint64_t end = start + size;
    if (ro_start >= start && ro_end <= end && ro_end > ro_start) {
      add(start, ro_start, kind);
      add(ro_start, ro_end, RegionKind::kRoAfterInit);
      add(ro_end, end, kind);
    } else {
      add(start, end, kind);
    }
    previous_end = end;
  }

  for (const auto& [name, sym] : image.functions) {
    if (sym.st_value < text || sym.st_value >= image_end) continue;
    const uint32_t flags = section_at(image, sym.st_value) != nullptr &&
                                   section_at(image, sym.st_value)->name.rfind(".init", 0) == 0
                               ? uint32_t{vg::policy::kFunctionInit}
                               : uint32_t{0};
    builder.add_function(off(sym.st_value), static_cast<uint32_t>(sym.st_size), name, flags);
  }

  // Jump labels: 16-byte entries, self-relative code and target [kernel-facts].
  size_t jump_labels = 0;
  {
    const uint64_t start = symbol(image, "__start___jump_table"), stop = symbol(image, "__stop___jump_table");
    auto table = read_at(image, start, stop - start);
    if (!table) die("cannot read __jump_table");
    for (size_t at = 0; at + 16 <= table->size(); at += 16) {
      const uint64_t code = start + at + static_cast<uint64_t>(int64_t{s32_at(*table, at)});
      const uint64_t target = start + at + 4 + static_cast<uint64_t>(int64_t{s32_at(*table, at + 4)});
      auto insn = read_at(image, code, 5);
      if (!insn) continue;
      const uint8_t b0 = (*insn)[0], b1 = (*insn)[1];
      const bool two = b0 == 0xeb || (b0 == 0x66 && b1 == 0x90);
      const uint8_t length = two ? 2 : 5;
      builder.add_site(
          off(code), vg::policy::kSiteJumpLabel, length,
          {PatternSpec::nop(length), two ? PatternSpec::jmp8(off(target)) : PatternSpec::jmp32(off(target))});
      ++jump_labels;
    }
  }

  // ftrace: __mcount_loc holds absolute addresses of the `call __fentry__` sites.
  size_t ftrace_sites = 0;
  {
    const uint64_t start = symbol(image, "__start_mcount_loc"), stop = symbol(image, "__stop_mcount_loc");
    auto table = read_at(image, start, stop - start);
    if (!table) die("cannot read __mcount_loc");
    const std::vector<PatternSpec> patterns = {PatternSpec::nop(5),
                                               PatternSpec::call(off(symbol(image, "__fentry__"))),
                                               PatternSpec::call(off(symbol(image, "ftrace_caller"))),
                                               PatternSpec::call(off(symbol(image, "ftrace_regs_caller")))};
    for (size_t at = 0; at + 8 <= table->size(); at += 8) {
      uint64_t site;
      std::memcpy(&site, table->data() + at, 8);
      if (site < text || site >= image_end) continue;
      builder.add_site(off(site), vg::policy::kSiteFtrace, 5, patterns);
      ++ftrace_sites;
    }
    // The trampolines' own call slots, patched with the current tracer function.
    for (const char* slot : {"ftrace_call", "ftrace_regs_call"}) {
      builder.add_site(off(symbol(image, slot)), vg::policy::kSiteFtrace, 5,
                       {PatternSpec::call_any_function()});
    }
  }

  // Static calls: 8-byte entries, self-relative call site address.
  size_t static_calls = 0;
  {
    const uint64_t start = symbol(image, "__start_static_call_sites"),
                   stop = symbol(image, "__stop_static_call_sites");
    auto table = read_at(image, start, stop - start);
    if (!table) die("cannot read .static_call_sites");
    for (size_t at = 0; at + 8 <= table->size(); at += 8) {
      const uint64_t site = start + at + static_cast<uint64_t>(int64_t{s32_at(*table, at)});
      if (site < text || site >= image_end) continue;
      builder.add_site(
          off(site), vg::policy::kSiteStaticCall, 5,
          {PatternSpec::call_any_function(), PatternSpec::jmp_any_function(), PatternSpec::nop(5)});
      ++static_calls;
    }
  }

  // Static-call trampolines (__SCT__*): a jmp to the current function, or a
  // return (`ret; int3 x4`, or a jmp to the return thunk, a function).
  size_t trampolines = 0;
  for (const auto& [name, sym] : image.symbols) {
    if (name.rfind("__SCT__", 0) != 0 || sym.st_value < text || sym.st_value >= image_end) continue;
    builder.add_site(off(sym.st_value), vg::policy::kSiteStaticCall, 5,
                     {PatternSpec::jmp_any_function(),
                      PatternSpec::literal_bytes({0xc3, 0xcc, 0xcc, 0xcc, 0xcc}), PatternSpec::nop(5)});
    ++trampolines;
  }

  // A few critical objects, with their symbol sizes.
  size_t objects = 0;
  const struct {
    const char* name;
    vg::policy::Protection protection;
  } kObjects[] = {{"sys_call_table", vg::policy::Protection::kLockedAfterBoot},
                  {"idt_table", vg::policy::Protection::kWatched},
                  {"init_cred", vg::policy::Protection::kWatched},
                  {"modprobe_path", vg::policy::Protection::kWriteMediated},
                  {"core_pattern", vg::policy::Protection::kWriteMediated},
                  {"selinux_state", vg::policy::Protection::kWatched}};
  for (const auto& object : kObjects) {
    auto it = image.symbols.find(object.name);
    if (it == image.symbols.end() || it->second.st_size == 0) continue;
    const uint64_t address = it->second.st_value;
    const Section* s = section_at(image, address);
    const RegionKind region = s == nullptr                              ? RegionKind::kData
                              : s->type == SHT_NOBITS                   ? RegionKind::kBss
                              : (s->flags & SHF_WRITE) != 0             ? RegionKind::kData
                              : address >= ro_start && address < ro_end ? RegionKind::kRoAfterInit
                                                                        : RegionKind::kRodata;
    builder.add_object(off(address), static_cast<uint32_t>(it->second.st_size), object.name,
                       object.protection, region);
    ++objects;
  }

  auto bytes = builder.build();
  if (!bytes) die("policy build failed: " + bytes.error());
  FILE* out = std::fopen(argv[3], "wb");
  if (out == nullptr || std::fwrite(bytes->data(), 1, bytes->size(), out) != bytes->size() ||
      std::fclose(out) != 0) {
    die(std::string(argv[3]) + ": cannot write");
  }
  std::printf(
      "testbed-policy: %zu functions, %zu jump labels, %zu ftrace sites, %zu static calls, %zu static-call "
      "trampolines, %zu objects, %zu bytes\n",
      image.functions.size(), jump_labels, ftrace_sites, static_calls, trampolines, objects, bytes->size());
  return 0;
}
