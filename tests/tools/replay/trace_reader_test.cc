// The vgtrace reader: what a well-formed trace gives, and the error (with
// file and line) each kind of bad input gets.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <string>

#include "replay/trace.h"

namespace vg::replay {
namespace {

const char kHeader[] =
    "vgtrace 1\n"
    "# comment\n"
    "kernel 6.12.117+deb12-cloud-amd64 7f76f39faf07f34cfa9fadd801e131bfa8cb6dc3 ffffffff81000000 3e00000\n";

std::string error_of(const std::string& text) {
  auto parsed = parse_trace(text, "t.vgtrace");
  return parsed.ok() ? std::string("(parsed)") : parsed.error();
}

TEST(TraceReader, ParsesEveryRecordKind) {
  const std::string text = std::string(kHeader) +
                           "phase boot\n"
                           "boot ffffffff81001010 0f1f440000 e9eb000000\n"
                           "\n"
                           "phase static-key\n"
                           "batch 1f jump_label 2\n"
                           "poke ffffffff81001010 e9eb000000 0f1f440000\n"
                           "poke ffffffff81002000 0f1f440000 e8fb0f0000\n"
                           "poke ffffffff81003000 cc cc\n"
                           "module vg_attack ffffffffc0800000 4096 "
                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                           "module-free vg_attack ffffffffc0800000\n"
                           "jit ffffffffa0001000 300\n"
                           "cr cr4 3506f0\n"
                           "note probes: 7 attached, kprobe on __text_poke failed\n"
                           "end 9 0\n";
  auto parsed = parse_trace(text, "t.vgtrace");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const Trace& trace = parsed.value();
  EXPECT_EQ(trace.kernel.release, "6.12.117+deb12-cloud-amd64");
  EXPECT_EQ(trace.kernel.build_id.size(), 20u);
  EXPECT_EQ(trace.kernel.kaslr_offset, 0x3e00000u);
  ASSERT_EQ(trace.phases.size(), 3u);
  ASSERT_EQ(trace.events.size(), 9u);
  EXPECT_EQ(trace.events[1].kind, EventKind::kBoot);
  EXPECT_EQ(trace.events[1].patches[0].new_bytes[0], 0xe9);
  const Event& batch = trace.events[3];
  EXPECT_EQ(batch.kind, EventKind::kBatch);
  EXPECT_EQ(batch.origin, Origin::kJumpLabel);
  EXPECT_EQ(batch.value, 0x1fu);
  ASSERT_EQ(batch.patches.size(), 2u);
  EXPECT_EQ(batch.patches[1].line, 10u);
  EXPECT_EQ(trace.phases[batch.phase], "static-key");
  EXPECT_EQ(trace.events[4].kind, EventKind::kPoke);
  EXPECT_EQ(trace.events[5].size, 4096u);
  EXPECT_EQ(trace.events[5].sha256[31], 0xff);
  EXPECT_EQ(trace.events[8].value, 0x3506f0u);
  ASSERT_EQ(trace.notes.size(), 1u);
  EXPECT_EQ(trace.end_events, 9u);
}

TEST(TraceReader, RefusesBadInputWithFileAndLine) {
  const std::string h = kHeader;  // 3 lines
  const struct {
    std::string text;
    std::string error;
  } cases[] = {
      {"", "t.vgtrace:0: empty trace"},
      {"vgtrace 3\n", "t.vgtrace:1: unsupported trace version 3 (this reader knows 1 and 2)"},
      {"vgtrace 0\n", "t.vgtrace:1: unsupported trace version 0"},
      {"kernel x\n", "t.vgtrace:1: first record must be 'vgtrace 1' or 'vgtrace 2'"},
      {"vgtrace 1\nphase boot\n", "t.vgtrace:2: 'phase' before the 'kernel' record"},
      {h + "frobnicate 1\nend 0 0\n", "t.vgtrace:4: unknown record kind 'frobnicate'"},
      {h + "poke FFFFFFFF81001000 cc cc\nend 0 0\n",
       "t.vgtrace:4: VA: 'FFFFFFFF81001000' is not lower-case hex"},
      {h + "poke ffffffff81001000 c cc\nend 0 0\n", "t.vgtrace:4: OLD: 'c' is not 1..16 hex byte pairs"},
      {h + "poke ffffffff81001000 " + std::string(34, 'c') + " " + std::string(34, 'c') + "\nend 0 0\n",
       "t.vgtrace:4: OLD: "},
      {h + "poke ffffffff81001000 cccc cc\nend 0 0\n", "t.vgtrace:4: OLD has 2 bytes, NEW 1"},
      {h + "poke ffffffff81001000 cc\nend 0 0\n", "t.vgtrace:4: 'poke' needs VA OLD NEW"},
      {h + "poke ffffffff81001000  cc cc\nend 0 0\n", "t.vgtrace:4: empty field"},
      {h + "poke ffffffff81001000 cc cc \nend 0 0\n", "t.vgtrace:4: empty field"},
      {h + "batch 1 jump_label 2\npoke ffffffff81001000 cc cc\nend 0 0\n",
       "t.vgtrace:6: batch of line 4 still owes 1 poke records, got 'end'"},
      {h + "batch 1 jump_label 2\npoke ffffffff81001000 cc cc\n",
       "t.vgtrace:5: truncated inside the batch of line 4"},
      {h + "batch 1 jump_label 0\nend 0 0\n", "t.vgtrace:4: COUNT must be"},
      {h + "batch 1 livepatch 1\npoke ffffffff81001000 cc cc\nend 0 0\n",
       "t.vgtrace:4: unknown batch origin 'livepatch'"},
      {h + "phase boot\n", "t.vgtrace:4: truncated: no 'end' record"},
      {h + "end 0 0\nphase boot\n", "t.vgtrace:5: record after 'end'"},
      {h + "end 0\n", "t.vgtrace:4: 'end' takes 2 fields, got 1"},
      {h + "kernel a 00 0 0\nend 0 0\n", "t.vgtrace:4: second 'kernel' record"},
      {h + "cr cr3 1000\nend 0 0\n", "t.vgtrace:4: REG must be cr0 or cr4"},
      {h + "module m ffffffffc0000000 10 0011\nend 0 0\n", "t.vgtrace:4: SHA256 must be 32 bytes"},
      {h + "module m ffffffffc0000000 0 " + std::string(64, 'a') + "\nend 0 0\n", "t.vgtrace:4: module SIZE"},
      {h + "module bad/name ffffffffc0000000 10 " + std::string(64, 'a') + "\nend 0 0\n",
       "t.vgtrace:4: NAME: 'bad/name' has a character outside"},
      {h + "jit ffffffffa0000000 12x\nend 0 0\n", "t.vgtrace:4: SIZE: '12x' is not a decimal number"},
      {h + "phase a\x01"
           "b\nend 0 0\n",
       "t.vgtrace:4: control character in line"},
      {h + "poke ffffffffffffffff cccc cccc\nend 0 0\n", "t.vgtrace:4: VA + length wraps"},
      {"vgtrace 1\nkernel r 00 ffffffff81000100 0\nend 0 0\n",
       "t.vgtrace:2: LINK_TEXT and KASLR_OFFSET must be page multiples"},
      {h + "phase " + std::string(5000, 'a') + "\n", "t.vgtrace:4: line longer than 4096 bytes"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.text);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << "input:\n" << c.text.substr(0, 200) << "\ngot: " << error;
  }
}

const char kHeader2[] =
    "vgtrace 2\n"
    "kernel 6.12.117+deb12-cloud-amd64 7f76f39faf07f34cfa9fadd801e131bfa8cb6dc3 ffffffff81000000 0\n";

// Format 2's `data` records: a critical data object the kernel rewrote after
// boot, with its protection class and the first changed pieces, each at its
// link address (object VA + OFFSET) for the replay.
TEST(TraceReader, ParsesDataRecordsOfFormatTwo) {
  auto parsed = parse_trace(std::string(kHeader2) +
                                "phase module\n"
                                "data level2_kernel_pgt ffffffff82e0b000 4096 write_mediated 9 2\n"
                                "piece 10 e3010001 63010001\n"
                                "piece 1f8 00 01\n"
                                "data init_task ffffffff82a0a940 9792 watched 1 1\n"
                                "piece 0 00 01\n"
                                "end 0 0\n",
                            "t.vgtrace");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const Trace& trace = parsed.value();
  EXPECT_EQ(trace.version, 2u);
  ASSERT_EQ(trace.events.size(), 3u);
  const Event& pgt = trace.events[1];
  EXPECT_EQ(pgt.kind, EventKind::kData);
  EXPECT_EQ(pgt.name, "level2_kernel_pgt");
  EXPECT_EQ(pgt.va, 0xffffffff82e0b000u);
  EXPECT_EQ(pgt.size, 4096u);
  EXPECT_EQ(pgt.protection, DataProtection::kWriteMediated);
  EXPECT_EQ(pgt.value, 9u);
  ASSERT_EQ(pgt.patches.size(), 2u);
  EXPECT_EQ(pgt.patches[0].va, 0xffffffff82e0b010u);
  EXPECT_EQ(pgt.patches[0].length, 4u);
  EXPECT_EQ(pgt.patches[0].new_bytes[0], 0x63);
  EXPECT_EQ(pgt.patches[1].va, 0xffffffff82e0b1f8u);
  EXPECT_EQ(trace.phases[pgt.phase], "module");
  EXPECT_EQ(trace.events[2].protection, DataProtection::kWatched);
}

TEST(TraceReader, RefusesBadDataRecords) {
  const std::string h = kHeader2;  // 2 lines
  const std::string d = "data x ffffffff82000000 64 locked_after_boot ";
  const struct {
    std::string text;
    std::string error;
  } cases[] = {
      {std::string(kHeader) + "data x ffffffff82000000 64 watched 1 1\npiece 0 00 01\nend 0 0\n",
       "t.vgtrace:4: 'data' records need 'vgtrace 2'"},
      {h + d + "1\nend 0 0\n", "t.vgtrace:3: 'data' takes 6 fields, got 5"},
      {h + "data x ffffffff82000000 64 locked 1 1\npiece 0 00 01\nend 0 0\n",
       "t.vgtrace:3: unknown PROTECTION 'locked'"},
      {h + d + "0 1\npiece 0 00 01\nend 0 0\n", "t.vgtrace:3: CHANGED must be 1..SIZE (64)"},
      {h + d + "65 1\npiece 0 00 01\nend 0 0\n", "t.vgtrace:3: CHANGED must be 1..SIZE"},
      {h + d + "1 0\nend 0 0\n", "t.vgtrace:3: PIECES must be 1..8"},
      {h + d + "1 9\nend 0 0\n", "t.vgtrace:3: PIECES must be 1..8"},
      {h + "data x ffffffff82000000 0 watched 1 1\npiece 0 00 01\nend 0 0\n",
       "t.vgtrace:3: data SIZE must be 1..4 GiB"},
      {h + "data x ffffffffffffffc0 65 watched 1 1\npiece 0 00 01\nend 0 0\n",
       "t.vgtrace:3: VA + SIZE wraps"},
      {h + d + "2 2\npiece 0 00 01\nend 0 0\n",
       "t.vgtrace:5: data record of line 3 still owes 1 piece records, got 'end'"},
      {h + d + "1 1\npiece 0 00 01\n", "t.vgtrace:4: truncated: no 'end' record"},
      {h + d + "2 2\npiece 0 00 01\n", "t.vgtrace:4: truncated inside the data record of line 3"},
      {h + d + "2 1\nnote x\nend 0 0\n", "t.vgtrace:4: data record of line 3 still owes 1 piece records"},
      {h + d + "2 1\npiece 40 00 01\nend 0 0\n", "t.vgtrace:4: piece at offset 64 leaves the object"},
      {h + d + "2 1\npiece 3f 0000 0101\nend 0 0\n", "t.vgtrace:4: piece at offset 63 leaves the object"},
      {h + d + "4 2\npiece 4 0000 0101\npiece 5 00 01\nend 0 0\n",
       "t.vgtrace:5: piece at offset 5 overlaps or precedes the previous one"},
      {h + d + "1 1\npiece 0 0000 0101\nend 0 0\n", "t.vgtrace:4: pieces hold more bytes than CHANGED"},
      {h + d + "1 1\npiece 0 00\nend 0 0\n", "t.vgtrace:4: 'piece' needs OFFSET OLD NEW"},
      {h + d + "1 1\npiece 0 " + std::string(34, 'c') + " " + std::string(34, 'c') + "\nend 0 0\n",
       "t.vgtrace:4: OLD: "},
      {h + "piece 0 00 01\nend 0 0\n", "t.vgtrace:3: 'piece' outside a data record"},
      {h + "data bad/name ffffffff82000000 64 watched 1 1\npiece 0 00 01\nend 0 0\n",
       "t.vgtrace:3: NAME: 'bad/name' has a character outside"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.text);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << "input:\n" << c.text.substr(0, 200) << "\ngot: " << error;
  }
}

// The one note form that carries data: out-of-line code (trampolines) the
// kernel registers, which later ftrace pokes call. A malformed one is an
// error, not a silently ignored note.
TEST(TraceReader, ParsesKsymbolNotesAsOutOfLineCode) {
  auto parsed =
      parse_trace(std::string(kHeader) +
                      "note ksymbol register ool ffffffffc0201000 229 ftrace_trampoline\n"
                      "note ksymbol unregister bpf ffffffffc0005340 4096 bpf_trampoline_6442460477\n"
                      "note probe x did not attach\n"
                      "end 0 0\n",
                  "t.vgtrace");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const Trace& trace = parsed.value();
  ASSERT_EQ(trace.events.size(), 2u);
  EXPECT_EQ(trace.events[0].kind, EventKind::kOutOfLine);
  EXPECT_EQ(trace.events[0].value, 1u);
  EXPECT_EQ(trace.events[0].ool_kind, "ool");
  EXPECT_EQ(trace.events[0].va, 0xffffffffc0201000u);
  EXPECT_EQ(trace.events[0].size, 229u);
  EXPECT_EQ(trace.events[1].value, 0u);
  EXPECT_EQ(trace.events[1].name, "bpf_trampoline_6442460477");
  EXPECT_EQ(trace.notes.size(), 3u);
  EXPECT_EQ(error_of(std::string(kHeader) + "note ksymbol register ool ffffffffc0201000 229\nend 0 0\n")
                .rfind("t.vgtrace:4: 'note ksymbol' takes", 0),
            0u);
}

// A recorder writes .vgtrace.gz: the file reader inflates it, and refuses a
// truncated stream instead of replaying half a trace.
TEST(TraceReader, ReadsGzipAndRefusesTruncatedStreams) {
  const std::string text = std::string(kHeader) + "phase boot\nend 1 0\n";
  const std::string path = ::testing::TempDir() + "/trace_reader_test.vgtrace.gz";
  gzFile out = gzopen(path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(gzwrite(out, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(out), Z_OK);
  auto read = read_trace_file(path);
  ASSERT_TRUE(read.ok()) << read.error();
  EXPECT_EQ(read.value().phases.size(), 2u);

  std::FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr);
  std::string bytes(4096, '\0');
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file));
  std::fclose(file);
  const std::string cut = path + ".cut";
  file = std::fopen(cut.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size() - 6, file);
  std::fclose(file);
  auto truncated = read_trace_file(cut);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find(cut), std::string::npos) << truncated.error();

  auto missing = read_trace_file(path + ".missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace vg::replay
