#include "monitor/telemetry.h"

#include "hal/hal.h"

namespace vg::monitor {
namespace {

constexpr uint64_t kRecordsOffset = kPageSize4K;  // records start after the header page

// Keeps the compiler from reordering the record's bytes after the header
// update that publishes it. x86 stores are not reordered with other stores
// [APM2 7.2], so a compiler barrier is all the reader needs.
inline void publish_barrier() {
  asm volatile("" ::: "memory");
}

}  // namespace

bool TelemetryRing::attach(Gpa first_page, uint32_t pages) {
  if (attached_ || pages < 2 || pages > kMaxPages || !first_page.is_aligned(kPageSize4K)) return false;
  if (first_page.raw() > ~0ull - uint64_t{pages} * kPageSize4K) return false;
  const uint64_t capacity = (uint64_t{pages} - 1) * kPageSize4K / sizeof(vg_record);
  // Zero the record slots first: sequence 0 means "empty" to the reader.
  static constexpr uint8_t kZeros[512] = {};
  for (uint64_t offset = kRecordsOffset; offset < uint64_t{pages} * kPageSize4K; offset += sizeof(kZeros)) {
    // SAFETY: the caller checked the pages are guest memory and made them
    // read-only for the kernel; the HAL range-checks again.
    if (!hal::write_guest(first_page + offset, kZeros, sizeof(kZeros))) return false;
  }
  vg_ring_header header{};
  header.magic = VG_RING_MAGIC;
  header.abi_version = VG_ABI_VERSION;
  header.record_size = sizeof(vg_record);
  header.capacity = static_cast<uint32_t>(capacity);
  header.next_sequence = next_sequence_;
  header.overwritten = overwritten_;
  header.ack_sequence = next_sequence_ - 1;  // nothing before attach is waiting to be read
  if (!hal::write_guest(first_page, &header, sizeof(header))) return false;
  header_ = first_page;
  pages_ = pages;
  capacity_ = static_cast<uint32_t>(capacity);
  ack_sequence_ = header.ack_sequence;
  attached_ = true;
  return true;
}

uint64_t TelemetryRing::record(vg_record record) {
  record.sequence = next_sequence_++;
  record.tsc = hal::timestamp();
  last_ = record;
  if (!attached_) {
    ++undelivered_;
    return record.sequence;
  }
  // Record n lives in slot (n - 1) % capacity. The record it replaces,
  // n - capacity, is lost to the reader unless the kernel acked it.
  if (record.sequence > capacity_ && record.sequence - capacity_ > ack_sequence_) ++overwritten_;
  const uint64_t slot = (record.sequence - 1) % capacity_;
  // SAFETY: slot < capacity, so the record lies inside the ring's pages.
  if (!hal::write_guest(header_ + kRecordsOffset + slot * sizeof(vg_record), &record, sizeof(record))) {
    ++undelivered_;
    return record.sequence;
  }
  publish_barrier();
  // SAFETY: header fields at fixed offsets of the header page.
  const uint64_t published[2] = {next_sequence_, overwritten_};
  static_assert(offsetof(vg_ring_header, overwritten) == offsetof(vg_ring_header, next_sequence) + 8);
  (void)hal::write_guest(header_ + offsetof(vg_ring_header, next_sequence), published, sizeof(published));
  return record.sequence;
}

bool TelemetryRing::acknowledge(uint64_t sequence) {
  if (sequence >= next_sequence_) return false;
  if (sequence <= ack_sequence_) return true;
  ack_sequence_ = sequence;
  if (attached_) {
    // SAFETY: fixed offset in the header page.
    (void)hal::write_guest(header_ + offsetof(vg_ring_header, ack_sequence), &ack_sequence_,
                           sizeof(ack_sequence_));
  }
  return true;
}

}  // namespace vg::monitor
