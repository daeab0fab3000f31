#include "monitor/insn_length.h"

namespace vg::monitor {
namespace {

// Operand-size-dependent immediate kinds.
enum Imm : uint8_t {
  kNone = 0,
  kImm8,
  kImm16,
  kImmZ,       // 16 with a 66 prefix, else 32 (never 64 [APM3 1.5])
  kImmV,       // MOV r, imm: 16/32/64 by operand size
  kImm16Imm8,  // ENTER
  kMoffs,      // A0-A3: 64-bit address, 32 with a 67 prefix
  kInvalid,
};

struct OpInfo {
  bool modrm;
  Imm imm;
};

// One-byte opcode map in 64-bit mode [APM3 Appendix A, Table A-1].
constexpr OpInfo one_byte(uint8_t op) {
  if (op < 0x40) {
    switch (op & 7) {
      case 0:
      case 1:
      case 2:
      case 3: return {true, kNone};   // ALU r/m forms
      case 4: return {false, kImm8};  // ALU AL, imm8
      case 5: return {false, kImmZ};  // ALU rAX, imm
      default:
        // 06/07/0E/16/17/1E/1F push/pop seg, 27/2F/37/3F decimal adjust:
        // invalid in 64-bit mode; 26/2E/36/3E are prefixes (never reach here).
        return {false, kInvalid};
    }
  }
  if (op < 0x60) return {false, kNone};  // REX (handled before), push/pop r64
  switch (op) {
    case 0x60:
    case 0x61:
    case 0x62: return {false, kInvalid};  // pusha/popa/bound (62 = EVEX)
    case 0x63: return {true, kNone};      // movsxd
    case 0x68: return {false, kImmZ};
    case 0x69: return {true, kImmZ};
    case 0x6a: return {false, kImm8};
    case 0x6b: return {true, kImm8};
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f: return {false, kNone};  // ins/outs
    case 0x80: return {true, kImm8};
    case 0x81: return {true, kImmZ};
    case 0x82: return {false, kInvalid};
    case 0x83: return {true, kImm8};
    case 0x9a: return {false, kInvalid};  // far call
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3: return {false, kMoffs};
    case 0xa8: return {false, kImm8};
    case 0xa9: return {false, kImmZ};
    case 0xc0:
    case 0xc1: return {true, kImm8};
    case 0xc2: return {false, kImm16};
    case 0xc3: return {false, kNone};
    case 0xc4:
    case 0xc5: return {false, kInvalid};  // VEX in 64-bit mode: refused
    case 0xc6: return {true, kImm8};
    case 0xc7: return {true, kImmZ};
    case 0xc8: return {false, kImm16Imm8};
    case 0xc9: return {false, kNone};
    case 0xca: return {false, kImm16};
    case 0xcb:
    case 0xcc: return {false, kNone};
    case 0xcd: return {false, kImm8};
    case 0xce: return {false, kInvalid};  // into
    case 0xcf: return {false, kNone};
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: return {true, kNone};
    case 0xd4:
    case 0xd5:
    case 0xd6: return {false, kInvalid};
    case 0xd7: return {false, kNone};
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3: return {false, kImm8};  // loop/jrcxz rel8
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe7: return {false, kImm8};  // in/out imm8
    case 0xe8:
    case 0xe9: return {false, kImmZ};  // rel32
    case 0xea: return {false, kInvalid};
    case 0xeb: return {false, kImm8};
    case 0xf6:
    case 0xf7: return {true, kNone};  // immediate depends on ModRM.reg
    case 0xfe:
    case 0xff: return {true, kNone};
    default: break;
  }
  if (op >= 0x70 && op <= 0x7f) return {false, kImm8};  // jcc rel8
  if (op >= 0x84 && op <= 0x8f) return {true, kNone};   // test/xchg/mov/lea/pop r/m
  if (op >= 0xb0 && op <= 0xb7) return {false, kImm8};
  if (op >= 0xb8 && op <= 0xbf) return {false, kImmV};
  if (op >= 0xd8 && op <= 0xdf) return {true, kNone};  // x87
  return {false, kNone};                               // 90-9F, A4-AF, EC-EF, F4-F5, F8-FD and the like
}

// Two-byte (0F) opcode map [APM3 Appendix A, Table A-2..A-4].
constexpr OpInfo two_byte(uint8_t op) {
  switch (op) {
    case 0x04:
    case 0x0a:
    case 0x0c:
    case 0x0e:
    case 0x0f:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x27:
    case 0x36:
    case 0x39:
    case 0x3b:
    case 0x3c:
    case 0x3d:
    case 0x3e:
    case 0x3f:
    case 0x7a:
    case 0x7b:
    case 0xa6:
    case 0xa7: return {false, kInvalid};  // undefined, or 3DNow! (0F 0F)
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0b:
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x37:
    case 0x77:
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa8:
    case 0xa9:
    case 0xaa: return {false, kNone};  // syscall, clts, sysret, invd, wbinvd, ud2, wrmsr, rdtsc, ...
    case 0x70:
    case 0x71:
    case 0x72:
    case 0x73:
    case 0xa4:
    case 0xac:
    case 0xba:
    case 0xc2:
    case 0xc4:
    case 0xc5:
    case 0xc6: return {true, kImm8};
    default: break;
  }
  if (op >= 0x80 && op <= 0x8f) return {false, kImmZ};  // jcc rel32
  if (op >= 0xc8 && op <= 0xcf) return {false, kNone};  // bswap
  return {true, kNone};
}

bool is_legacy_prefix(uint8_t byte) {
  switch (byte) {
    case 0xf0:
    case 0xf2:
    case 0xf3:
    case 0x2e:
    case 0x36:
    case 0x3e:
    case 0x26:
    case 0x64:
    case 0x65:
    case 0x66:
    case 0x67: return true;
    default: return false;
  }
}

class Cursor {
 public:
  explicit Cursor(ByteView bytes) : bytes_(bytes) {}
  bool next(uint8_t& out) {
    if (position_ >= bytes_.size || position_ >= kMaxInstructionLength + 1) return false;
    out = bytes_.data[position_++];
    return true;
  }
  bool skip(size_t count) {
    if (!bytes_.contains(position_, count)) return false;
    position_ += count;
    return true;
  }
  size_t position() const { return position_; }
  // Why the bytes ran out before `needed` more: a real instruction cannot be
  // longer than 15 bytes, so running past that is kTooLong, not truncation.
  LengthError shortfall(size_t needed = 1) const {
    return position_ + needed > kMaxInstructionLength ? LengthError::kTooLong : LengthError::kTruncated;
  }

 private:
  ByteView bytes_;
  size_t position_ = 0;
};

// The ModRM byte and what follows it: SIB, displacement [APM3 1.4].
bool skip_modrm(Cursor& cursor, uint8_t modrm) {
  const uint8_t mod = modrm >> 6;
  const uint8_t rm = modrm & 7;
  if (mod == 3) return true;
  size_t displacement = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (rm == 4) {
    uint8_t sib = 0;
    if (!cursor.next(sib)) return false;
    if (mod == 0 && (sib & 7) == 5) displacement = 4;  // no base: disp32
  } else if (mod == 0 && rm == 5) {
    displacement = 4;  // RIP-relative in 64-bit mode
  }
  return cursor.skip(displacement);
}

}  // namespace

Result<uint8_t, LengthError> instruction_length(ByteView bytes) {
  Cursor cursor(bytes);
  bool operand16 = false;
  bool address32 = false;
  bool rex_w = false;
  uint8_t byte = 0;
  // Legacy prefixes, then at most one REX immediately before the opcode.
  for (;;) {
    if (!cursor.next(byte)) return Err{cursor.shortfall()};
    if (!is_legacy_prefix(byte)) break;
    operand16 |= byte == 0x66;
    address32 |= byte == 0x67;
  }
  if ((byte & 0xf0) == 0x40) {
    rex_w = (byte & 0x08) != 0;
    if (!cursor.next(byte)) return Err{cursor.shortfall()};
    // A legacy prefix after REX makes the CPU ignore the REX; no compiler
    // emits it, and guessing would risk a wrong skip.
    if (is_legacy_prefix(byte) || (byte & 0xf0) == 0x40) return Err{LengthError::kUnsupported};
  }

  OpInfo info{};
  uint8_t opcode = byte;
  bool group3 = false;
  if (opcode == 0x0f) {
    uint8_t second = 0;
    if (!cursor.next(second)) return Err{cursor.shortfall()};
    if (second == 0x38) {
      if (!cursor.skip(1)) return Err{cursor.shortfall()};
      info = {true, kNone};
    } else if (second == 0x3a) {
      if (!cursor.skip(1)) return Err{cursor.shortfall()};
      info = {true, kImm8};
    } else {
      info = two_byte(second);
    }
  } else {
    info = one_byte(opcode);
    group3 = opcode == 0xf6 || opcode == 0xf7;
  }
  if (info.imm == kInvalid) return Err{LengthError::kUnsupported};

  if (info.modrm) {
    uint8_t modrm = 0;
    if (!cursor.next(modrm)) return Err{cursor.shortfall()};
    // 8F with ModRM.reg != 0 is an XOP prefix, not POP r/m [APM3 1.8].
    if (opcode == 0x8f && ((modrm >> 3) & 7) != 0) return Err{LengthError::kUnsupported};
    if (!skip_modrm(cursor, modrm)) return Err{cursor.shortfall(4)};
    // F6/F7 /0 and /1 (TEST r/m, imm) carry an immediate, the rest do not.
    if (group3 && ((modrm >> 3) & 7) < 2) info.imm = opcode == 0xf6 ? kImm8 : kImmZ;
  }

  size_t immediate = 0;
  switch (info.imm) {
    case kNone:
    case kInvalid: break;
    case kImm8: immediate = 1; break;
    case kImm16: immediate = 2; break;
    case kImmZ: immediate = operand16 ? 2 : 4; break;
    case kImmV: immediate = rex_w ? 8 : operand16 ? 2 : 4; break;
    case kImm16Imm8: immediate = 3; break;
    case kMoffs: immediate = address32 ? 4 : 8; break;
  }
  if (!cursor.skip(immediate)) return Err{cursor.shortfall(immediate)};
  if (cursor.position() > kMaxInstructionLength) return Err{LengthError::kTooLong};
  return static_cast<uint8_t>(cursor.position());
}

const char* describe(LengthError error) {
  switch (error) {
    case LengthError::kTruncated: return "instruction bytes end before the instruction does";
    case LengthError::kUnsupported:
      return "encoding invalid in 64-bit mode or not decoded (VEX/EVEX/XOP/3DNow!)";
    case LengthError::kTooLong: return "instruction longer than 15 bytes";
  }
  return "unknown";
}

}  // namespace vg::monitor
