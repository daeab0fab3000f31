// The telemetry ring writer: the monitor's only channel to the guest's
// observers. Layout in vmplguard_abi.h (struct vg_ring_header, vg_record).
//
// The monitor stamps each record with the next sequence number (strictly
// increasing, never reused) and its timestamp. Before the kernel sets up a
// ring, and when the reader lags, nothing is silently lost: records that
// could not be delivered are counted (`overwritten`, `undelivered`).
#pragma once

#include <stdint.h>

#include "base/types.h"
#include "monitor/vmplguard_abi.h"

namespace vg::monitor {

class TelemetryRing {
 public:
  // Attaches the ring at `first_page` spanning `pages` guest pages (page 0 is
  // the header). The caller has already made the pages read-only for the
  // kernel's VMPL. Returns false for a size the ring cannot use.
  bool attach(Gpa first_page, uint32_t pages);
  bool attached() const { return attached_; }

  // Fills in sequence and tsc, writes the record, then publishes
  // next_sequence. Returns the sequence number given to the record.
  uint64_t record(vg_record record);

  uint64_t next_sequence() const { return next_sequence_; }
  uint64_t overwritten() const { return overwritten_; }
  // Records produced while no ring was attached (counted, not stored).
  uint64_t undelivered() const { return undelivered_; }
  // The last record written, for tests and for the monitor's own log.
  const vg_record& last() const { return last_; }

  // Additions (additive to the original interface):
  // The kernel consumed every record up to `sequence` (VG_CALL_ACK_RING).
  // Returns false for a sequence the ring never produced; an ack below the
  // current one is ignored (acks only move forward).
  bool acknowledge(uint64_t sequence);
  uint64_t acknowledged() const { return ack_sequence_; }
  uint32_t capacity() const { return capacity_; }
  Gpa header_page() const { return header_; }
  uint32_t pages() const { return pages_; }
  // Largest ring the monitor accepts, header page included.
  static constexpr uint32_t kMaxPages = 1024;

 private:
  bool attached_ = false;
  Gpa header_{};
  uint32_t capacity_ = 0;
  uint64_t next_sequence_ = 1;
  uint64_t overwritten_ = 0;
  uint64_t undelivered_ = 0;
  vg_record last_{};
  uint64_t ack_sequence_ = 0;
  uint32_t pages_ = 0;
};

}  // namespace vg::monitor
