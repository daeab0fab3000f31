// The telemetry ring writer (monitor/include/monitor/telemetry.h), built for
// the KCI tests only while the monitor's own implementation (vg_monitor) is
// not in the tree; tests/kci/CMakeLists.txt links the monitor's as soon as
// the target exists. It follows the ABI in vmplguard_abi.h: header in page
// 0, record n in slot (n - 1) % capacity, next_sequence published after the
// record.
#include <cstddef>

#include "hal/hal.h"
#include "monitor/telemetry.h"

namespace vg::monitor {

bool TelemetryRing::attach(Gpa first_page, uint32_t pages) {
  if (!first_page.is_aligned(kPageSize4K) || pages < 2) return false;
  header_ = first_page;
  capacity_ = static_cast<uint32_t>((uint64_t{pages - 1} * kPageSize4K) / sizeof(vg_record));
  vg_ring_header header{};
  header.magic = VG_RING_MAGIC;
  header.abi_version = VG_ABI_VERSION;
  header.record_size = sizeof(vg_record);
  header.capacity = capacity_;
  header.next_sequence = next_sequence_;
  // SAFETY: the caller validated the pages as guest memory and made them
  // read-only for the kernel.
  if (!hal::write_guest(header_, &header, sizeof(header))) return false;
  attached_ = true;
  return true;
}

uint64_t TelemetryRing::record(vg_record record) {
  record.sequence = next_sequence_++;
  record.tsc = hal::timestamp();
  last_ = record;
  if (!attached_) {
    undelivered_ += 1;
    return record.sequence;
  }
  const uint64_t slot = (record.sequence - 1) % capacity_;
  if (record.sequence > capacity_) overwritten_ += 1;
  // SAFETY: slot < capacity_, so the record lies inside the attached pages.
  (void)hal::write_guest(header_ + kPageSize4K + slot * sizeof(vg_record), &record, sizeof(record));
  (void)hal::write_guest(header_ + offsetof(vg_ring_header, next_sequence), &next_sequence_,
                         sizeof(next_sequence_));
  (void)hal::write_guest(header_ + offsetof(vg_ring_header, overwritten), &overwritten_,
                         sizeof(overwritten_));
  return record.sequence;
}

}  // namespace vg::monitor
