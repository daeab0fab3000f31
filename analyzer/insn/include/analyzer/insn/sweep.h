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

// How far each restart range is swept.
enum class SweepExtent {
  // To the end of the range: every instruction (the instruction count of a
  // full linear sweep).
  kFull,
  // Only up to the last byte where a privileged opcode could start
  // (candidates.h), looking one instruction length into the next range for
  // opcodes after long prefix runs. Nothing after it can
  // change a result, so both passes find exactly what kFull finds; on 6.1 it
  // decodes about a third of .text.
  kToLastCandidate,
};

struct SweepOptions {
  unsigned threads = 2;  // >= 1; the calling thread does one share
  SweepExtent extent = SweepExtent::kToLastCandidate;
};

struct SweepStats {
  uint64_t instructions = 0;   // decoded instructions
  uint64_t bytes_skipped = 0;  // bytes after a range's last candidate, not decoded (kToLastCandidate)
  uint64_t undecodable = 0;    // bytes skipped one at a time because nothing decodes there
  uint64_t gap_decoded = 0;    // instructions only the gap layer could decode
  uint64_t segments = 0;       // restart ranges swept
  uint64_t overruns = 0;       // ranges whose last instruction ran past the next restart point
};

struct SweepResult {
  // Per section, one byte per code byte: 1 where a swept instruction starts.
  std::vector<std::vector<uint8_t>> starts;
  std::vector<FoundInsn> aligned;  // sorted by address
  SweepStats stats;
};

// Called from the calling thread only: bytes swept so far, bytes in total.
using SweepProgress = std::function<void(uint64_t done, uint64_t total)>;

Result<SweepResult, std::string> sweep_code(const std::vector<CodeSection>& sections,
                                            const SweepOptions& options, const SweepProgress& progress);

}  // namespace vg::analyzer::insn
