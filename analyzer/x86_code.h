// The x86 code facts the kernel's own patching code relies on: its NOP
// sequences, its NOP optimisation and the instruction fields it relocates.
// The analyzer replays that patching to predict the bytes a site may hold, so
// these follow arch/x86/kernel/alternative.c of the kernel being analysed
// (6.1 and 6.12 differ), not an idealised x86.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "analyzer/model.h"

namespace vg::analyzer::x86 {

inline constexpr uint8_t kCall = 0xe8;
inline constexpr uint8_t kJmp32 = 0xe9;
inline constexpr uint8_t kJmp8 = 0xeb;
inline constexpr uint8_t kInt3 = 0xcc;
inline constexpr uint8_t kRet = 0xc3;

// The fields of one instruction that patching code looks at.
struct Insn {
  uint8_t length = 0;
  uint8_t opcode = 0;      // primary opcode byte (after 0f for two-byte opcodes)
  bool two_byte = false;   // 0f-escaped opcode
  bool nop = false;        // 90 (not f3 90) or 0f 1f, as the kernel's insn_is_nop()
  uint8_t imm_offset = 0;  // relative immediate (call/jmp/jcc), 0 if none
  uint8_t imm_size = 0;    // bytes
  int64_t imm = 0;
  uint8_t disp_offset = 0;  // RIP-relative displacement, 0 if none
  uint8_t disp_size = 0;
  int64_t disp = 0;
  bool relative_branch() const { return imm_size != 0; }
  bool rip_relative() const { return disp_size != 0; }
};

// Decodes one 64-bit instruction; nullopt if the bytes are not one.
std::optional<Insn> decode(const uint8_t* bytes, size_t size);

// Writes `length` bytes of the kernel's NOP padding at `out`: add_nops() in
// 6.1 (8-byte NOPs, longest first), add_nop() in 6.12 (one NOP up to 11
// bytes, else a short jump over int3 padding).
void add_nops(KernelLayout layout, uint8_t* out, size_t length);

// The kernel's optimize_nops() on a buffer of `length` bytes.
void optimize_nops(KernelLayout layout, uint8_t* buffer, size_t length);

// Writes a rel32 displacement.
void put_rel32(uint8_t* out, int64_t displacement);
int32_t get_rel32(const uint8_t* at);

}  // namespace vg::analyzer::x86
