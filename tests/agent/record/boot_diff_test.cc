// The boot-time text diff and the /proc/kcore reader it relies on. The kcore
// fixture is a tiny ELF core file written here: one PT_LOAD segment mapping
// a known virtual address to known bytes, as /proc/kcore maps kernel text.
#include "agent/boot_diff.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace vg::agent {
namespace {

std::string write_core(const std::vector<uint8_t>& text, uint64_t va, uint16_t type = ET_CORE) {
  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = type;
  header.e_machine = EM_X86_64;
  header.e_phoff = sizeof(header);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = 2;
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_vaddr = va;
  load.p_offset = 0x1000;
  load.p_filesz = text.size();
  load.p_memsz = text.size();
  char path[] = "/tmp/vg_kcore_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::vector<uint8_t> file(0x1000 + text.size());
  std::memcpy(file.data(), &header, sizeof(header));
  std::memcpy(file.data() + sizeof(header), &note, sizeof(note));
  std::memcpy(file.data() + sizeof(header) + sizeof(note), &load, sizeof(load));
  std::memcpy(file.data() + 0x1000, text.data(), text.size());
  EXPECT_EQ(write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
  close(fd);
  return path;
}

TEST(BootDiff, ReadsTheSegmentThatCoversTheRange) {
  std::vector<uint8_t> text(256);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>(i);
  const std::string core = write_core(text, 0xffffffff81000000);
  auto bytes = read_kcore(core, 0xffffffff81000010, 16);
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_EQ((*bytes)[0], 0x10);
  EXPECT_EQ((*bytes)[15], 0x1f);
  auto outside = read_kcore(core, 0xffffffff810000f8, 16);  // runs past the segment
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().find("no loadable segment covers 16 bytes at 0xffffffff810000f8"),
            std::string::npos);
  std::remove(core.c_str());
}

TEST(BootDiff, RefusesAFileThatIsNotACore) {
  const std::string not_core = write_core(std::vector<uint8_t>(16), 0x1000, ET_EXEC);
  EXPECT_NE(read_kcore(not_core, 0x1000, 16).error().find("not a 64-bit ELF core file"), std::string::npos);
  std::remove(not_core.c_str());
  EXPECT_FALSE(read_kcore("/nonexistent/kcore", 0, 1).ok());
}

TEST(BootDiff, CutsDifferingRunsIntoPatchesOfAtMost16Bytes) {
  std::vector<uint8_t> disk(64, 0x90);
  std::vector<uint8_t> live = disk;
  live[3] = 0xcc;                                   // one byte
  for (size_t i = 10; i < 30; ++i) live[i] = 0xc3;  // 20 bytes: 16 + 4
  live[63] = 0x00;                                  // at the very end
  auto patches = diff_text(ByteView{disk.data(), disk.size()}, ByteView{live.data(), live.size()}, 0x1000);
  ASSERT_EQ(patches.size(), 4u);
  EXPECT_EQ(patches[0].va, 0x1003u);
  EXPECT_EQ(patches[0].length, 1);
  EXPECT_EQ(patches[0].old_bytes[0], 0x90);
  EXPECT_EQ(patches[0].new_bytes[0], 0xcc);
  EXPECT_EQ(patches[1].va, 0x100au);
  EXPECT_EQ(patches[1].length, 16);
  EXPECT_EQ(patches[2].va, 0x101au);
  EXPECT_EQ(patches[2].length, 4);
  EXPECT_EQ(patches[3].va, 0x103fu);
  EXPECT_EQ(patches[3].length, 1);
  EXPECT_TRUE(diff_text(ByteView{disk.data(), disk.size()}, ByteView{disk.data(), disk.size()}, 0).empty());
}

TEST(BootDiff, NeverLetsAPatchStraddleTwoSites) {
  // An ENDBR poisoned right before an __fentry__ call turned into a NOP: one
  // run of differing bytes over two sites, cut where the second starts.
  const std::vector<uint8_t> disk = {0x90, 0xf3, 0x0f, 0x1e, 0xfa, 0xe8, 1, 2, 3, 4, 0x90};
  const std::vector<uint8_t> live = {0x90, 0x66, 0x0f, 0x1f, 0x00, 0x0f, 0x1f, 0x44, 0, 0, 0x90};
  const uint64_t cuts[] = {0x1001, 0x1005};
  auto patches =
      diff_text(ByteView{disk.data(), disk.size()}, ByteView{live.data(), live.size()}, 0x1000, cuts);
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(patches[0].va, 0x1001u);  // f3 -> 66
  EXPECT_EQ(patches[0].length, 1);
  EXPECT_EQ(patches[1].va, 0x1003u);  // 1efa -> 1f00, the seal's tail
  EXPECT_EQ(patches[1].length, 2);
  EXPECT_EQ(patches[2].va, 0x1005u);  // the call -> nop5
  EXPECT_EQ(patches[2].length, 5);
}

TEST(BootDiff, ParsesACutListAndNamesTheBadLine) {
  auto cuts = parse_cut_list("# sites\nffffffff81000010\nffffffff81000005\nffffffff81000010\n");
  ASSERT_TRUE(cuts.ok()) << cuts.error();
  EXPECT_EQ(*cuts, (std::vector<uint64_t>{0xffffffff81000005, 0xffffffff81000010}));
  EXPECT_EQ(parse_cut_list("10\nxyz\n").error(), "line 2: not a lower-case hex address");
  EXPECT_EQ(parse_cut_list("10\n1ffffffff81000000\n").error(), "line 2: not a hex address");
  EXPECT_EQ(parse_cut_list("FF\n").error(), "line 1: not a lower-case hex address");
}

}  // namespace
}  // namespace vg::agent
