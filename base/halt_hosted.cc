// Hosted implementation of vg::halt: tests and tools abort loudly so that a
// broken invariant can never be mistaken for a handled error.
#include <cstdio>
#include <cstdlib>

#include "base/assert.h"

namespace vg {
[[noreturn]] void halt(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, condition);
  std::abort();
}
}  // namespace vg
