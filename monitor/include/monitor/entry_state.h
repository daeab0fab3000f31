// One monitor entry's working state, shared by monitor.cc and dispatch.cc.
// Internal to the monitor core.
#pragma once

#include <stdint.h>

#include "hal/hal.h"
#include "monitor/monitor.h"

namespace vg::monitor {

struct Monitor::Entry {
  uint32_t vcpu = 0;
  hal::VmsaState kernel{};    // copy of the kernel VMPL's VMSA
  bool kernel_dirty = false;  // write `kernel` back before resuming
  bool stop = false;
};

}  // namespace vg::monitor
