// vg::halt in the VMPL0 image: a broken invariant in the monitor stops the
// guest through the host (GHCB termination request), never continues.
#include "base/assert.h"
#include "hal/hal.h"

namespace vg {

[[noreturn]] void halt(const char* file, int line, const char* condition) {
  (void)file;
  (void)line;
  (void)condition;
  // Reason set 3 (vmplguard), code 0xff: invariant broken.
  hal::terminate_guest(3, 0xff);
  // terminate_guest does not return on hardware; if the host resumes us
  // anyway, spin here rather than run with broken state.
  for (;;) {
  }
}

}  // namespace vg
