// Guest memory as the VMPL0 monitor addresses it: all guest-physical memory
// mapped once, private (C-bit set), at a fixed virtual offset, by the
// monitor image's boot page tables. GPA g is at VA kDirectMapBase + g.
//
// The base is the start of the upper canonical half; the monitor image links
// at -2 GiB (-mcmodel=kernel), far above base + size, so the two never
// overlap. 64 TiB (2^46) of guest-physical space is more than any SNP guest
// has (the C-bit sits at bit 51 or below and guests are far smaller); a GPA
// beyond it is refused, never mapped.
#pragma once

#include <stdint.h>

#include "base/types.h"

namespace vg::hal::snp {

inline constexpr uint64_t kDirectMapBase = 0xFFFF'8000'0000'0000ull;
inline constexpr uint64_t kDirectMapSize = 1ull << 46;  // 64 TiB

constexpr bool in_direct_map(Gpa gpa, uint64_t length) {
  return gpa.raw() <= kDirectMapSize && length <= kDirectMapSize - gpa.raw();
}

inline uint64_t direct_map_va(Gpa gpa) {
  return kDirectMapBase + gpa.raw();
}

}  // namespace vg::hal::snp
