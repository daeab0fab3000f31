// Malformed inputs: each defect gets exactly one diagnostic line, "FILE: what
// is wrong", and nothing crashes. The bad files are made by editing one field
// of a fixture kernel (or by cutting it), so each test changes one thing.
#include <gtest/gtest.h>

#include "fixture.h"

namespace vg::analyzer {
namespace {

using testing::ElfEditor;
using testing::fixture_path;
using testing::read_file;
using testing::TempFile;

// The diagnostic open() gives for `bytes`; "" if the file is accepted.
std::string open_error(const std::vector<uint8_t>& bytes, std::string* path_out = nullptr) {
  TempFile file(bytes);
  if (path_out != nullptr) *path_out = file.path();
  auto image = ElfImage::open(file.path());
  if (image.ok()) return "";
  EXPECT_EQ(image.error().file, file.path());
  EXPECT_EQ(image.error().to_string().find('\n'), std::string::npos);
  return image.error().message;
}

// The diagnostic of the core stages for an image open() accepts.
std::string stage_error(const std::vector<uint8_t>& bytes) {
  TempFile file(bytes);
  auto image = ElfImage::open(file.path());
  if (!image.ok()) return "open: " + image.error().message;
  Analysis analysis;
  auto result = testing::run_core(*image.value(), analysis);
  return result.ok() ? "" : result.error().message;
}

ElfEditor fixture() {
  return ElfEditor(read_file(fixture_path("612")));
}

// Proves the unmodified fixture is accepted, so each edit below is the cause.
TEST(BadInput, UnmodifiedFixtureIsAccepted) {
  EXPECT_EQ(open_error(fixture().bytes()), "");
  EXPECT_EQ(stage_error(fixture().bytes()), "");
}

// Proves a file shorter than an ELF header is refused, not read past.
TEST(BadInput, TruncatedBeforeTheHeader) {
  std::vector<uint8_t> bytes = fixture().bytes();
  bytes.resize(40);
  EXPECT_EQ(open_error(bytes), "truncated: 40 bytes, smaller than an ELF64 header");
}

// Proves a file cut before its section headers is refused.
TEST(BadInput, TruncatedBeforeTheSectionHeaders) {
  ElfEditor editor = fixture();
  editor.bytes().resize(editor.header()->e_shoff + 100);
  EXPECT_NE(open_error(editor.bytes()).find("truncated: "), std::string::npos);
  EXPECT_NE(open_error(editor.bytes()).find("section headers"), std::string::npos);
}

// Proves a non-ELF file is named as such.
TEST(BadInput, NotAnElfFile) {
  const std::string text(200, 'x');
  EXPECT_EQ(open_error(std::vector<uint8_t>(text.begin(), text.end())), "not an ELF file (bad magic)");
}

// Proves an ELF for another machine is refused.
TEST(BadInput, NotX8664) {
  ElfEditor editor = fixture();
  editor.header()->e_machine = EM_AARCH64;
  EXPECT_EQ(open_error(editor.bytes()), "not x86-64 (e_machine 183)");
}

// Proves 32-bit and big-endian files are refused.
TEST(BadInput, NotElf64OrNotLittleEndian) {
  ElfEditor elf32 = fixture();
  elf32.header()->e_ident[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(open_error(elf32.bytes()), "not ELF64 (class 1)");
  ElfEditor big = fixture();
  big.header()->e_ident[EI_DATA] = ELFDATA2MSB;
  EXPECT_EQ(open_error(big.bytes()), "not little-endian");
}

// Proves a section whose bytes lie past the end of the file is refused.
TEST(BadInput, SectionOffsetPastTheFile) {
  ElfEditor editor = fixture();
  editor.section(".rodata")->sh_offset = editor.bytes().size() + 0x100;
  EXPECT_NE(open_error(editor.bytes()).find("section .rodata: offset "), std::string::npos);
  ElfEditor huge = fixture();
  huge.section(".text")->sh_size = 0xffffffffffff0000ull;
  EXPECT_NE(open_error(huge.bytes()).find("runs past the end of the file"), std::string::npos);
}

// Proves two sections at the same virtual addresses are refused.
TEST(BadInput, SectionsOverlapInMemory) {
  ElfEditor editor = fixture();
  editor.section(".data")->sh_addr = editor.section(".rodata")->sh_addr + 8;
  EXPECT_EQ(open_error(editor.bytes()).rfind("sections .rodata and .data overlap in memory at ", 0), 0u);
}

// Proves two sections sharing file bytes are refused.
TEST(BadInput, SectionsOverlapInTheFile) {
  ElfEditor editor = fixture();
  editor.section(".data")->sh_offset = editor.section(".text")->sh_offset;
  EXPECT_NE(open_error(editor.bytes()).find("overlap in the file at "), std::string::npos);
}

// Proves a function symbol outside its section is refused.
TEST(BadInput, SymbolOutsideItsSection) {
  ElfEditor editor = fixture();
  editor.symbol("target_fn")->st_value = editor.section(".text")->sh_addr + 0x100000;
  EXPECT_EQ(open_error(editor.bytes())
                .rfind("symbol target_fn at 0xffffffff81100000 lies outside its section .text", 0),
            0u);
}

// Proves a symbol naming a section that does not exist is refused.
TEST(BadInput, SymbolInMissingSection) {
  ElfEditor editor = fixture();
  editor.symbol("target_fn")->st_shndx = 200;
  EXPECT_EQ(open_error(editor.bytes()), "symbol target_fn: section index 200 does not exist");
}

// Proves absurd section counts are refused before anything is allocated.
TEST(BadInput, AbsurdSectionCount) {
  ElfEditor editor = fixture();
  editor.header()->e_shnum = 60000;
  EXPECT_EQ(open_error(editor.bytes()), "absurd section count 60000");
}

// Proves a symbol name outside the string table is refused.
TEST(BadInput, SymbolNameOutsideStringTable) {
  ElfEditor editor = fixture();
  editor.symbol("target_fn")->st_name = 0x7fffffff;
  EXPECT_NE(open_error(editor.bytes()).find("name offset 0x7fffffff is outside the string table"),
            std::string::npos);
}

// Proves a symbol table whose size is not whole entries is refused.
TEST(BadInput, SymbolTableNotWholeEntries) {
  ElfEditor editor = fixture();
  editor.section(".symtab")->sh_size -= 4;
  EXPECT_NE(open_error(editor.bytes()).find("is not a multiple of 24"), std::string::npos);
}

// Proves a special section whose size is not a multiple of its entry size
// gets its diagnostic (here the jump table, 3 entries + 4 bytes).
TEST(BadInput, SpecialSectionNotWholeEntries) {
  ElfEditor editor = fixture();
  editor.symbol("__stop___jump_table")->st_value += 4;
  EXPECT_EQ(stage_error(editor.bytes()), "__jump_table: size 52 is not a multiple of its entry size 16");
  ElfEditor returns = fixture();
  returns.symbol("__return_sites_end")->st_value -= 2;
  EXPECT_EQ(stage_error(returns.bytes()), ".return_sites: size 6 is not a multiple of its entry size 4");
}

// Proves an entry pointing outside kernel text is a diagnostic, not a crash.
TEST(BadInput, SpecialSectionEntryOutsideText) {
  ElfEditor editor = fixture();
  Elf64_Sym* table = editor.symbol("__return_sites");
  uint8_t* entry = editor.at_va(".return_sites", table->st_value);
  const uint64_t data = editor.section(".data")->sh_addr;
  const auto rel = static_cast<int32_t>(static_cast<int64_t>(data - table->st_value));
  std::memcpy(entry, &rel, 4);
  EXPECT_EQ(stage_error(editor.bytes()),
            ".return_sites entry 0: site 0xffffffff81002000 is outside kernel text");
}

// Proves alternatives matching neither layout are refused with one line.
TEST(BadInput, AlternativesMatchNoLayout) {
  ElfEditor editor = fixture();
  editor.symbol("__alt_instructions_end")->st_value -= 1;  // 83 bytes: neither 12 nor 14 divides it
  EXPECT_EQ(stage_error(editor.bytes()),
            ".altinstructions: size 83 is not a multiple of its entry size (12 in 6.1, 14 in 6.12)");
}

}  // namespace
}  // namespace vg::analyzer

namespace vg::analyzer {
namespace {

// The layout of a fixture whose symbol `hidden` was renamed to "target_fn"
// (its name offset now points at another name).
KernelLayout layout_without(const std::string& fixture_layout, const std::vector<std::string>& hidden) {
  ElfEditor editor(read_file(fixture_path(fixture_layout)));
  for (const std::string& name : hidden) editor.symbol(name)->st_name = editor.symbol("target_fn")->st_name;
  TempFile file(editor.bytes());
  auto image = ElfImage::open(file.path());
  EXPECT_TRUE(image.ok());
  Analysis analysis;
  EXPECT_TRUE(collect_kernel_info(*image.value(), analysis).ok());
  return analysis.kernel.layout;
}

// Proves the layout comes from the alt_instr entry size, not from the
// presence of layout-specific bounds symbols.
TEST(LayoutDetection, EntrySizeDecidesWithoutHintSymbols) {
  EXPECT_EQ(layout_without("61", {"__parainstructions"}), KernelLayout::kLinux61);
  EXPECT_EQ(layout_without("612", {"__call_sites", "__ibt_endbr_seal", "__start_runtime_shift_d_hash_shift"}),
            KernelLayout::kLinux612);
}

}  // namespace
}  // namespace vg::analyzer
