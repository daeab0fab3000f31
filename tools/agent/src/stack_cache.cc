#include "agent/stack_cache.h"

#include <atomic>

namespace vg::agent {

uint64_t fresh_stack_epoch() {
  // Relaxed: uniqueness is all that matters, not ordering against other memory.
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace vg::agent
