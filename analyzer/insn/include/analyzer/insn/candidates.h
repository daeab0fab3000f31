// The opcode bytes every privileged instruction kind starts with (the
// opcode, after any prefixes), shared by both passes:
//   0F 00 (LLDT/LTR), 0F 01 (LGDT/LIDT/INVLPG/XSETBV/SWAPGS and the SNP and
//   TLB instructions), 0F 06 CLTS, 0F 07 SYSRET, 0F 08 INVD, 0F 09 WBINVD,
//   0F 22/23 MOV to CR/DR, 0F 30 WRMSR, 0F 32 RDMSR, 0F 35 SYSEXIT,
//   0F 38 (INVPCID), CF IRET, F4 HLT.
// classify.cc recognises nothing else as privileged; the test
// CandidatesTest.CoverEveryPrivilegedKind keeps the two in step.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vg::analyzer::insn {

constexpr std::array<bool, 256> make_second_opcode_bytes() {
  std::array<bool, 256> table{};
  for (int byte : {0x00, 0x01, 0x06, 0x07, 0x08, 0x09, 0x22, 0x23, 0x30, 0x32, 0x35, 0x38}) {
    table[static_cast<size_t>(byte)] = true;
  }
  return table;
}
inline constexpr std::array<bool, 256> kPrivilegedSecondByte = make_second_opcode_bytes();

// True if a privileged instruction's opcode can start at code[at] (`size`
// bytes in the buffer).
inline bool privileged_opcode_at(const uint8_t* code, size_t size, size_t at) {
  const uint8_t byte = code[at];
  if (byte == 0xCF || byte == 0xF4) return true;
  return byte == 0x0F && at + 1 < size && kPrivilegedSecondByte[code[at + 1]];
}

}  // namespace vg::analyzer::insn
