// build_policy: the analysis as a policy file (format 1, policy/format.h).
// Every address becomes an offset from `_text`, so the policy holds for any
// KASLR slide; facts that cannot be expressed that way are refused, not
// silently dropped.
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "analyzer/stages.h"
#include "base/sha256.h"

namespace vg::analyzer {
namespace {

Result<uint32_t, std::string> offset32(const Analysis& analysis, uint64_t va, const std::string& what) {
  const uint64_t text = analysis.kernel.text_va;
  if (va < text || va - text > UINT32_MAX) return Err{what + " lies outside _text .. _text + 4 GiB"};
  return static_cast<uint32_t>(va - text);
}

uint32_t clamp32(uint64_t value) {
  return value > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(value);
}

// SHA-256 of a module's .text section as the file holds it. KCI hashes the
// text in guest memory at REGISTER_MODULE, after the loader relocated it, so
// this digest matches only a module whose .text needs no relocation; a
// provisioning step that measured the loaded text passes --module-hash
// instead (docs/replay.md, "Modules").
Result<std::pair<Sha256Digest, std::string>, std::string> module_text_hash(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err{path + ": cannot open: " + std::strerror(errno)};
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  const auto finish = [&](Result<std::pair<Sha256Digest, std::string>, std::string> result) {
    if (elf != nullptr) elf_end(elf);
    close(fd);
    return result;
  };
  GElf_Ehdr ehdr;
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF || gelf_getehdr(elf, &ehdr) == nullptr ||
      ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_X86_64 || ehdr.e_type != ET_REL) {
    return finish(Err{path + ": not an x86-64 kernel module (ELF64 relocatable)"});
  }
  size_t names = 0;
  if (elf_getshdrstrndx(elf, &names) != 0) return finish(Err{path + ": no section name table"});
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = elf_strptr(elf, names, shdr.sh_name);
    if (name == nullptr || std::strcmp(name, ".text") != 0 || shdr.sh_type != SHT_PROGBITS) continue;
    Elf_Data* data = elf_rawdata(scn, nullptr);
    if (data == nullptr || data->d_size != shdr.sh_size)
      return finish(Err{path + ": .text runs past the file"});
    std::string module = path.substr(path.find_last_of('/') + 1);
    if (module.ends_with(".ko")) module.resize(module.size() - 3);
    return finish(std::make_pair(Sha256::of(data->d_buf, data->d_size), module));
  }
  return finish(Err{path + ": no .text section"});
}

}  // namespace

Result<std::vector<uint8_t>, std::string> build_policy(const Analysis& analysis,
                                                       const PolicyOptions& options) {
  if (analysis.kernel.text_va == 0) return Err{std::string("analysis has no _text address")};
  policy::PolicyBuilder builder;
  builder.set_kernel(analysis.kernel.build_id, analysis.kernel.release, analysis.kernel.text_va);
  builder.set_flags(options.flags);
  builder.set_serial(options.serial);

  for (const RegionInfo& region : analysis.regions) {
    // Regions below _text (none in a vmlinux) cannot be encoded.
    if (region.start < analysis.kernel.text_va) return Err{"region " + region.name + " lies below _text"};
    builder.add_region(region.start - analysis.kernel.text_va, region.size, region.kind, region.perms_boot,
                       region.perms_final);
  }
  for (const PatchSite& site : analysis.sites) {
    const uint32_t offset = VG_TRY(offset32(analysis, site.address, "patch site"));
    builder.add_site(offset, site.kind, site.length, site.patterns);
  }
  for (const PrivilegedSite& insn : analysis.privileged) {
    const uint32_t offset = VG_TRY(offset32(analysis, insn.address, "privileged instruction"));
    uint8_t flags = 0;
    if (insn.unintended) flags |= policy::kPrivUnintended;
    if (insn.trusted) flags |= policy::kPrivTrusted;
    if (insn.init) flags |= policy::kPrivInit;
    builder.add_privileged(offset, insn.kind, insn.length, flags);
  }
  for (const FunctionInfo& function : analysis.functions) {
    const uint32_t offset = VG_TRY(offset32(analysis, function.address, "function " + function.name));
    uint32_t flags = 0;
    if (function.trusted) flags |= policy::kFunctionTrusted;
    if (function.init) flags |= policy::kFunctionInit;
    builder.add_function(offset, clamp32(function.size), function.name, flags);
  }
  for (const CriticalObjectInfo& object : analysis.objects) {
    if (!object.present) continue;  // reported, not enforced
    // A per-CPU variable has one copy per CPU at run time and no fixed offset
    // from _text; the report lists it, the policy cannot pin it.
    if (object.region == "percpu") continue;
    const uint32_t offset = VG_TRY(offset32(analysis, object.address, "object " + object.name));
    if (object.size == 0 || object.size > UINT32_MAX)
      return Err{"object " + object.name + " has no usable size"};
    const auto region = std::find_if(
        analysis.regions.begin(), analysis.regions.end(),
        [&](const RegionInfo& r) { return object.address >= r.start && object.address - r.start < r.size; });
    const policy::RegionKind kind =
        region != analysis.regions.end() ? region->kind : policy::RegionKind::kData;
    builder.add_object(offset, static_cast<uint32_t>(object.size), object.name, object.protection, kind);
  }
  for (const std::string& path : options.module_paths) {
    auto hashed = VG_TRY(module_text_hash(path));
    builder.add_module_hash(hashed.first.bytes, hashed.second);
  }
  for (const auto& [name, digest] : options.module_digests) builder.add_module_hash(digest.data(), name);
  return builder.build();
}

}  // namespace vg::analyzer
