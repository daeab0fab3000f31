// The VMPL0 image's single KCI state. It lives in .bss (zero-filled at
// load), so the build-time sizes cost nothing until a policy is loaded.
#include "kci/guest_copy.h"
#include "kci/service.h"

namespace vg::kci {

AfterCopyHook g_after_copy_hook;

namespace {
Storage g_storage;  // trivial: zero-filled .bss, used = false everywhere
}  // namespace

Storage& default_storage() {
  return g_storage;
}

Service::Service(monitor::TelemetryRing& ring, Storage& storage) : ring_(ring), storage_(storage) {
  for (ImageSlot& slot : storage_.images) {
    slot.used = false;
    slot.generation = 0;
  }
  for (ArmedProbe& probe : storage_.probes) probe.state = ProbeState::kFree;
}

Service::~Service() = default;

}  // namespace vg::kci
