// Record mode's assembly of ring samples into trace lines: batch boundaries,
// origins, module hashes, address translation, and the loss accounting.
#include "agent/record_session.h"

#include <gtest/gtest.h>

#include <map>

#include "agent/trace_event.h"
#include "base/sha256.h"
#include "record_fixture.h"

namespace vg::agent {
namespace {

using test::MemoryFile;

constexpr uint64_t kText = 0xffffffff91000000;  // runtime _text, 0x10000000 above the link address
constexpr uint64_t kSlide = 0x10000000;

struct Fixture {
  MemoryFile file;
  TraceWriter writer{file.get()};
  std::map<uint64_t, std::string> symbols;
  RecordSession session{writer, RecordLayout{kText, kText + (64u << 20), kSlide, kText + 0x500},
                        [this](uint64_t address) -> std::string_view {
                          auto it = symbols.upper_bound(address);
                          if (it == symbols.begin()) return {};
                          return std::prev(it)->second;
                        }};
  Fixture() {
    EXPECT_TRUE(writer.begin({"6.12.117", "ab", kText - kSlide, kSlide}).ok());
    EXPECT_TRUE(session.switch_phase("test").ok());
  }
  void feed(const std::vector<uint8_t>& bytes) {
    ASSERT_TRUE(session.on_sample(ByteView{bytes.data(), bytes.size()}).ok());
  }
  std::string body() {
    const std::string text = file.text();
    return text.substr(text.find("phase test\n") + 11);
  }
};

TEST(RecordSession, RebuildsABatchFromItsEntriesAtLinkAddresses) {
  Fixture f;
  f.feed(test::sample_of(
      test::batch_entry(7, 1, 2, kText + 0x20, {0x66, 0x90}, {0xeb, 0x05}, VGP_ORIGIN_JUMP_LABEL)));
  EXPECT_EQ(f.body(), "");  // one of two entries: nothing yet
  f.feed(test::sample_of(
      test::batch_entry(7, 0, 2, kText + 0x10, {0x66, 0x90}, {0xeb, 0x07}, VGP_ORIGIN_JUMP_LABEL)));
  EXPECT_EQ(f.body(),
            "batch 7 jump_label 2\n"
            "poke ffffffff81000010 6690 eb07\n"
            "poke ffffffff81000020 6690 eb05\n");
  EXPECT_EQ(f.session.patches(), 2u);
}

TEST(RecordSession, NamesTheOriginFromTheStackWhenNoProbeMarkedIt) {
  Fixture f;
  f.symbols = {
      {0x1000, "text_poke_bp_batch"}, {0x2000, "ftrace_modify_all_code"}, {0x3000, "bpf_arch_text_poke"}};
  auto entry = test::batch_entry(1, 0, 1, kText + 0x40, {0x0f, 0x1f, 0x44, 0, 0}, {0xe8, 1, 2, 3, 4});
  entry.frame_count = 3;
  entry.frames[0] = 0x1010;
  entry.frames[1] = 0x2010;
  entry.frames[2] = 0x3010;
  f.feed(test::sample_of(entry));
  entry.sequence = 2;
  entry.frames[1] = 0x3010;  // BPF trampoline attach: bpf before anything else
  f.feed(test::sample_of(entry));
  entry.sequence = 3;
  entry.frame_count = 1;  // only the patching layer itself: unknown
  f.feed(test::sample_of(entry));
  const std::string body = f.body();
  EXPECT_NE(body.find("batch 1 ftrace 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("batch 2 bpf 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("batch 3 unknown 1\n"), std::string::npos) << body;
}

TEST(RecordSession, WritesAnIncompleteBatchWithANoteAtThePhaseSwitch) {
  Fixture f;
  f.feed(test::sample_of(test::batch_entry(9, 0, 3, kText + 0x10, {0x90}, {0xcc})));
  ASSERT_TRUE(f.session.switch_phase("next").ok());
  EXPECT_EQ(f.body(),
            "note batch 9: 1 of 3 entries recorded (the rest were lost)\n"
            "batch 9 unknown 1\n"
            "poke ffffffff81000010 90 cc\n"
            "phase next\n");
}

TEST(RecordSession, LonePokesJitImagesAndFills) {
  Fixture f;
  f.symbols = {{0x1000, "bpf_jit_binary_pack_finalize"}};
  f.feed(test::sample_of(test::raw_poke(kText + 0x100, 1, {0x55}, {0xcc})));
  auto jit =
      test::raw_poke(0xffffffffa0000000, 300, std::vector<uint8_t>(16, 0xcc), std::vector<uint8_t>(16, 0xf3));
  jit.frame_count = 1;
  jit.frames[0] = 0x1008;
  f.feed(test::sample_of(jit));
  auto fill = jit;
  fill.value = kText + 0x500;  // text_poke_memset: `src` was the one fill byte
  f.feed(test::sample_of(fill));
  auto stray =
      test::raw_poke(kText + 0x200, 20, std::vector<uint8_t>(16, 0x90), std::vector<uint8_t>(16, 0xc3));
  f.feed(test::sample_of(stray));
  EXPECT_EQ(f.body(),
            "poke ffffffff81000100 55 cc\n"
            "jit ffffffffa0000000 300\n"
            "note bpf pack fill ffffffffa0000000 300 with f3\n"
            "note raw write ffffffff81000200 20 bytes by unknown, first 16: "
            "90909090909090909090909090909090 "
            "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3\n");
}

TEST(RecordSession, HashesModuleTextFromItsChunks) {
  Fixture f;
  std::vector<uint8_t> text(VGT_CHUNK_SIZE + 100);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>(i * 7);
  f.feed(test::sample_of(test::module_event(VGT_MODULE, "nls_utf8", 0xffffffffc0001000, text.size(), 4)));
  f.feed(test::sample_of(test::chunk_of(4, 1, {text.begin() + VGT_CHUNK_SIZE, text.end()})));
  EXPECT_EQ(f.body(), "");
  f.feed(test::sample_of(test::chunk_of(4, 0, {text.begin(), text.begin() + VGT_CHUNK_SIZE})));
  char digest[65];
  to_hex(Sha256::of(text.data(), text.size()), digest);
  // The init text (module_init runs there) is a second record: NAME.init.
  auto init = test::module_event(VGT_MODULE, "nls_utf8", 0xffffffffc0100000, 3, 5);
  init.flags = VGT_FLAG_INIT_TEXT;
  f.feed(test::sample_of(init));
  const std::vector<uint8_t> init_text = {0x31, 0xc0, 0xc3};
  f.feed(test::sample_of(test::chunk_of(5, 0, init_text)));
  char init_digest[65];
  to_hex(Sha256::of(init_text.data(), init_text.size()), init_digest);
  f.feed(
      test::sample_of(test::module_event(VGT_MODULE_FREE, "nls_utf8", 0xffffffffc0001000, text.size(), 0)));
  EXPECT_EQ(f.body(), "module nls_utf8 ffffffffc0001000 4196 " + std::string(digest) +
                          "\nmodule nls_utf8.init ffffffffc0100000 3 " + std::string(init_digest) +
                          "\nmodule-free nls_utf8 ffffffffc0001000\n");
}

TEST(RecordSession, NotesOutOfLineCodeTheKernelRegisters) {
  Fixture f;
  vgp_event ksymbol{};
  ksymbol.magic = VGP_MAGIC;
  ksymbol.type = VGP_KSYMBOL;
  ksymbol.address = 0xffffffffc0201000;
  ksymbol.size = 4096;
  ksymbol.value = 2;  // PERF_RECORD_KSYMBOL_TYPE_OOL: an ftrace trampoline
  std::strcpy(ksymbol.name, "[__builtin__ftrace] x");
  f.feed(test::sample_of(ksymbol));
  ksymbol.flags = VGP_FLAG_UNREGISTER;
  ksymbol.value = 1;
  f.feed(test::sample_of(ksymbol));
  ksymbol.type = VGP_SET_MEMORY_X;  // a normal probe record without a trace line
  f.feed(test::sample_of(ksymbol));
  EXPECT_EQ(f.body(),
            "note ksymbol register ool ffffffffc0201000 4096 [__builtin__ftrace]_x\n"
            "note ksymbol unregister bpf ffffffffc0201000 4096 [__builtin__ftrace]_x\n");
  EXPECT_EQ(f.session.decoded(), 3u);
}

TEST(RecordSession, CountsBadSamplesAsLostAndSaysWhy) {
  Fixture f;
  f.feed({1, 2, 3});
  auto bad = test::batch_entry(1, 5, 2, kText, {0x90}, {0xcc});  // index past the count
  f.feed(test::sample_of(bad));
  f.feed(test::sample_of(test::chunk_of(99, 0, {1, 2, 3})));  // no module record
  f.feed(test::sample_of(test::raw_poke(kText + 0x100, 1, {0x55}, {0xcc})));
  ASSERT_TRUE(f.session.finish(/*produced=*/6).ok());
  EXPECT_EQ(f.body(),
            "note undecodable probe record: sample shorter than its record\n"
            "note batch entry with bad index, count or length ignored\n"
            "note module text chunk without its module record ignored\n"
            "poke ffffffff81000100 55 cc\n"
            "end 1 5\n");
}

TEST(TraceDecode, RefusesMalformedRecordModeSamples) {
  auto decode = [](std::vector<uint8_t> bytes) {
    return decode_trace_sample(ByteView{bytes.data(), bytes.size()});
  };
  auto good = test::sample_of(test::raw_poke(0x1000, 1, {0x55}, {0xcc}));
  ASSERT_TRUE(decode(good).ok());
  EXPECT_EQ(decode({good.begin(), good.end() - 1}).error(), TraceDecodeError::kTruncated);
  auto event = test::raw_poke(0x1000, 1, {0x55}, {0xcc});
  event.magic = 0x12345678;
  EXPECT_EQ(decode(test::sample_of(event)).error(), TraceDecodeError::kBadMagic);
  event = test::raw_poke(0x1000, 1, {0x55}, {0xcc});
  event.type = 70;
  EXPECT_EQ(decode(test::sample_of(event)).error(), TraceDecodeError::kBadType);
  event.type = VGT_POKE;
  event.length = 17;
  EXPECT_EQ(decode(test::sample_of(event)).error(), TraceDecodeError::kBadLength);
  auto entry = test::batch_entry(1, 0, 1, 0x1000, {1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(decode(test::sample_of(entry)).error(), TraceDecodeError::kBadLength);  // batch entries are 1..5
  event.length = 1;
  event.frame_count = 9;
  EXPECT_EQ(decode(test::sample_of(event)).error(), TraceDecodeError::kBadFrames);
  event.frame_count = 0;
  event.origin = 4;
  EXPECT_EQ(decode(test::sample_of(event)).error(), TraceDecodeError::kBadOrigin);
  auto chunk = test::chunk_of(1, VGT_MAX_CHUNKS, {1});
  EXPECT_EQ(decode(test::sample_of(chunk)).error(), TraceDecodeError::kBadChunk);
  chunk = test::chunk_of(1, 0, {});
  EXPECT_EQ(decode(test::sample_of(chunk)).error(), TraceDecodeError::kBadChunk);
}

}  // namespace
}  // namespace vg::agent
