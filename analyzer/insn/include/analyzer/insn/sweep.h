// The aligned pass: a linear sweep of every code section, restarting at each
// function symbol, split by function ranges across threads. It records where
// every instruction starts (the unintended pass needs that) and every
// privileged instruction it meets.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analyzer/insn/code_map.h"
#include "base/result.h"

namespace vg::analyzer::insn {

struct SweepStats {
  uint64_t instructions = 0;   // decoded instructions
  uint64_t undecodable = 0;    // bytes skipped one at a time because nothing decodes there
  uint64_t gap_decoded = 0;    // instructions only the gap layer could decode
  uint64_t segments = 0;       // restart ranges swept
};

struct SweepResult {
  // Per section, one byte per code byte: 1 where a swept instruction starts.
  std::vector<std::vector<uint8_t>> starts;
  std::vector<FoundInsn> aligned;  // sorted by address
  SweepStats stats;
};

// Called from the calling thread only: bytes swept so far, bytes in total.
using SweepProgress = std::function<void(uint64_t done, uint64_t total)>;

// `threads` >= 1; the calling thread does one share of the work.
Result<SweepResult, std::string> sweep_code(const std::vector<CodeSection>& sections, unsigned threads,
                                            const SweepProgress& progress);

}  // namespace vg::analyzer::insn
