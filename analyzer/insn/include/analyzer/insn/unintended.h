// The unintended pass, Nested-Kernel style: privileged instructions that begin
// inside another instruction's bytes (in an immediate, a displacement, across
// two instructions), reachable by a jump into the middle of code.
//
// Rather than decode at every byte offset (8.5 s with Capstone on 6.1), it
// looks for the opcode bytes every privileged kind needs (memchr for 0F and for
// CF, then a 256-entry table for the byte after 0F), and decodes only there: at
// the opcode and at each start inside the run of prefix bytes before it, since
// a prefix can change the instruction (F2 turns TLBSYNC into PVALIDATE, REX.R
// turns CR0 into CR8).
//
// Rules, documented for the report:
//  - a start where the sweep found an instruction is aligned, not unintended;
//  - an opcode that a swept privileged instruction of the same kind also uses
//    is that instruction, entered without some of its prefixes; if dropping
//    the prefixes makes another kind (MOV CR8 -> MOV CR0 without REX.R,
//    PVALIDATE -> TLBSYNC without F2), that is a new gadget and is reported;
//  - one report per (opcode position, kind): the start with the fewest prefixes;
//  - HLT (F4) and IRET without REX.W (CF) are not searched: each is one byte
//    that appears about once every 256 bytes of code, HLT only stops the CPU
//    and 64-bit kernel code returns with IRETQ (48 CF), which is searched and
//    reported at its REX.W byte.
#pragma once

#include <cstddef>
#include <vector>

#include "analyzer/insn/code_map.h"
#include "analyzer/insn/decoder.h"
#include "analyzer/insn/prefixes.h"
#include "analyzer/insn/sweep.h"

namespace vg::analyzer::insn {

// Prefix bytes tried in front of an opcode: as many as an instruction can
// hold (redundant segment prefixes can push a meaningful F2 or REX far from
// the opcode). The run ends at the first byte that is not a prefix, so long
// runs cost nothing in real code.
inline constexpr size_t kMaxPrefixRun = kMaxInsnLength - 1;

struct UnintendedStats {
  uint64_t candidates = 0;  // opcode positions that passed the byte filter
  uint64_t decoded = 0;     // decodes attempted
};

// Sorted by address. Needs the sweep's instruction starts.
std::vector<FoundInsn> find_unintended(const std::vector<CodeSection>& sections, const SweepResult& sweep,
                                       Decoder& decoder, UnintendedStats* stats = nullptr);

}  // namespace vg::analyzer::insn
