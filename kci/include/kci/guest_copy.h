// Copying a request out of guest memory: the one way KCI reads a structure
// the guest names by GPA. The copy is taken once, before any check, so that
// a vCPU changing the page while the monitor validates changes nothing
// (a time-of-check/time-of-use race cannot exist on a private copy).
#pragma once

#include <stddef.h>

#include "base/types.h"
#include "hal/hal.h"

namespace vg::kci {

// Concurrency seam: called right after a request was copied out of guest
// memory. The monitor image leaves it null; tests set it to model another
// vCPU rewriting the request page while KCI validates its copy.
struct AfterCopyHook {
  void (*function)(void* context, Gpa source) = nullptr;
  void* context = nullptr;
};
extern AfterCopyHook g_after_copy_hook;

// Copies `size` bytes at `source` into `destination` if they lie in one guest
// page (the ABI promises every request fits in the page the guest names).
inline bool copy_request(Gpa source, void* destination, size_t size) {
  if (size > kPageSize4K || source.page_offset() > kPageSize4K - size) return false;
  // SAFETY: read_guest checks that the range is guest memory and never
  // faults; the destination is monitor memory of `size` bytes.
  if (!hal::read_guest(source, destination, size)) return false;
  if (g_after_copy_hook.function != nullptr) g_after_copy_hook.function(g_after_copy_hook.context, source);
  return true;
}

// True if `page` is guest memory: probes its first and last byte.
inline bool is_guest_page(Gpa page) {
  uint8_t probe = 0;
  // SAFETY: one-byte reads into a local; read_guest reports non-memory.
  return hal::read_guest(page, &probe, 1) && hal::read_guest(page + (kPageSize4K - 1), &probe, 1);
}

}  // namespace vg::kci
