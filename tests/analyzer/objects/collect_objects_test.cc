// collect_objects on the fixture kernels: where each object is found, how it
// is sized, and what the report says when something is missing or damaged.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "analyzer/objects/object_table.h"
#include "fixture_paths.h"
#include "objects_fixture.h"

namespace vg::analyzer {
namespace {

using policy::Protection;
using testing::count_notes;
using testing::find_object;
using testing::fixture_path;

Analysis analyze(const std::string& path) {
  Analysis analysis;
  auto image = ElfImage::open(path);
  EXPECT_TRUE(image.ok()) << image.error().to_string();
  if (!image.ok()) return analysis;
  auto result = collect_objects(**image, analysis);
  EXPECT_TRUE(result.ok()) << result.error().to_string();
  return analysis;
}

void expect_object(const Analysis& analysis, std::string_view name, uint64_t size, std::string_view source,
                   std::string_view region) {
  const CriticalObjectInfo* object = find_object(analysis, name);
  ASSERT_NE(object, nullptr) << name;
  EXPECT_TRUE(object->present) << name;
  EXPECT_EQ(object->size, size) << name;
  EXPECT_EQ(object->size_source, source) << name;
  EXPECT_EQ(object->region, region) << name;
}

void expect_absent(const Analysis& analysis, std::string_view name) {
  const CriticalObjectInfo* object = find_object(analysis, name);
  ASSERT_NE(object, nullptr) << name << " must be reported even when absent";
  EXPECT_FALSE(object->present) << name;
  EXPECT_EQ(object->size, 0u) << name;
  EXPECT_EQ(object->address, 0u) << name;
}

// A copy of a fixture with `patch` applied to the bytes of one section.
std::string patched_fixture(const std::string& fixture, const std::string& section_name,
                            const std::string& name, void (*patch)(uint8_t* bytes, size_t size)) {
  std::string source = fixture_path(fixture);
  auto image = ElfImage::open(source);
  EXPECT_TRUE(image.ok());
  const Section* section = (*image)->section(section_name);
  EXPECT_NE(section, nullptr);
  std::ifstream in(source, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  patch(file.data() + section->file_offset, section->size);
  std::string path = ::testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  return path;
}

std::string patched_btf_fixture(const std::string& name, void (*patch)(uint8_t* btf, size_t size)) {
  return patched_fixture("objects_btf.elf", ".BTF", name, patch);
}

// objects_btf.elf: the kernel's own situation, BTF with VARs only for
// per-CPU variables; the rest is sized by the declared type or the symbol.
TEST(CollectObjects, BtfSizesPerCpuVariablesAndDeclaredTypes) {
  Analysis analysis = analyze(fixture_path("objects_btf.elf"));
  expect_object(analysis, "gdt_page", sizeof(struct gdt_page), "BTF", "percpu");
  expect_object(analysis, "init_cred", sizeof(struct cred), "BTF", ".data");
  expect_object(analysis, "cr4_pinned_bits", sizeof(unsigned long), "BTF", "ro_after_init");
  expect_object(analysis, "kptr_restrict", sizeof(int), "BTF", ".bss");
  expect_object(analysis, "ftrace_ops_list", sizeof(void*), "BTF", ".data");
  // Defined in assembly without .size: only the declared type knows.
  expect_object(analysis, "init_task", sizeof(struct task_struct), "BTF", ".data");
  // Arrays: vmlinux BTF has no VAR for them and the table names no type.
  expect_object(analysis, "sys_call_table", FIXTURE_SYSCALLS * sizeof(void*), "symbol", ".rodata");
  expect_object(analysis, "modprobe_path", FIXTURE_MODPROBE_PATH_LEN, "symbol", ".data");
  expect_object(analysis, "idt_table", FIXTURE_IDT_ENTRIES * sizeof(struct gate_struct), "symbol", ".bss");
  EXPECT_EQ(find_object(analysis, "gdt_page")->address, 0u);  // its offset in .data..percpu
}

TEST(CollectObjects, ReportsEveryTableRowInTableOrderWithItsProtection) {
  Analysis analysis = analyze(fixture_path("objects_btf.elf"));
  std::span<const CriticalObjectSpec> table = critical_object_table();
  ASSERT_EQ(analysis.objects.size(), table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(analysis.objects[i].name, table[i].name);
    EXPECT_EQ(analysis.objects[i].why, table[i].why);
    EXPECT_EQ(analysis.objects[i].protection, table[i].protection);
  }
  EXPECT_EQ(find_object(analysis, "modprobe_path")->protection, Protection::kWriteMediated);
  EXPECT_EQ(find_object(analysis, "init_cred")->protection, Protection::kWatched);
  EXPECT_EQ(find_object(analysis, "sys_call_table")->protection, Protection::kLockedAfterBoot);
  ASSERT_EQ(analysis.timings.size(), 1u);
  EXPECT_EQ(analysis.timings[0].stage, "objects");
}

// An object an older (or differently configured) kernel lacks is reported
// absent, and the stage still succeeds.
TEST(CollectObjects, MissingObjectsAreAbsentNotErrors) {
  Analysis analysis = analyze(fixture_path("objects_btf.elf"));
  for (std::string_view name :
       {"static_calls_table", "security_hook_heads", "pv_ops", "cpu_tss_rw", "uevent_helper"}) {
    expect_absent(analysis, name);
  }
}

TEST(CollectObjects, PerCpuObjectsAreReportedButFlaggedUnpinnable) {
  Analysis analysis = analyze(fixture_path("objects_btf.elf"));
  EXPECT_EQ(count_notes(analysis, "gdt_page: per-CPU object at offset 0x0 of .data..percpu"), 1);
  EXPECT_EQ(count_notes(analysis, "the policy cannot pin it"), 1);
}

// The table declares `struct selinux_state`; the fixture defines an array of
// two. The symbol (the compiler's sizeof) wins and the report says why.
TEST(CollectObjects, DeclaredTypeThatDisagreesWithTheSymbolIsReported) {
  Analysis analysis = analyze(fixture_path("objects_btf.elf"));
  expect_object(analysis, "selinux_state", 2 * sizeof(struct selinux_state), "symbol", ".bss");
  EXPECT_EQ(count_notes(analysis, "selinux_state: BTF gives 8 bytes but the symbol is 16 bytes; ignored"), 1);
}

// Two file-local kexec_load_disabled at different addresses: the stage does
// not guess which one the kernel consults.
TEST(CollectObjects, AmbiguousLocalSymbolsAreNotProtected) {
  Analysis analysis = analyze(fixture_path("objects_btf.elf"));
  expect_absent(analysis, "kexec_load_disabled");
  EXPECT_EQ(count_notes(analysis, "kexec_load_disabled: 2 different definitions in the symbol table"), 1);
}

// objects_dwarf.elf: no .BTF at all, so every present object goes to DWARF.
TEST(CollectObjects, WithoutBtfDwarfSizesEveryObject) {
  Analysis analysis = analyze(fixture_path("objects_dwarf.elf"));
  EXPECT_EQ(count_notes(analysis, "no .BTF section; critical objects are sized from DWARF"), 1);
  expect_object(analysis, "sys_call_table", FIXTURE_SYSCALLS * sizeof(void*), "DWARF", ".rodata");
  expect_object(analysis, "init_cred", sizeof(struct cred), "DWARF", ".data");
  expect_object(analysis, "gdt_page", sizeof(struct gdt_page), "DWARF", "percpu");
  expect_object(analysis, "idt_table", FIXTURE_IDT_ENTRIES * sizeof(struct gate_struct), "DWARF", ".bss");
  expect_object(analysis, "selinux_state", 2 * sizeof(struct selinux_state), "DWARF", ".bss");
  expect_object(analysis, "cr4_pinned_bits", sizeof(unsigned long), "DWARF", "ro_after_init");
  // The C declaration `extern struct task_struct init_task;` sizes the
  // assembly definition.
  expect_object(analysis, "init_task", sizeof(struct task_struct), "DWARF", ".data");
}

// objects_nodebug.elf: neither BTF nor DWARF. Symbol sizes remain; an
// assembly object without .size is reported with its size unknown.
TEST(CollectObjects, WithoutDebugInfoSymbolSizesRemain) {
  Analysis analysis = analyze(fixture_path("objects_nodebug.elf"));
  expect_object(analysis, "init_cred", sizeof(struct cred), "symbol", ".data");
  expect_object(analysis, "gdt_page", sizeof(struct gdt_page), "symbol", "percpu");
  expect_object(analysis, "init_task", 0, "none", ".data");
  EXPECT_EQ(count_notes(analysis, "init_task: no size in BTF, DWARF or the symbol table; size unknown"), 1);
}

// A .BTF section libbpf refuses: the report names the problem and DWARF
// takes over; nothing crashes and the stage succeeds.
TEST(CollectObjects, CorruptBtfFallsBackToDwarfWithADiagnostic) {
  std::string path = patched_btf_fixture("objects_bad_magic.elf", [](uint8_t* btf, size_t) {
    btf[0] = 0xde;  // btf_header.magic is 0xeb9f
    btf[1] = 0xad;
  });
  Analysis analysis = analyze(path);
  EXPECT_EQ(count_notes(analysis, ": corrupt .BTF section (libbpf: "), 1);
  EXPECT_EQ(count_notes(analysis, "critical objects are sized from DWARF"), 1);
  expect_object(analysis, "init_cred", sizeof(struct cred), "DWARF", ".data");
  expect_object(analysis, "init_task", sizeof(struct task_struct), "DWARF", ".data");
  expect_object(analysis, "gdt_page", sizeof(struct gdt_page), "DWARF", "percpu");
}

// DWARF whose first unit header libdw refuses (version 99) while BTF is
// missing: the report says so and symbol sizes remain.
TEST(CollectObjects, CorruptDwarfFallsBackToSymbolsWithADiagnostic) {
  std::string path = patched_fixture("objects_dwarf.elf", ".debug_info", "objects_bad_dwarf.elf",
                                     [](uint8_t* info, size_t size) {
                                       ASSERT_GT(size, 6u);
                                       info[4] = 99;  // unit_length (4 bytes), then version (2 bytes)
                                       info[5] = 0;
                                     });
  Analysis analysis = analyze(path);
  EXPECT_EQ(count_notes(analysis, ": unreadable DWARF unit at .debug_info+0 (libdw: "), 1);
  EXPECT_EQ(count_notes(analysis, "critical objects are sized from the symbol table"), 1);
  expect_object(analysis, "init_cred", sizeof(struct cred), "symbol", ".data");
  expect_object(analysis, "init_task", 0, "none", ".data");
}

// A .BTF section that parses but lies: struct cred claims 1 MiB. The size
// is refused (it would cover memory past .data) and the symbol is used.
TEST(CollectObjects, BtfSizeBeyondTheSectionIsIgnored) {
  std::string path = patched_btf_fixture("objects_huge_cred.elf", [](uint8_t* btf, size_t size) {
    uint32_t header_length = 0;
    uint32_t type_offset = 0;
    std::memcpy(&header_length, btf + 4, 4);
    std::memcpy(&type_offset, btf + 8, 4);
    // Type 1 is `struct cred` (the first type pahole meets); its btf_type is
    // name_off, info, size.
    size_t size_field = size_t{header_length} + type_offset + 8;
    ASSERT_LT(size_field + 4, size);
    uint32_t old_size = 0;
    std::memcpy(&old_size, btf + size_field, 4);
    ASSERT_EQ(old_size, sizeof(struct cred));
    uint32_t huge = 1u << 20;
    std::memcpy(btf + size_field, &huge, 4);
  });
  Analysis analysis = analyze(path);
  expect_object(analysis, "init_cred", sizeof(struct cred), "symbol", ".data");
  EXPECT_EQ(count_notes(analysis, "init_cred: BTF gives 1048576 bytes, past the end of its section"), 1);
}

}  // namespace
}  // namespace vg::analyzer
