// Decoding of ring-buffer samples and the running kernel's identity: both
// come from the watched kernel and are checked before use.
#include <gtest/gtest.h>

#include <string>

#include "agent/kernel_identity.h"
#include "agent_fixture.h"

namespace vg::agent {
namespace {

using namespace testing;

TEST(Decode, RoundTripsAProbeSample) {
  Event event = text_patch(at(0x110), {0x66, 0x90}, {at(0x105)});
  auto bytes = raw_sample(event);
  auto decoded = decode_probe_event(ByteView{bytes.data(), bytes.size()});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->address, at(0x110));
  EXPECT_EQ(decoded->length, 2);
  EXPECT_EQ(decoded->frame_count, 1u);
  EXPECT_EQ(std::string(decoded->comm.data(), decoded->comm_length), "insmod");
}

TEST(Decode, RefusesMalformedSamplesWithTheirReason) {
  auto bytes = raw_sample(text_patch(at(0x110), {0x66, 0x90}));
  auto decode = [](std::vector<uint8_t> b) { return decode_probe_event(ByteView{b.data(), b.size()}); };
  EXPECT_EQ(decode(std::vector<uint8_t>(bytes.begin(), bytes.end() - 1)).error(), DecodeError::kTruncated);
  auto bad = bytes;
  bad[0] ^= 1;
  EXPECT_EQ(decode(bad).error(), DecodeError::kBadMagic);
  bad = bytes;
  bad[offsetof(vgp_event, type)] = 99;
  EXPECT_EQ(decode(bad).error(), DecodeError::kBadType);
  bad = bytes;
  bad[offsetof(vgp_event, length)] = 17;
  EXPECT_EQ(decode(bad).error(), DecodeError::kBadLength);
  bad = bytes;
  bad[offsetof(vgp_event, frame_count)] = 9;
  EXPECT_EQ(decode(bad).error(), DecodeError::kBadFrames);
  bad = bytes;
  bad[offsetof(vgp_event, origin)] = 4;
  EXPECT_EQ(decode(bad).error(), DecodeError::kBadOrigin);
}

TEST(Decode, CommWithoutTerminatorStaysInBounds) {
  Event event = text_patch(at(0x110), {0x66, 0x90});
  auto bytes = raw_sample(event);
  std::memset(bytes.data() + offsetof(vgp_event, comm), 'A', 16);
  auto decoded = decode_probe_event(ByteView{bytes.data(), bytes.size()});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->comm_length, 16);
}

TEST(Decode, MonitorRecordsWithUnknownKindsAreRefused) {
  Event event;
  event.type = EventType::kMonitorRecord;
  auto bytes = raw_sample(event);
  vg_record record{};
  record.sequence = 1;
  record.kind = 99;
  std::memcpy(bytes.data() + offsetof(vgp_event, record), &record, sizeof(record));
  EXPECT_EQ(decode_probe_event(ByteView{bytes.data(), bytes.size()}).error(), DecodeError::kBadRecord);
  record.kind = VG_KIND_TEXT_WRITE;
  record.verdict = 7;
  std::memcpy(bytes.data() + offsetof(vgp_event, record), &record, sizeof(record));
  EXPECT_EQ(decode_probe_event(ByteView{bytes.data(), bytes.size()}).error(), DecodeError::kBadRecord);
  record.verdict = VG_VERDICT_DENIED;
  record.address = at(0x20100);
  std::memcpy(bytes.data() + offsetof(vgp_event, record), &record, sizeof(record));
  auto decoded = decode_probe_event(ByteView{bytes.data(), bytes.size()});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->address, at(0x20100));
}

// /sys/kernel/notes as the kernel lays it out: a Xen note, then GNU build id.
std::vector<uint8_t> notes_with_build_id(const std::vector<uint8_t>& id) {
  std::vector<uint8_t> notes;
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) notes.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  u32(4), u32(4), u32(0x12);
  for (char c : std::string("Xen\0", 4)) notes.push_back(static_cast<uint8_t>(c));
  u32(0x01020304);
  u32(4), u32(static_cast<uint32_t>(id.size())), u32(3);
  for (char c : std::string("GNU\0", 4)) notes.push_back(static_cast<uint8_t>(c));
  notes.insert(notes.end(), id.begin(), id.end());
  while (notes.size() % 4) notes.push_back(0);
  return notes;
}

TEST(KernelIdentity, BuildIdComesFromTheGnuNote) {
  const std::vector<uint8_t> id{0x7f, 0x76, 0xf3, 0x9f, 0xaf};
  auto parsed = build_id_from_notes(notes_with_build_id(id));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), id);
}

TEST(KernelIdentity, TruncatedNotesAreAnError) {
  auto notes = notes_with_build_id({1, 2, 3, 4, 5, 6, 7, 8});
  notes.erase(notes.end() - 6, notes.end());  // cut into the build id
  EXPECT_FALSE(build_id_from_notes(notes).ok());
  EXPECT_FALSE(build_id_from_notes({}).ok());
}

TEST(KernelIdentity, KallsymsGivesTextAndRefusesHiddenAddresses) {
  const std::string kallsyms =
      "ffffffff9a200000 T _text\nffffffff9a201000 T _stext\nffffffffc0370000 t "
      "ftrace_trampoline\t[__builtin__ftrace]\n";
  auto text = kallsyms_address(kallsyms, "_text");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(), 0xffffffff9a200000ull);
  EXPECT_EQ(kallsyms_address(kallsyms, "ftrace_trampoline").value(), 0xffffffffc0370000ull);
  EXPECT_FALSE(kallsyms_address(kallsyms, "_etext").ok());
  auto hidden = kallsyms_address("0000000000000000 T _text\n", "_text");
  ASSERT_FALSE(hidden.ok());
  EXPECT_NE(hidden.error().find("kptr_restrict"), std::string::npos);
  EXPECT_FALSE(kallsyms_address("ffffffffzz200000 T _text\n", "_text").ok());
}

TEST(KernelIdentity, PolicyIsChosenByBuildIdFromADirectory) {
  const std::string dir = ::testing::TempDir() + "/vg_policies";
  std::string command = "rm -rf " + dir + " && mkdir -p " + dir;
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  };
  write("a-corrupt.policy", {1, 2, 3});
  write("b-ours.policy", policy_bytes());
  auto choice = find_policy(dir, {0x7f, 0x76, 0xf3, 0x9f});
  ASSERT_TRUE(choice.ok()) << choice.error();
  EXPECT_EQ(choice->path, dir + "/b-ours.policy");
  auto missing = find_policy(dir, {1, 2, 3, 4});
  ASSERT_FALSE(missing.ok());
  // The error names each candidate and why it did not fit.
  EXPECT_NE(missing.error().find("a-corrupt.policy: not a valid policy"), std::string::npos);
  EXPECT_NE(missing.error().find("b-ours.policy: build id 7f76f39f is not the running kernel's"),
            std::string::npos);
}

TEST(Symbolize, KaslrSlideAndNames) {
  Agent agent;
  EXPECT_EQ(agent.symbolizer.slide(), kSlide);
  EXPECT_EQ(agent.symbolizer.text_offset(at(0x310)).value(), 0x310u);
  EXPECT_FALSE(agent.symbolizer.text_offset(kLinkText + 0x310).has_value());  // unslid address
  const Symbol symbol = agent.symbolizer.symbolize(at(0x31f));
  EXPECT_EQ(symbol.space, Space::kKernel);
  EXPECT_STREQ(symbol.kernel_name, "victim_fn");
  EXPECT_EQ(symbol.offset, 0x1fu);
  EXPECT_EQ(agent.symbolizer.symbolize(at(0x9000)).space, Space::kNone);  // in text, no function
  EXPECT_EQ(agent.symbolizer.symbolize(0xffffffffc0000000ull).space, Space::kNone);
}

TEST(Symbolize, ModulesAreReplacedByNameAndRemoved) {
  Agent agent;
  RuntimeMap::Module module;
  module.base = 0xffffffffc0400000ull;
  module.size = 0x1000;
  std::memcpy(module.name.data(), "nls_utf8", 8);
  module.name_length = 8;
  ASSERT_TRUE(agent.runtime.add_module(module));
  module.base = 0xffffffffc0600000ull;  // reloaded elsewhere
  ASSERT_TRUE(agent.runtime.add_module(module));
  EXPECT_EQ(agent.runtime.module_count(), 1u);
  EXPECT_EQ(agent.symbolizer.symbolize(0xffffffffc0600010ull).offset, 0x10u);
  EXPECT_EQ(agent.symbolizer.symbolize(0xffffffffc0400010ull).space, Space::kNone);
  agent.runtime.remove_module("nls_utf8", 8);
  EXPECT_EQ(agent.runtime.module_count(), 0u);
}

}  // namespace
}  // namespace vg::agent
