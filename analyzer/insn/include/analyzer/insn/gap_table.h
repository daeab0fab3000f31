// Instructions that Capstone 4.0.2 (Debian's libcapstone4) cannot decode or
// names wrongly, with their encodings checked against binutils 2.40
// (i386-dis.c tables, `objdump -d`) and AMD APM vol. 3.
//
// All of them are 0F 01 with a register-form ModRM byte: three opcode bytes,
// no operand bytes, selected by the last F2/F3 prefix or by 66 [APM3 Table A-7].
// Without this table a linear sweep loses pvalidate, rmpadjust, psmash,
// rmpquery, invlpgb, tlbsync, wrpkru and serialize, and falls out of step on
// every one of them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "analyzer/insn/prefixes.h"

namespace vg::analyzer::insn {

// Which of the prefixes 66/F2/F3 selects an encoding.
enum class PrefixClass : uint8_t { kNone, kOperandSize, kRepne, kRep };

struct GapInsn {
  PrefixClass prefix;
  uint8_t modrm;         // the byte after 0F 01
  bool any_prefix;       // decoded the same with 66, F2 or F3 in front
  const char* mnemonic;  // binutils' name
};

PrefixClass prefix_class(const Prefixes& prefixes);

// The gap-table entry for the bytes at `code`, or nullptr. On success
// `length` is the whole instruction length (prefixes + 3).
const GapInsn* find_gap_insn(const uint8_t* code, size_t size, size_t& length);

// Every entry, for tests and the fuzzer.
const GapInsn* gap_table(size_t& count);

}  // namespace vg::analyzer::insn
