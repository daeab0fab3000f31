// VG_ASSERT: the channel for broken invariants (never for input).
//
// Hosted builds abort with a message so tests and sanitizers see it; the
// freestanding monitor routes the failure to vg_halt(), which the image
// provides (it stops the vCPU; it never returns).
#pragma once

namespace vg {
[[noreturn]] void halt(const char* file, int line, const char* condition);
}  // namespace vg

#define VG_ASSERT(cond)                      \
  do {                                       \
    if (!(cond)) {                           \
      ::vg::halt(__FILE__, __LINE__, #cond); \
    }                                        \
  } while (0)
