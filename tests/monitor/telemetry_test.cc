// The telemetry ring: set up by the kernel's SETUP_RING call, read-only for
// the kernel, strictly increasing sequence numbers, nothing lost silently.
#include "monitor_fixture.h"

namespace vg::test {
namespace {

using hal::sim::Access;

constexpr Gpa kRing{0x40000};

class RingTest : public MonitorTest {
 protected:
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

TEST_F(RingTest, SetupMakesTheRingReadOnlyForTheKernel) {
  grant(kRing, 3, hal::sim::kPermRead | hal::sim::kPermWrite);  // ordinary kernel memory
  ASSERT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 3).rax, VG_RESULT_SUCCESS);
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
  ASSERT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 2).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(ring_.record(make(VG_KIND_DATA_WRITE)), 3u);
  const vg_record first = slot_as_kernel_sees_it(2);  // record 3 lives in slot 2
  EXPECT_EQ(first.sequence, 3u);
  EXPECT_EQ(first.kind, VG_KIND_DATA_WRITE);
  EXPECT_NE(first.tsc, 0u);
  EXPECT_EQ(header_as_kernel_sees_it().next_sequence, 4u);
  EXPECT_EQ(ring_.undelivered(), 2u);
}

TEST_F(RingTest, SequenceNumbersStrictlyIncreaseAndTimestampsDoNotGoBack) {
  ASSERT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 2).rax, VG_RESULT_SUCCESS);
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
  ASSERT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 2).rax, VG_RESULT_SUCCESS);
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
  ASSERT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 2).rax, VG_RESULT_SUCCESS);
  for (int i = 0; i < 10; ++i) (void)ring_.record(make(VG_KIND_TEXT_WRITE));
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 11).rax, VG_RESULT_INVALID_PARAMETER);
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 8).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(call(0, VG_CALL_ACK_RING, 3).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(ring_.acknowledged(), 8u);
}

TEST_F(RingTest, BadSetupRequestsChangeNothing) {
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw() + 8, 2).rax, VG_RESULT_INVALID_PARAMETER);
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 1).rax, VG_RESULT_INVALID_PARAMETER);
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 5000).rax, VG_RESULT_INVALID_PARAMETER);
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, ~0ull & ~0xfffull, 4).rax, VG_RESULT_INVALID_PARAMETER);
  // Runs past the end of guest memory.
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, (kPages - 1) * kPageSize4K, 2).rax, VG_RESULT_INVALID_ADDRESS);
  EXPECT_EQ(platform_.rmp_entry(Gpa((kPages - 1) * kPageSize4K))->perms[3], 0);
  EXPECT_FALSE(ring_.attached());
  EXPECT_TRUE(fake_kci().calls.empty());  // the ring calls are the monitor's own
}

TEST_F(RingTest, RingMayNotOverlapTheRegisteredKernel) {
  register_kernel();
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, kTextGpa.raw() + 0x3000, 2).rax, VG_RESULT_INVALID_ADDRESS);
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, kTextGpa.raw() - 0x1000, 2).rax, VG_RESULT_INVALID_ADDRESS);
  EXPECT_FALSE(ring_.attached());
}

TEST_F(RingTest, SetupIsOneShot) {
  ASSERT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw(), 2).rax, VG_RESULT_SUCCESS);
  EXPECT_EQ(call(0, VG_CALL_SETUP_RING, kRing.raw() + 0x10000, 2).rax, VG_RESULT_ALREADY_DONE);
  EXPECT_EQ(ring_.header_page(), kRing);
}

}  // namespace
}  // namespace vg::test
