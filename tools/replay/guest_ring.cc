#include "replay/guest_ring.h"

namespace vg::replay {

std::vector<vg_record> GuestRing::drain() {
  std::vector<vg_record> out;
  const uint64_t base = guest_.layout().ring_gpa;
  vg_ring_header header{};
  if (!guest_.read(Gpa(base), &header, sizeof(header)) || header.magic != VG_RING_MAGIC ||
      header.capacity == 0)
    return out;
  // Records made before the ring existed are not in it: start at the first
  // one the ring can hold.
  if (next_ == 0) next_ = header.next_sequence > header.capacity ? header.next_sequence - header.capacity : 1;
  if (header.next_sequence > next_ + header.capacity) {
    lost_ += header.next_sequence - header.capacity - next_;
    next_ = header.next_sequence - header.capacity;
  }
  for (; next_ < header.next_sequence; ++next_) {
    vg_record record{};
    const uint64_t slot = (next_ - 1) % header.capacity;
    if (!guest_.read(Gpa(base + kPageSize4K + slot * sizeof(vg_record)), &record, sizeof(record))) break;
    if (record.sequence != next_) {
      // An empty slot is a sequence given before the ring was attached.
      if (record.sequence != 0) lost_ += 1;
      continue;
    }
    out.push_back(record);
  }
  return out;
}

}  // namespace vg::replay
