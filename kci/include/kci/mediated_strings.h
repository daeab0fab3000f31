// Which write-mediated objects KCI checks as C strings (critical_data.cc).
// Only those are rebuilt in a monitor buffer of kMaxMediatedObjectBytes
// before a write, so only those are bounded by it: a mediated page table
// (init_top_pgt, 8 KiB in 6.12) needs no copy.
#pragma once

namespace vg::kci {

bool mediated_string_object(const char* name);

}  // namespace vg::kci
