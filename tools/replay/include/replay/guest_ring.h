// Reading the telemetry ring the way the guest driver does: from guest
// memory, following the header's next_sequence (docs/monitor-abi.md).
#pragma once

#include <cstdint>
#include <vector>

#include "monitor/vmplguard_abi.h"
#include "simguest/sim_guest.h"

namespace vg::replay {

class GuestRing {
 public:
  explicit GuestRing(simguest::SimGuest& guest) : guest_(guest) {}
  // Records written since the last drain, oldest first. Lost records (the
  // ring wrapped before we read) are counted in lost().
  std::vector<vg_record> drain();
  uint64_t lost() const { return lost_; }

 private:
  simguest::SimGuest& guest_;
  uint64_t next_ = 0;  // next sequence we expect; 0 until the first drain
  uint64_t lost_ = 0;
};

}  // namespace vg::replay
