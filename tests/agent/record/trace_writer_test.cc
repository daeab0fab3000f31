// The vgtrace writer (docs/trace-format.md): what the replay reads is what
// the format says, and nothing the format cannot carry is ever written.
#include "agent/trace_writer.h"

#include <gtest/gtest.h>

#include "record_fixture.h"

namespace vg::agent {
namespace {

using test::MemoryFile;

TracePatch patch(uint64_t va, std::vector<uint8_t> old_bytes, std::vector<uint8_t> new_bytes) {
  TracePatch p;
  p.va = va;
  p.length = static_cast<uint8_t>(old_bytes.size());
  std::memcpy(p.old_bytes, old_bytes.data(), old_bytes.size());
  std::memcpy(p.new_bytes, new_bytes.data(), new_bytes.size());
  return p;
}

TraceKernel debian_kernel() {
  return {"6.12.117+deb12-cloud-amd64", "0a1b2c", 0xffffffff81000000, 0};
}

TEST(TraceWriter, WritesEveryRecordKindAsTheFormatSpellsIt) {
  MemoryFile file;
  TraceWriter writer(file.get());
  ASSERT_TRUE(writer.begin(debian_kernel()).ok());
  ASSERT_TRUE(writer.phase("boot").ok());
  ASSERT_TRUE(writer.boot(patch(0xffffffff81000010, {0xe8, 0, 0, 0, 0}, {0x0f, 0x1f, 0x44, 0, 0})).ok());
  ASSERT_TRUE(writer.phase("static-key").ok());
  const TracePatch entries[] = {patch(0xffffffff81234560, {0x66, 0x90}, {0xeb, 0x10}),
                                patch(0xffffffff81234570, {0x0f, 0x1f, 0x44, 0, 0}, {0xe9, 1, 2, 3, 4})};
  ASSERT_TRUE(writer.batch(0x1f, BatchOrigin::kJumpLabel, entries).ok());
  ASSERT_TRUE(writer.poke(patch(0xffffffff81100000, {0x55}, {0xcc})).ok());
  const uint8_t digest[32] = {0xab, 0xcd};
  ASSERT_TRUE(writer.module("nls_utf8", 0xffffffffc0200000, 1234, digest).ok());
  ASSERT_TRUE(writer.module_free("nls_utf8", 0xffffffffc0200000).ok());
  ASSERT_TRUE(writer.jit(0xffffffffa0001000, 96).ok());
  ASSERT_TRUE(writer.cr(4, 0x3506f0).ok());
  ASSERT_TRUE(writer.note("probe native_write_cr0 did not attach").ok());
  ASSERT_TRUE(writer.end(42, 0).ok());
  EXPECT_EQ(file.text(),
            "vgtrace 2\n"
            "kernel 6.12.117+deb12-cloud-amd64 0a1b2c ffffffff81000000 0\n"
            "phase boot\n"
            "boot ffffffff81000010 e800000000 0f1f440000\n"
            "phase static-key\n"
            "batch 1f jump_label 2\n"
            "poke ffffffff81234560 6690 eb10\n"
            "poke ffffffff81234570 0f1f440000 e901020304\n"
            "poke ffffffff81100000 55 cc\n"
            "module nls_utf8 ffffffffc0200000 1234 abcd" +
                std::string(60, '0') +
                "\n"
                "module-free nls_utf8 ffffffffc0200000\n"
                "jit ffffffffa0001000 96\n"
                "cr cr4 3506f0\n"
                "note probe native_write_cr0 did not attach\n"
                "end 42 0\n");
  EXPECT_TRUE(writer.ended());
}

TEST(TraceWriter, RefusesWhatTheFormatCannotCarry) {
  MemoryFile file;
  TraceWriter writer(file.get());
  EXPECT_EQ(writer.phase("boot").error(), "trace record before the header");
  ASSERT_TRUE(writer.begin(debian_kernel()).ok());
  EXPECT_FALSE(writer.begin(debian_kernel()).ok());
  EXPECT_FALSE(writer.phase("Boot").ok());
  EXPECT_FALSE(writer.phase("two words").ok());
  EXPECT_FALSE(writer.phase("").ok());
  EXPECT_FALSE(writer.phase(std::string(65, 'a')).ok());
  TracePatch empty;
  EXPECT_FALSE(writer.poke(empty).ok());
  TracePatch too_long = patch(0x10, std::vector<uint8_t>(16, 0), std::vector<uint8_t>(16, 1));
  too_long.length = 17;
  EXPECT_EQ(writer.boot(too_long).error(), "patch at 10: 17 bytes (the format carries 1..16)");
  EXPECT_FALSE(writer.batch(1, BatchOrigin::kFtrace, {}).ok());
  EXPECT_FALSE(writer.jit(0x1000, 0).ok());
  EXPECT_FALSE(writer.cr(3, 1).ok());
  ASSERT_TRUE(writer.end(0, 0).ok());
  EXPECT_EQ(writer.note("late").error(), "trace record after `end`");
  EXPECT_EQ(file.text(), "vgtrace 2\nkernel 6.12.117+deb12-cloud-amd64 0a1b2c ffffffff81000000 0\nend 0 0\n");
}

TraceDataChange data_change(std::vector<TraceDataPiece> pieces, uint64_t changed) {
  TraceDataChange change;
  change.name = "level2_kernel_pgt";
  change.va = 0xffffffff82e0b000;
  change.size = 4096;
  change.protection = DataProtection::kWriteMediated;
  change.changed = changed;
  change.pieces = std::move(pieces);
  return change;
}

TraceDataPiece piece(uint64_t offset, std::vector<uint8_t> old_bytes, std::vector<uint8_t> new_bytes) {
  TraceDataPiece p;
  p.offset = offset;
  p.length = static_cast<uint8_t>(old_bytes.size());
  std::memcpy(p.old_bytes, old_bytes.data(), old_bytes.size());
  std::memcpy(p.new_bytes, new_bytes.data(), new_bytes.size());
  return p;
}

// Format 2: a changed critical data object is one `data` line and its pieces.
TEST(TraceWriter, WritesDataRecordsWithTheirPieces) {
  MemoryFile file;
  TraceWriter writer(file.get());
  ASSERT_TRUE(writer.begin(debian_kernel()).ok());
  ASSERT_TRUE(writer.data(data_change({piece(0x10, {0xe3, 1}, {0x63, 1}), piece(0x1f8, {0}, {1})}, 40)).ok());
  EXPECT_EQ(file.text(),
            "vgtrace 2\nkernel 6.12.117+deb12-cloud-amd64 0a1b2c ffffffff81000000 0\n"
            "data level2_kernel_pgt ffffffff82e0b000 4096 write_mediated 40 2\n"
            "piece 10 e301 6301\n"
            "piece 1f8 00 01\n");
}

TEST(TraceWriter, RefusesDataRecordsTheReaderWouldReject) {
  MemoryFile file;
  TraceWriter writer(file.get());
  ASSERT_TRUE(writer.begin(debian_kernel()).ok());
  EXPECT_EQ(writer.data(data_change({}, 1)).error(),
            "data record of level2_kernel_pgt: 0 pieces (the format carries 1..8)");
  EXPECT_FALSE(writer.data(data_change(std::vector<TraceDataPiece>(9, piece(0, {0}, {1})), 9)).ok());
  EXPECT_EQ(writer.data(data_change({piece(0, {0}, {1})}, 0)).error(),
            "data record of level2_kernel_pgt: 0 changed bytes in an object of 4096");
  EXPECT_FALSE(writer.data(data_change({piece(0, {0}, {1})}, 4097)).ok());
  EXPECT_FALSE(writer.data(data_change({piece(4095, {0, 0}, {1, 1})}, 2)).ok());
  EXPECT_FALSE(writer.data(data_change({piece(8, {0, 0}, {1, 1}), piece(9, {0}, {1})}, 3)).ok());
  EXPECT_EQ(writer.data(data_change({piece(0, {0, 0}, {1, 1})}, 1)).error(),
            "data record of level2_kernel_pgt: pieces hold more bytes than CHANGED");
  TraceDataPiece empty;
  EXPECT_FALSE(writer.data(data_change({empty}, 1)).ok());
  EXPECT_EQ(file.text(), "vgtrace 2\nkernel 6.12.117+deb12-cloud-amd64 0a1b2c ffffffff81000000 0\n");
}

TEST(TraceWriter, KernelSuppliedTextCannotBreakALine) {
  MemoryFile file;
  TraceWriter writer(file.get());
  TraceKernel kernel = debian_kernel();
  kernel.build_id_hex = "0A";
  EXPECT_FALSE(writer.begin(kernel).ok());
  ASSERT_TRUE(writer.begin(debian_kernel()).ok());
  const uint8_t digest[32] = {};
  ASSERT_TRUE(writer.module(std::string_view("evil name\nend 0 0", 17), 0x1000, 1, digest).ok());
  ASSERT_TRUE(writer.module_free("", 0x1000).ok());
  ASSERT_TRUE(writer.note("two\nlines\x01\xff").ok());
  const std::string text = file.text();
  EXPECT_NE(text.find("module evil_name_end_0_0 1000 1 "), std::string::npos);
  EXPECT_NE(text.find("module-free _ 1000\n"), std::string::npos);
  EXPECT_NE(text.find("note two?lines??\n"), std::string::npos);
  EXPECT_EQ(text.find("\nend"), std::string::npos);
}

}  // namespace
}  // namespace vg::agent
