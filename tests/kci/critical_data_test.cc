// Critical data: locked objects are read-only, write-mediated objects change
// only through validated MEDIATED_WRITE calls, watched objects are compared
// with their baseline at every entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "world.h"

namespace vg::kci::testing {
namespace {

class CriticalData : public ::testing::Test {
 protected:
  void SetUp() override { world.boot(); }
  CallOutcome mediated(const std::string& object, uint32_t offset, const std::vector<uint8_t>& bytes) {
    uint64_t at = 0;
    EXPECT_TRUE(synthetic_kernel().symbol(object, at)) << object;
    vg_mediated_write request{};
    request.object_va = world.text_va(at);
    request.offset = offset;
    request.length = static_cast<uint32_t>(bytes.size());
    std::memcpy(request.bytes, bytes.data(), std::min<size_t>(bytes.size(), sizeof(request.bytes)));
    return world.call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request));
  }
  static std::vector<uint8_t> text(const std::string& s) {
    std::vector<uint8_t> out(s.begin(), s.end());
    out.push_back(0);
    return out;
  }
  World world{synthetic_kernel()};
};

TEST_F(CriticalData, LockedObjectsRejectKernelWritesWithTheirName) {
  const auto outcome = world.kernel_write(world.text_gpa(0x16010), {0, 0, 0, 0}, world.text_va(0x5010));
  EXPECT_FALSE(outcome.performed);
  const vg_record& record = world.last_record();
  EXPECT_EQ(record.kind, VG_KIND_DATA_WRITE);
  EXPECT_EQ(record.policy_offset, 0x16000u);
  EXPECT_STREQ(world.service().policy().string(record.detail), "init_cred");
  EXPECT_EQ(record.rip, world.text_va(0x5010));
  EXPECT_EQ(record.verdict, VG_VERDICT_INJECTED);
}

TEST_F(CriticalData, DataBesideAProtectedPageStaysWritable) {
  EXPECT_TRUE(world.kernel_write(world.text_gpa(0x15800), {1, 2, 3}).performed);
  EXPECT_TRUE(world.kernel_write(world.text_gpa(0x19000), {1}).performed);  // page shared with poweroff_cmd
}

TEST_F(CriticalData, MediatedWriteOfAValidPath) {
  ASSERT_EQ(mediated("modprobe_path", 0, text("/sbin/modprobe")).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.read(world.text_gpa(0x17000), 15), text("/sbin/modprobe"));
  ASSERT_EQ(mediated("core_pattern", 0, text("|/usr/lib/systemd/systemd-coredump %P %u")).result,
            VG_RESULT_SUCCESS);
  ASSERT_EQ(mediated("core_pattern", 0, text("core.%p")).result, VG_RESULT_SUCCESS);
  ASSERT_EQ(mediated("kptr_restrict", 0, {2, 0, 0, 0}).result, VG_RESULT_SUCCESS);
}

TEST_F(CriticalData, MediatedWritesRefusedWithTheRuleThatFailed) {
  const Snapshot before = world.snapshot();
  struct Case {
    const char* object;
    uint32_t offset;
    std::vector<uint8_t> bytes;
    DenyReason reason;
  } cases[] = {
      {"modprobe_path", 0, text("tmp/evil"), DenyReason::kBadPath},
      {"modprobe_path", 0, text("/sbin/../tmp/evil"), DenyReason::kBadPath},
      {"modprobe_path", 0, {'/', 'a', '\n', 0}, DenyReason::kBadString},
      {"modprobe_path", 4090, text("/abcdefg"), DenyReason::kOutOfBounds},
      {"core_pattern", 0, text("|../../tmp/evil"), DenyReason::kBadPath},
      {"core_pattern", 0, text("|tmp/evil"), DenyReason::kBadPath},
      {"sys_call_table", 0, {1, 2, 3, 4}, DenyReason::kNotMediated},
      {"init_cred", 0, {0}, DenyReason::kNotMediated},
  };
  for (const Case& c : cases) {
    if (c.reason == DenyReason::kNone) continue;
    ASSERT_EQ(mediated(c.object, c.offset, c.bytes).result, VG_RESULT_DENIED) << c.object;
    EXPECT_EQ(world.last_record().kind, VG_KIND_MEDIATED_DENIED);
    EXPECT_EQ(world.last_record().detail, static_cast<uint32_t>(c.reason)) << c.object;
  }
  // A string without NUL anywhere in the object.
  World fill(synthetic_kernel());
  fill.boot();
  std::vector<uint8_t> full(256, 'a');
  for (uint32_t offset = 0; offset < 4096; offset += 256) {
    uint64_t at = 0;
    ASSERT_TRUE(synthetic_kernel().symbol("modprobe_path", at));
    vg_mediated_write request{};
    request.object_va = fill.text_va(at);
    request.offset = offset;
    request.length = 256;
    std::memcpy(request.bytes, full.data(), 256);
    if (offset == 0) request.bytes[0] = '/';
    const uint32_t result = fill.call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request)).result;
    if (offset + 256 == 4096) {
      EXPECT_EQ(result, VG_RESULT_DENIED);
      EXPECT_EQ(fill.last_record().detail, static_cast<uint32_t>(DenyReason::kBadString));
    } else {
      EXPECT_EQ(result, VG_RESULT_SUCCESS) << offset;
    }
  }
  EXPECT_EQ(world.difference(before, world.snapshot()), "");
}

TEST_F(CriticalData, WatchedObjectsReportEachChangeOnce) {
  world.service().check_watched();
  const uint64_t quiet = world.records();
  EXPECT_EQ(quiet, world.records());
  ASSERT_TRUE(
      world.kernel_write(world.text_gpa(0x19410), {0xee}).performed);  // init_task is watched, writable
  world.service().check_watched();
  EXPECT_EQ(world.records(), quiet + 1);
  EXPECT_EQ(world.last_record().kind, VG_KIND_WATCHED_CHANGED);
  EXPECT_STREQ(world.service().policy().string(world.last_record().detail), "init_task");
  world.service().check_watched();
  EXPECT_EQ(world.records(), quiet + 1) << "the same change is not reported again";
}

TEST_F(CriticalData, FragmentsOfLockedObjectsSharingAPageAreWatched) {
  // poweroff_cmd (mediated, 256 bytes) shares a page with other data, so the
  // page stays writable and a direct write is detected at the next entry.
  ASSERT_TRUE(world.kernel_write(world.text_gpa(0x19100), {'/', 'x', 0}).performed);
  world.service().check_watched();
  EXPECT_EQ(world.last_record().kind, VG_KIND_WATCHED_CHANGED);
  EXPECT_EQ(world.last_record().policy_offset, 0x19100u);
  // A mediated write refreshes the baseline instead of being reported.
  const uint64_t before = world.records();
  ASSERT_EQ(mediated("poweroff_cmd", 0, text("/sbin/poweroff")).result, VG_RESULT_SUCCESS);
  world.service().check_watched();
  EXPECT_EQ(world.records(), before);
}

}  // namespace
}  // namespace vg::kci::testing

namespace vg::kci::testing {
namespace {

// The synthetic kernel with init_cred's page and the one before it turned
// into an 8 KiB write-mediated page table, as 6.12's init_top_pgt is.
KernelDescription with_mediated_page_table() {
  KernelDescription kernel = synthetic_kernel();
  std::erase_if(kernel.objects, [](const ObjectFact& o) { return o.name == "init_cred"; });
  kernel.objects.push_back(
      {"init_top_pgt", 0x15000, 0x2000, policy::Protection::kWriteMediated, policy::RegionKind::kData});
  std::sort(kernel.objects.begin(), kernel.objects.end(),
            [](const ObjectFact& a, const ObjectFact& b) { return a.offset < b.offset; });
  return kernel;
}

// A write-mediated object larger than KCI's string buffer is enforceable when
// it is not a string (the real 6.12.117 policy was refused with kCapacity
// before), and a mediated write into its second page lands.
TEST(CriticalDataLimits, LargeMediatedNonStringObjectLoadsAndTakesWrites) {
  World world(with_mediated_page_table());
  world.boot();
  vg_mediated_write request{};
  request.object_va = world.text_va(0x15000);
  request.offset = 0x1800;
  request.length = 8;
  std::memset(request.bytes, 0x63, 8);
  ASSERT_EQ(world.call_with(VG_CALL_MEDIATED_WRITE, &request, sizeof(request)).result, VG_RESULT_SUCCESS);
  EXPECT_EQ(world.read(world.text_gpa(0x16800), 8), std::vector<uint8_t>(8, 0x63));
}

// A string object over the buffer stays refused: its rules need the whole
// string in monitor memory.
TEST(CriticalDataLimits, MediatedStringObjectOverTheBufferIsRefused) {
  KernelDescription kernel = synthetic_kernel();
  std::erase_if(kernel.objects, [](const ObjectFact& o) { return o.name == "core_pattern"; });
  for (ObjectFact& o : kernel.objects)
    if (o.name == "modprobe_path") o.size = 0x2000;
  World world(kernel);
  world.launch();
  auto loaded = world.load_policy();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().error, LoadError::kCapacity);
}

}  // namespace
}  // namespace vg::kci::testing
