// The prefix bytes in front of an x86-64 opcode, read without a decoder.
//
// The gap table and the privileged-instruction classifier both need to know
// which prefixes an instruction carries before its opcode: mandatory prefixes
// (66, F2, F3) select a different instruction for the same opcode bytes, REX.R
// extends the ModRM reg field to CR8-CR15, and LOCK turns MOV CR0 into MOV CR8
// on AMD processors. Capstone 4 reports none of that with detail off.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vg::analyzer::insn {

// Architectural limit on the length of one instruction [APM3 1.1].
inline constexpr size_t kMaxInsnLength = 15;

struct Prefixes {
  uint8_t length = 0;         // bytes before the opcode (legacy prefixes and REX)
  uint8_t rex = 0;            // the REX byte if it directly precedes the opcode, else 0
  uint8_t last_rep = 0;       // 0xF2 or 0xF3, whichever came last, or 0
  bool operand_size = false;  // 0x66 present
  bool lock = false;          // 0xF0 present
  bool complete = false;      // an opcode byte follows within the limit

  bool rex_w() const { return (rex & 0x08) != 0; }
  bool rex_r() const { return (rex & 0x04) != 0; }
};

// True for the legacy prefix bytes of 64-bit mode [APM3 1.2].
constexpr bool is_legacy_prefix(uint8_t byte) {
  switch (byte) {
    case 0x26:
    case 0x2E:
    case 0x36:
    case 0x3E:
    case 0x64:
    case 0x65:
    case 0x66:
    case 0x67:
    case 0xF0:
    case 0xF2:
    case 0xF3: return true;
    default: return false;
  }
}

constexpr bool is_rex(uint8_t byte) {
  return (byte & 0xF0) == 0x40;
}

// Reads the prefixes at the start of `code` (at most `size` bytes). A REX byte
// followed by a legacy prefix is ignored by the processor [APM3 1.2.7], so only
// a REX directly before the opcode counts.
Prefixes read_prefixes(const uint8_t* code, size_t size);

}  // namespace vg::analyzer::insn
