// Which special-section layout a kernel uses (internal to the analyzer).
#pragma once

#include "analyzer/diagnostic.h"
#include "analyzer/elf_image.h"
#include "analyzer/model.h"
#include "base/result.h"

namespace vg::analyzer {

// Reads the layout from the file: the entry size of .altinstructions (12 bytes
// in 6.1, 14 packed bytes in 6.12) is the one under which every entry points
// into executable code; bounds symbols only 6.1 (__parainstructions) or only
// 6.12 (__call_sites, __ibt_endbr_seal, runtime_shift_*) have break ties.
Result<KernelLayout, Diagnostic> detect_layout(const ElfImage& image);

inline constexpr uint64_t kAltEntry61 = 12;
inline constexpr uint64_t kAltEntry612 = 14;

const char* layout_name(KernelLayout layout);

}  // namespace vg::analyzer

namespace vg::analyzer {

// [__init_begin, __init_end): memory free_initmem() returns to the page
// allocator. Empty if the kernel has no such symbols.
struct AddressRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  bool contains(uint64_t va) const { return va >= begin && va < end; }
  bool empty() const { return end <= begin; }
};
AddressRange init_range(const ElfImage& image);

}  // namespace vg::analyzer
