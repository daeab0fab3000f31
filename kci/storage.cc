// The VMPL0 image's single KCI state. It lives in .bss (zero-filled at
// load), so the build-time sizes cost nothing until a policy is loaded.
#include "base/assert.h"
#include "kci/guest_copy.h"
#include "kci/service.h"

namespace vg::kci {

AfterCopyHook g_after_copy_hook;

Storage& default_storage() {
  static Storage storage;
  return storage;
}

Service::Service(monitor::TelemetryRing& ring, Storage& storage) : ring_(ring), storage_(storage) {
  // Two services sharing one Storage would enforce each other's policy
  // buffers and module tables: a broken invariant of the image, not input.
  VG_ASSERT(!storage_.claimed);
  storage_.claimed = true;
  for (ImageSlot& slot : storage_.images) {
    slot.used = false;
  }
}

Service::~Service() { storage_.claimed = false; }

}  // namespace vg::kci
