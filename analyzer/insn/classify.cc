#include "analyzer/insn/classify.h"

#include "analyzer/insn/prefixes.h"

namespace vg::analyzer::insn {
namespace {

using policy::PrivilegedKind;

Classification privileged(PrivilegedKind kind) {
  return Classification{true, true, kind};
}
Classification not_privileged() {
  return Classification{};
}
Classification undefined() {
  return Classification{false, false, PrivilegedKind::kMovToCr1};
}

uint8_t modrm_reg(uint8_t modrm) {
  return static_cast<uint8_t>((modrm >> 3) & 7);
}
bool modrm_is_register(uint8_t modrm) {
  return (modrm >> 6) == 3;
}

// MOV to/from CRn: the ModRM mod field is ignored and always names a register
// [APM3 MOV(CRn)]. Only CR0, CR2, CR3, CR4 and CR8 exist; the others raise #UD.
// On AMD processors LOCK MOV CR0 reaches CR8 (CPUID Fn8000_0001_ECX[AltMovCr8])
// [APM3 MOV(CRn)], so the LOCK form is a CR8 access, and LOCK with any other
// control register is #UD.
Classification control_register(const Prefixes& prefixes, uint8_t modrm, bool write) {
  uint8_t cr = static_cast<uint8_t>(modrm_reg(modrm) | (prefixes.rex_r() ? 8 : 0));
  if (prefixes.lock) {
    if (cr != 0) return undefined();
    cr = 8;
  }
  PrivilegedKind kind;
  switch (cr) {
    case 0: kind = PrivilegedKind::kMovToCr0; break;
    case 2: kind = PrivilegedKind::kMovToCr2; break;
    case 3: kind = PrivilegedKind::kMovToCr3; break;
    case 4: kind = PrivilegedKind::kMovToCr4; break;
    case 8: kind = PrivilegedKind::kMovToCr8; break;
    default: return undefined();
  }
  return write ? privileged(kind) : not_privileged();
}

// MOV to/from DRn: DR0-DR7 exist (DR4/DR5 alias DR6/DR7 unless CR4.DE, which
// the decoder cannot know); REX.R naming DR8-DR15 raises #UD [APM3 MOV(DRn)].
Classification debug_register(const Prefixes& prefixes, bool write) {
  if (prefixes.rex_r() || prefixes.lock) return undefined();
  return write ? privileged(PrivilegedKind::kMovToDr) : not_privileged();
}

// 0F 01 with a register-form ModRM: one fixed byte per instruction, selected
// further by the last F2/F3 prefix [APM3 Table A-7; binutils i386-dis.c].
Classification group7_register(const Prefixes& prefixes, uint8_t modrm) {
  switch (modrm) {
    case 0xD1: return privileged(PrivilegedKind::kXsetbv);
    case 0xF8: return privileged(PrivilegedKind::kSwapgs);
    case 0xD9:
      // VMGEXIT is VMMCALL with a REP or REPNE prefix [APM3 VMGEXIT].
      if (prefixes.last_rep != 0) return privileged(PrivilegedKind::kVmgexit);
      return not_privileged();
    case 0xEF:
      if (prefixes.last_rep == 0) return privileged(PrivilegedKind::kWrpkru);
      return not_privileged();  // F3: STUI
    case 0xFD:
      if (prefixes.last_rep == 0xF3) return privileged(PrivilegedKind::kRmpquery);
      return not_privileged();  // none: RDPRU
    case 0xFE:
      if (prefixes.last_rep == 0xF3) return privileged(PrivilegedKind::kRmpadjust);
      if (prefixes.last_rep == 0) return privileged(PrivilegedKind::kInvlpgb);
      return not_privileged();  // F2: RMPUPDATE, a hypervisor instruction
    case 0xFF:
      if (prefixes.last_rep == 0xF2) return privileged(PrivilegedKind::kPvalidate);
      if (prefixes.last_rep == 0xF3) return privileged(PrivilegedKind::kPsmash);
      return privileged(PrivilegedKind::kTlbsync);
    default: return not_privileged();
  }
}

}  // namespace

Classification classify(const uint8_t* code, size_t length) {
  const Prefixes prefixes = read_prefixes(code, length);
  if (!prefixes.complete) return not_privileged();
  const uint8_t* op = code + prefixes.length;
  const size_t rest = length - prefixes.length;
  switch (op[0]) {
    case 0xCF: return privileged(PrivilegedKind::kIretq);
    case 0xF4: return privileged(PrivilegedKind::kHlt);
    case 0x0F: break;
    default: return not_privileged();
  }
  if (rest < 2) return not_privileged();
  const uint8_t second = op[1];
  switch (second) {
    case 0x06: return privileged(PrivilegedKind::kClts);
    case 0x07: return privileged(PrivilegedKind::kSysret);
    case 0x08: return privileged(PrivilegedKind::kInvd);
    case 0x09: return privileged(PrivilegedKind::kWbinvd);
    case 0x30: return privileged(PrivilegedKind::kWrmsr);
    case 0x32: return privileged(PrivilegedKind::kRdmsr);
    case 0x35: return privileged(PrivilegedKind::kSysexit);
    default: break;
  }
  if (rest < 3) return not_privileged();
  const uint8_t modrm = op[2];
  switch (second) {
    case 0x20: return control_register(prefixes, modrm, false);
    case 0x22: return control_register(prefixes, modrm, true);
    case 0x21: return debug_register(prefixes, false);
    case 0x23: return debug_register(prefixes, true);
    case 0x00:
      if (modrm_reg(modrm) == 2) return privileged(PrivilegedKind::kLldt);
      if (modrm_reg(modrm) == 3) return privileged(PrivilegedKind::kLtr);
      return not_privileged();
    case 0x01:
      if (modrm_is_register(modrm)) return group7_register(prefixes, modrm);
      if (modrm_reg(modrm) == 2) return privileged(PrivilegedKind::kLgdt);
      if (modrm_reg(modrm) == 3) return privileged(PrivilegedKind::kLidt);
      if (modrm_reg(modrm) == 7) return privileged(PrivilegedKind::kInvlpg);
      return not_privileged();
    case 0x38:
      // INVPCID is 66 0F 38 82 /r with a memory operand [APM3 INVPCID].
      if (modrm == 0x82 && prefixes.operand_size && prefixes.last_rep == 0 && rest >= 4 &&
          !modrm_is_register(op[3])) {
        return privileged(PrivilegedKind::kInvpcid);
      }
      return not_privileged();
    default: return not_privileged();
  }
}

const char* kind_name(policy::PrivilegedKind kind) {
  switch (kind) {
    case PrivilegedKind::kMovToCr0: return "mov to cr0";
    case PrivilegedKind::kMovToCr2: return "mov to cr2";
    case PrivilegedKind::kMovToCr3: return "mov to cr3";
    case PrivilegedKind::kMovToCr4: return "mov to cr4";
    case PrivilegedKind::kMovToCr8: return "mov to cr8";
    case PrivilegedKind::kMovToDr: return "mov to dr";
    case PrivilegedKind::kWrmsr: return "wrmsr";
    case PrivilegedKind::kRdmsr: return "rdmsr";
    case PrivilegedKind::kLgdt: return "lgdt";
    case PrivilegedKind::kLidt: return "lidt";
    case PrivilegedKind::kLldt: return "lldt";
    case PrivilegedKind::kLtr: return "ltr";
    case PrivilegedKind::kInvlpg: return "invlpg";
    case PrivilegedKind::kInvpcid: return "invpcid";
    case PrivilegedKind::kWbinvd: return "wbinvd";
    case PrivilegedKind::kXsetbv: return "xsetbv";
    case PrivilegedKind::kSwapgs: return "swapgs";
    case PrivilegedKind::kSysret: return "sysret";
    case PrivilegedKind::kIretq: return "iret";
    case PrivilegedKind::kPvalidate: return "pvalidate";
    case PrivilegedKind::kRmpadjust: return "rmpadjust";
    case PrivilegedKind::kVmgexit: return "vmgexit";
    case PrivilegedKind::kWrpkru: return "wrpkru";
    case PrivilegedKind::kClts: return "clts";
    case PrivilegedKind::kInvd: return "invd";
    case PrivilegedKind::kHlt: return "hlt";
    case PrivilegedKind::kSysexit: return "sysexit";
    case PrivilegedKind::kRmpquery: return "rmpquery";
    case PrivilegedKind::kPsmash: return "psmash";
    case PrivilegedKind::kInvlpgb: return "invlpgb";
    case PrivilegedKind::kTlbsync: return "tlbsync";
    case PrivilegedKind::kMovToCr1: return "mov to a non-existent cr";
  }
  return "unknown";
}

}  // namespace vg::analyzer::insn
