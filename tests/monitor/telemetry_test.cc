// The telemetry ring: attached at the kernel's SETUP_RING call, read-only
// for the kernel, strictly increasing sequence numbers, nothing lost silently.
#include "monitor_fixture.h"

namespace vg::test {
namespace {

using hal::sim::Access;

constexpr Gpa kRing{0x40000};

class RingTest : public MonitorTest {
 protected:
  // What VG_CALL_SETUP_RING does once KCI accepted the pages (kci/calls.cc):
  // read-only for the kernel's VMPL, then attach. The call itself is KCI's
  // and is tested there and in integration_test.cc.
  bool attach_ring(uint32_t pages) {
    for (uint32_t page = 0; page < pages; ++page) {
      if (hal::rmpadjust(kRing + page * kPageSize4K, hal::PageSize::k4K,
                         {kKernel, hal::sim::kPermRead, false}) != hal::RmpStatus::kSuccess) {
        return false;
      }
    }
    return ring_.attach(kRing, pages);
  }
  vg_record make(uint16_t kind) {
    vg_record record{};
    record.kind = kind;
    return record;
  }
  vg_ring_header header_as_kernel_sees_it() {
    vg_ring_header header{};
    EXPECT_TRUE(platform_.guest_access(0, kKernel, kRing, Access::kRead, &header, sizeof(header)).performed);
    return header;
  }
  vg_record slot_as_kernel_sees_it(uint64_t slot) {
    vg_record record{};
    EXPECT_TRUE(platform_
                    .guest_access(0, kKernel, kRing + kPageSize4K + slot * sizeof(vg_record), Access::kRead,
                                  &record, sizeof(record))
                    .performed);
    return record;
  }
};

TEST_F(RingTest, AttachedRingIsReadableButNotWritableForTheKernel) {
  grant(kRing, 3, hal::sim::kPermRead | hal::sim::kPermWrite);  // ordinary kernel memory
  ASSERT_TRUE(attach_ring(3));
  for (uint64_t page = 0; page < 3; ++page) {
    EXPECT_EQ(platform_.rmp_entry(kRing + page * kPageSize4K)->perms[3], hal::sim::kPermRead);
  }
  const vg_ring_header header = header_as_kernel_sees_it();
  EXPECT_EQ(header.magic, VG_RING_MAGIC);
  EXPECT_EQ(header.record_size, sizeof(vg_record));
  EXPECT_EQ(header.capacity, 2 * kPageSize4K / 64);
  // The kernel's attempt to forge a record faults and never lands.
  platform_.set_forward_vmpl_faults(false);
  uint64_t forged = 99;
  EXPECT_FALSE(platform_.guest_access(0, kKernel, kRing + kPageSize4K, Access::kWrite, &forged, 8).performed);
  EXPECT_FALSE(platform_.guest_access(0, kKernel, kRing, Access::kWrite, &forged, 8).performed);
}

TEST_F(RingTest, RecordsBeforeSetupAreCountedUndeliveredAndSequencesContinue) {
  EXPECT_EQ(ring_.record(make(VG_KIND_TEXT_WRITE)), 1u);
  EXPECT_EQ(ring_.record(make(VG_KIND_TEXT_WRITE)), 2u);
  EXPECT_EQ(ring_.undelivered(), 2u);
  ASSERT_TRUE(attach_ring(2));
  EXPECT_EQ(ring_.record(make(VG_KIND_DATA_WRITE)), 3u);
  const vg_record first = slot_as_kernel_sees_it(2);  // record 3 lives in slot 2
  EXPECT_EQ(first.sequence, 3u);
  EXPECT_EQ(first.kind, VG_KIND_DATA_WRITE);
  EXPECT_NE(first.tsc, 0u);
  EXPECT_EQ(header_as_kernel_sees_it().next_sequence, 4u);
  EXPECT_EQ(ring_.undelivered(), 2u);
}

TEST_F(RingTest, SequenceNumbersStrictlyIncreaseAndTimestampsDoNotGoBack) {
  ASSERT_TRUE(attach_ring(2));
  uint64_t previous_sequence = 0, previous_tsc = 0;
  for (int i = 0; i < 200; ++i) {
    const uint64_t sequence = ring_.record(make(VG_KIND_TEXT_WRITE));
    EXPECT_GT(sequence, previous_sequence);
    EXPECT_GE(ring_.last().tsc, previous_tsc);
    previous_sequence = sequence;
    previous_tsc = ring_.last().tsc;
  }
}

TEST_F(RingTest, LaggingReaderLosesCountedRecords) {
  ASSERT_TRUE(attach_ring(2));
  const uint32_t capacity = ring_.capacity();  // 64 records in one page
  for (uint32_t i = 0; i < capacity + 6; ++i) (void)ring_.record(make(VG_KIND_TEXT_WRITE));
  EXPECT_EQ(ring_.overwritten(), 6u);
  EXPECT_EQ(header_as_kernel_sees_it().overwritten, 6u);
  // The reader now acks everything it could still see; further wrapping
  // overwrites only consumed records.
  ASSERT_EQ(call(0, VG_CALL_ACK_RING, capacity + 6).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(header_as_kernel_sees_it().ack_sequence, capacity + 6u);
  for (uint32_t i = 0; i < capacity; ++i) (void)ring_.record(make(VG_KIND_TEXT_WRITE));
  EXPECT_EQ(ring_.overwritten(), 6u);
  (void)ring_.record(make(VG_KIND_TEXT_WRITE));
  EXPECT_EQ(ring_.overwritten(), 7u);
}

TEST_F(RingTest, AcksOnlyMoveForwardAndOnlyToProducedRecords) {
  ASSERT_TRUE(attach_ring(2));
  for (int i = 0; i < 10; ++i) (void)ring_.record(make(VG_KIND_TEXT_WRITE));
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 11).rax, VG_RESULT_INVALID_PARAMETER);
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 8).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 3).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(ring_.acknowledged(), 8u);
}

TEST_F(RingTest, AttachIsOneShotAndRefusesUnusableSizes) {
  EXPECT_FALSE(ring_.attach(kRing, 1));
  EXPECT_FALSE(ring_.attach(kRing, monitor::TelemetryRing::kMaxPages + 1));
  EXPECT_FALSE(ring_.attach(kRing + 8, 2));
  EXPECT_FALSE(ring_.attach(Gpa((kPages - 1) * kPageSize4K), 2));  // runs past guest memory
  EXPECT_FALSE(ring_.attached());
  ASSERT_TRUE(attach_ring(2));
  EXPECT_FALSE(ring_.attach(kRing + 0x10000, 2));
  EXPECT_EQ(ring_.header_page(), kRing);
}

TEST_F(RingTest, SetupRingIsKcisCallAndAckRingTheMonitors) {
  (void)call(0, VG_CALL_SETUP_RING, kRing.raw(), 2);
  ASSERT_EQ(fake_kci().calls.size(), 1u);
  EXPECT_EQ(fake_kci().calls[0].call, VG_CALL_SETUP_RING);
  EXPECT_EQ(fake_kci().calls[0].args.rdx, 2u);
  (void)ring_.record(make(VG_KIND_TEXT_WRITE));
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 1).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(fake_kci().calls.size(), 1u);
}

}  // namespace
}  // namespace vg::test
