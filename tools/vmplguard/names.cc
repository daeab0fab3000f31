#include "names.h"

#include <array>
#include <cstdio>

namespace vg::cli {
namespace {

using policy::PrivilegedKind;

struct KindName {
  PrivilegedKind kind;
  const char* id;
  const char* label;
};

constexpr std::array kPrivilegedNames{
    KindName{PrivilegedKind::kMovToCr0, "mov_cr0", "mov cr0"},
    KindName{PrivilegedKind::kMovToCr2, "mov_cr2", "mov cr2"},
    KindName{PrivilegedKind::kMovToCr3, "mov_cr3", "mov cr3"},
    KindName{PrivilegedKind::kMovToCr4, "mov_cr4", "mov cr4"},
    KindName{PrivilegedKind::kMovToCr8, "mov_cr8", "mov cr8"},
    KindName{PrivilegedKind::kMovToDr, "mov_dr", "mov drN"},
    KindName{PrivilegedKind::kWrmsr, "wrmsr", "wrmsr"},
    KindName{PrivilegedKind::kRdmsr, "rdmsr", "rdmsr"},
    KindName{PrivilegedKind::kLgdt, "lgdt", "lgdt"},
    KindName{PrivilegedKind::kLidt, "lidt", "lidt"},
    KindName{PrivilegedKind::kLldt, "lldt", "lldt"},
    KindName{PrivilegedKind::kLtr, "ltr", "ltr"},
    KindName{PrivilegedKind::kInvlpg, "invlpg", "invlpg"},
    KindName{PrivilegedKind::kInvpcid, "invpcid", "invpcid"},
    KindName{PrivilegedKind::kWbinvd, "wbinvd", "wbinvd"},
    KindName{PrivilegedKind::kXsetbv, "xsetbv", "xsetbv"},
    KindName{PrivilegedKind::kSwapgs, "swapgs", "swapgs"},
    KindName{PrivilegedKind::kSysret, "sysret", "sysret"},
    KindName{PrivilegedKind::kIretq, "iretq", "iretq"},
    KindName{PrivilegedKind::kPvalidate, "pvalidate", "pvalidate"},
    KindName{PrivilegedKind::kRmpadjust, "rmpadjust", "rmpadjust"},
    KindName{PrivilegedKind::kVmgexit, "vmgexit", "vmgexit"},
    KindName{PrivilegedKind::kWrpkru, "wrpkru", "wrpkru"},
    KindName{PrivilegedKind::kClts, "clts", "clts"},
    KindName{PrivilegedKind::kInvd, "invd", "invd"},
    KindName{PrivilegedKind::kHlt, "hlt", "hlt"},
    KindName{PrivilegedKind::kSysexit, "sysexit", "sysexit"},
    KindName{PrivilegedKind::kRmpquery, "rmpquery", "rmpquery"},
    KindName{PrivilegedKind::kPsmash, "psmash", "psmash"},
    KindName{PrivilegedKind::kInvlpgb, "invlpgb", "invlpgb"},
    KindName{PrivilegedKind::kTlbsync, "tlbsync", "tlbsync"},
};

const KindName* find_kind(PrivilegedKind kind) {
  for (const KindName& name : kPrivilegedNames) {
    if (name.kind == kind) return &name;
  }
  return nullptr;
}

std::string unknown(std::string_view prefix, uint64_t value) {
  return std::string(prefix) + "unknown_" + std::to_string(value);
}

}  // namespace

std::string privileged_kind_id(policy::PrivilegedKind kind) {
  const KindName* name = find_kind(kind);
  return name != nullptr ? name->id : unknown("", static_cast<uint16_t>(kind));
}

std::string privileged_kind_label(policy::PrivilegedKind kind) {
  const KindName* name = find_kind(kind);
  return name != nullptr ? name->label : unknown("", static_cast<uint16_t>(kind));
}

std::string region_kind_id(policy::RegionKind kind) {
  using policy::RegionKind;
  switch (kind) {
    case RegionKind::kText: return "text";
    case RegionKind::kRodata: return "rodata";
    case RegionKind::kRoAfterInit: return "ro_after_init";
    case RegionKind::kData: return "data";
    case RegionKind::kBss: return "bss";
    case RegionKind::kInitText: return "init_text";
    case RegionKind::kInitData: return "init_data";
  }
  return unknown("", static_cast<uint16_t>(kind));
}

std::string protection_id(policy::Protection protection) {
  using policy::Protection;
  switch (protection) {
    case Protection::kLockedAfterBoot: return "locked_after_boot";
    case Protection::kWriteMediated: return "write_mediated";
    case Protection::kWatched: return "watched";
  }
  return unknown("", static_cast<uint16_t>(protection));
}

const std::vector<uint16_t>& site_kind_bits() {
  static const std::vector<uint16_t> kBits = [] {
    std::vector<uint16_t> bits;
    for (uint16_t bit = 1; bit <= policy::kSiteSmpLock; bit = static_cast<uint16_t>(bit << 1)) {
      bits.push_back(bit);
    }
    return bits;
  }();
  return kBits;
}

std::string site_kind_id(uint16_t kind_bit) {
  using namespace policy;  // NOLINT(google-build-using-namespace): the SiteKind bits
  switch (kind_bit) {
    case kSiteAlternative: return "alternative";
    case kSiteJumpLabel: return "jump_label";
    case kSiteStaticCall: return "static_call";
    case kSiteFtrace: return "ftrace";
    case kSiteRetpoline: return "retpoline";
    case kSiteReturn: return "return";
    case kSiteCall: return "call";
    case kSiteEndbrSeal: return "endbr_seal";
    case kSiteParavirt: return "paravirt";
    case kSiteRuntimeConst: return "runtime_const";
    case kSiteSmpLock: return "smp_lock";
    default: return unknown("", kind_bit);
  }
}

std::string layout_id(analyzer::KernelLayout layout) {
  switch (layout) {
    case analyzer::KernelLayout::kLinux61: return "6.1";
    case analyzer::KernelLayout::kLinux612: return "6.12";
    case analyzer::KernelLayout::kUnknown: break;
  }
  return "unknown";
}

std::string perms_string(uint8_t perms) {
  std::string out = "----";
  if ((perms & policy::kPermRead) != 0) out[0] = 'r';
  if ((perms & policy::kPermWrite) != 0) out[1] = 'w';
  if ((perms & policy::kPermUserExec) != 0) out[2] = 'u';
  if ((perms & policy::kPermSupervisorExec) != 0) out[3] = 'x';
  return out;
}

std::string hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string hex_bytes(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  return out;
}

std::string symbolic_location(std::string_view function, uint64_t offset, uint64_t address) {
  if (function.empty()) return hex(address);
  return std::string(function) + "+" + hex(offset);
}

std::string human_size(uint64_t bytes) {
  char buffer[32];
  if (bytes < 1024) {
    std::snprintf(buffer, sizeof(buffer), "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buffer, sizeof(buffer), "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return buffer;
}

}  // namespace vg::cli
