// Page arithmetic on plain offsets (kernel image offsets, sizes).
#pragma once

#include <stdint.h>

#include "base/types.h"

namespace vg::kci {

constexpr uint64_t page_floor(uint64_t value) {
  return value & ~(kPageSize4K - 1);
}
// Rounds up; callers bound `value` first so that this cannot wrap.
constexpr uint64_t page_ceil(uint64_t value) {
  return page_floor(value + kPageSize4K - 1);
}

// True if [start, start + length) does not wrap and ends at or before `limit`.
constexpr bool range_within(uint64_t start, uint64_t length, uint64_t limit) {
  return start <= limit && length <= limit - start;
}

}  // namespace vg::kci
