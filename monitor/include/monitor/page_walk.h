// Guest-virtual to guest-physical translation through the kernel's own page
// tables (CR3 from its VMSA), for reading the instruction at a faulting RIP.
// 4-level paging, and 5-level when CR4.LA57 is set [APM2 5.3]. The C-bit
// (memory encryption bit) in guest PTEs is not part of the address
// [APM2 15.34.6] and is masked out.
//
// Page-table entries are guest memory, hence hostile: each is read once,
// every address is range-checked by the HAL, and the walk is bounded by the
// number of levels, so a looping table cannot hang the monitor.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/result.h"
#include "base/types.h"

namespace vg::monitor {

enum class WalkError : uint8_t {
  kNonCanonical,  // the address has no translation on x86-64
  kNotPresent,    // a table entry on the way has P = 0
  kReservedBit,   // a large-page entry has reserved address bits set
  kUnreadable,    // a table lies outside guest memory
};

struct PagingMode {
  uint64_t cr3 = 0;
  bool la57 = false;
  uint64_t c_bit_mask = 0;  // 1 << C-bit position (CPUID 0x8000001F EBX[5:0]), 0 if none
};

Result<Gpa, WalkError> translate(const PagingMode& mode, Gva address);

// Reads `length` bytes at `address` (may cross one or more pages) into
// `out`. Returns the number of bytes read before the first page that does
// not translate (0 if the first does not).
size_t read_guest_virtual(const PagingMode& mode, Gva address, uint8_t* out, size_t length);

}  // namespace vg::monitor
