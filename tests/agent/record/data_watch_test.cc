// The critical data snapshots of record mode (--watch-data): the watch list
// the host writes from the policy, what one changed object becomes in the
// trace, and which snapshot a change is reported against.
#include "agent/data_watch.h"

#include <gtest/gtest.h>

#include <map>

#include "record_fixture.h"

namespace vg::agent {
namespace {

using test::MemoryFile;

TEST(WatchList, ParsesThePolicyObjects) {
  auto objects = parse_watch_list(
      "# from vmplguard policy show\n"
      "apic ffffffff83a2c0a8 8 locked_after_boot\n"
      "\n"
      "level2_kernel_pgt  ffffffff82e0b000\t4096 write_mediated\n"
      "init_task ffffffff82a0a940 9792 watched\n");
  ASSERT_TRUE(objects.ok()) << objects.error();
  ASSERT_EQ(objects->size(), 3u);
  EXPECT_EQ((*objects)[0].name, "apic");
  EXPECT_EQ((*objects)[0].link_va, 0xffffffff83a2c0a8u);
  EXPECT_EQ((*objects)[0].size, 8u);
  EXPECT_EQ((*objects)[0].protection, DataProtection::kLockedAfterBoot);
  EXPECT_EQ((*objects)[1].protection, DataProtection::kWriteMediated);
  EXPECT_EQ((*objects)[2].protection, DataProtection::kWatched);
}

TEST(WatchList, RefusesBadLinesByNumber) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"apic ffffffff83a2c0a8 8\n", "line 1: expected NAME LINK_VA SIZE PROTECTION"},
      {"#\napic 0xffffffff83a2c0a8 8 watched\n", "line 2: LINK_VA is not a lower-case hex address"},
      {"apic ffffffff83a2c0a8 0 watched\n", "line 1: SIZE must be 1..1048576 (decimal)"},
      {"apic ffffffff83a2c0a8 1048577 watched\n", "line 1: SIZE must be 1..1048576 (decimal)"},
      {"apic ffffffffffffffff 2 watched\n", "line 1: range wraps"},
      {"apic ffffffff83a2c0a8 8 locked\n",
       "line 1: PROTECTION must be locked_after_boot, write_mediated or watched"},
      {"ap/ic ffffffff83a2c0a8 8 watched\n", "line 1: NAME must be 1..128 characters of [A-Za-z0-9_.+-]"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_watch_list(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error(), c.error) << c.text;
  }
}

// A whole page table rewritten must not become kilobytes of trace: the count
// is exact, the pieces are the first runs cut at 16 bytes.
TEST(DiffObject, CountsEveryChangedByteAndKeepsTheFirstPieces) {
  WatchedObject object{"level2_kernel_pgt", 0xffffffff82e0b000, 4096, DataProtection::kWriteMediated};
  std::vector<uint8_t> before(4096, 0), after(4096, 0);
  after[3] = 1;                                                 // one byte
  for (size_t i = 0x100; i < 0x100 + 20; ++i) after[i] = 0xaa;  // 20 bytes: pieces of 16 and 4
  for (size_t i = 0x800; i < 0x1000; ++i) after[i] = 0x55;      // 2048 bytes
  const TraceDataChange change = diff_object(object, before, after);
  EXPECT_EQ(change.name, "level2_kernel_pgt");
  EXPECT_EQ(change.va, 0xffffffff82e0b000u);
  EXPECT_EQ(change.size, 4096u);
  EXPECT_EQ(change.protection, DataProtection::kWriteMediated);
  EXPECT_EQ(change.changed, 1u + 20u + 2048u);
  ASSERT_EQ(change.pieces.size(), kMaxDataPieces);
  EXPECT_EQ(change.pieces[0].offset, 3u);
  EXPECT_EQ(change.pieces[0].length, 1u);
  EXPECT_EQ(change.pieces[0].new_bytes[0], 1u);
  EXPECT_EQ(change.pieces[1].offset, 0x100u);
  EXPECT_EQ(change.pieces[1].length, 16u);
  EXPECT_EQ(change.pieces[2].offset, 0x110u);
  EXPECT_EQ(change.pieces[2].length, 4u);
  EXPECT_EQ(change.pieces[3].offset, 0x800u);
  EXPECT_EQ(change.pieces[7].offset, 0x840u);
  EXPECT_EQ(change.pieces[7].old_bytes[0], 0u);
  EXPECT_EQ(change.pieces[7].new_bytes[15], 0x55u);
}

// Kernel memory as a map from runtime address to bytes; tests change it
// between snapshots.
struct FakeKernel {
  std::map<uint64_t, std::vector<uint8_t>> memory;
  KernelReader reader() {
    return [this](uint64_t va, uint64_t size) -> Result<std::vector<uint8_t>, std::string> {
      auto it = memory.find(va);
      if (it == memory.end() || it->second.size() != size) return Err(std::string("no segment covers it"));
      return it->second;
    };
  }
};

TEST(DataWatch, ReportsEachChangeOnceAgainstThePreviousSnapshot) {
  constexpr uint64_t kSlide = 0x3e00000;
  FakeKernel kernel;
  kernel.memory[0xffffffff83a2c0a8 + kSlide] = std::vector<uint8_t>(8, 0x11);
  kernel.memory[0xffffffff82a0a940 + kSlide] = std::vector<uint8_t>(32, 0);
  std::vector<WatchedObject> objects = {
      {"apic", 0xffffffff83a2c0a8, 8, DataProtection::kLockedAfterBoot},
      {"init_task", 0xffffffff82a0a940, 32, DataProtection::kWatched},
      {"gdt_page", 0x1000, 4096, DataProtection::kWatched},  // percpu: not in the kernel mapping
  };
  MemoryFile file;
  TraceWriter writer(file.get());
  ASSERT_TRUE(writer.begin({"r", "00", 0xffffffff81000000, kSlide}).ok());
  DataWatch watch(objects, kSlide, kernel.reader());
  ASSERT_TRUE(watch.baseline(writer).ok());
  auto none = watch.check(writer);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  kernel.memory[0xffffffff83a2c0a8 + kSlide][7] = 0x22;
  auto one = watch.check(writer);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1u);
  EXPECT_EQ(*watch.check(writer), 0u);  // reported once, not at every later boundary
  kernel.memory.erase(0xffffffff82a0a940 + kSlide);
  EXPECT_EQ(*watch.check(writer), 0u);
  EXPECT_EQ(watch.records(), 1u);
  const std::string text = file.text();
  EXPECT_NE(text.find("note data gdt_page not watched: no segment covers it\n"), std::string::npos) << text;
  EXPECT_NE(text.find("note data baseline: 2 of 3 objects, 40 bytes\n"), std::string::npos) << text;
  // Link-time VA, as for kernel text.
  EXPECT_NE(text.find("data apic ffffffff83a2c0a8 8 locked_after_boot 1 1\npiece 7 11 22\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("note data init_task no longer watched: no segment covers it\n"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace vg::agent
