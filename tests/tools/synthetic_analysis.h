// A small synthetic Analysis shaped like a Debian 6.12 cloud kernel: every
// region kind, sites from several special sections, privileged instructions in
// each (aligned/unintended, trusted/untrusted) combination, present and absent
// critical objects. Each entry exists to trigger, or to not trigger, one rule.
#pragma once

#include <vector>

#include "analyzer/model.h"
#include "policy/builder.h"

namespace vg::cli::testing {

inline constexpr uint64_t kTextVa = 0xffffffff81000000ull;

// Sets fields by name, so that fields added to the model later keep their defaults.
inline analyzer::PrivilegedSite privileged_site(uint64_t address, policy::PrivilegedKind kind, uint8_t length,
                                                bool unintended, bool trusted, bool init,
                                                std::string function, uint64_t function_offset,
                                                std::string disassembly) {
  analyzer::PrivilegedSite site;
  site.address = address;
  site.kind = kind;
  site.length = length;
  site.unintended = unintended;
  site.trusted = trusted;
  site.init = init;
  site.function = std::move(function);
  site.function_offset = function_offset;
  site.disassembly = std::move(disassembly);
  return site;
}

inline analyzer::Analysis synthetic_analysis() {
  using namespace vg::policy;  // NOLINT(google-build-using-namespace): format constants
  analyzer::Analysis a;
  a.kernel.path = "/boot/vmlinux-test";
  a.kernel.release = "6.12.117+deb12-cloud-amd64";
  a.kernel.build_id = {0x3b, 0x9e, 0x01, 0x7a, 0x55, 0xc0, 0xde, 0x42};
  a.kernel.text_va = kTextVa;
  a.kernel.layout = analyzer::KernelLayout::kLinux612;

  constexpr uint8_t kRx = kPermRead | kPermSupervisorExec;
  constexpr uint8_t kRw = kPermRead | kPermWrite;
  a.regions = {
      {".text", RegionKind::kText, kTextVa, 0x1000000, kRx, kRx},
      {".rodata", RegionKind::kRodata, kTextVa + 0x1200000, 0x200000, kPermRead, kPermRead},
      {"ro_after_init", RegionKind::kRoAfterInit, kTextVa + 0x1400000, 0x7a470, kRw, kPermRead},
      {".data", RegionKind::kData, kTextVa + 0x1600000, 0x300000, kRw, kRw},
      {".init.text", RegionKind::kInitText, kTextVa + 0x2000000, 0x80000, kRx, 0},
      {".bss", RegionKind::kBss, kTextVa + 0x2400000, 0x400000, kRw, kRw},
  };

  analyzer::PatchSite jump_label{kTextVa + 0x1100,
                                 kSiteJumpLabel,
                                 5,
                                 {PatternSpec::nop(5), PatternSpec::jmp32(0x1180)},
                                 kTextVa + 0x1180};
  analyzer::PatchSite ftrace{
      kTextVa + 0x2000, kSiteFtrace, 5, {PatternSpec::nop(5), PatternSpec::call(0x3000)}, 0};
  analyzer::PatchSite both{kTextVa + 0x2100,
                           static_cast<uint16_t>(kSiteReturn | kSiteAlternative),
                           5,
                           {PatternSpec::jmp32(0x3100)},
                           0};
  a.sites = {jump_label, ftrace, both};
  a.site_tables = {
      {"__jump_table", 16, 3, 1, 2},
      {"__mcount_loc", 8, 1, 1, 0},
      {".return_sites", 4, 1, 1, 0},
  };

  a.privileged = {
      // The kernel's own CR4 writer: trusted, not a finding.
      privileged_site(kTextVa + 0x1010, PrivilegedKind::kMovToCr4, 3, false, true, false, "native_write_cr4",
                      0x10, "mov cr4, rdi"),
      // A wrmsr in its accessor: trusted, not a finding.
      privileged_site(kTextVa + 0x1204, PrivilegedKind::kWrmsr, 2, false, true, false, "native_write_msr",
                      0x4, "wrmsr"),
      // An unintended lgdt inside trusted code: not a finding.
      privileged_site(kTextVa + 0x1300, PrivilegedKind::kLgdt, 3, true, true, false, "load_direct_gdt", 0x20,
                      "lgdt [rax]"),
      // An unintended CR0 write in untrusted code: VG001.
      privileged_site(kTextVa + 0x4a2c, PrivilegedKind::kMovToCr0, 3, true, false, false,
                      "proc_map_files_readdir", 0x1ac, "mov cr0, rax"),
      // An unintended wrmsr in untrusted init code: VG002.
      privileged_site(kTextVa + 0x2000210, PrivilegedKind::kWrmsr, 2, true, false, true, "early_fixup", 0x10,
                      "wrmsr"),
      // An aligned lidt outside any function: VG003.
      privileged_site(kTextVa + 0x5000, PrivilegedKind::kLidt, 3, false, false, false, "", 0, "lidt [rdi]"),
      // An unintended wbinvd in untrusted code: VG005.
      privileged_site(kTextVa + 0x6010, PrivilegedKind::kWbinvd, 2, true, false, false, "ethtool_stats", 0x30,
                      "wbinvd"),
  };

  a.functions = {
      {"native_write_cr4", kTextVa + 0x1000, 0x40, false, true, "privileged: mov cr4"},
      {"native_write_msr", kTextVa + 0x1200, 0x20, false, true, "privileged: wrmsr"},
      {"proc_map_files_readdir", kTextVa + 0x4880, 0x400, false, false, ""},
  };

  analyzer::CriticalObjectInfo sys_call_table{"sys_call_table",
                                              "redirects every system call",
                                              Protection::kLockedAfterBoot,
                                              true,
                                              kTextVa + 0x1200040,
                                              3704,
                                              "BTF",
                                              ".rodata"};
  analyzer::CriticalObjectInfo modprobe_path{"modprobe_path",
                                             "runs an attacker's program as root",
                                             Protection::kWriteMediated,
                                             true,
                                             kTextVa + 0x1600100,
                                             256,
                                             "DWARF",
                                             ".data"};
  analyzer::CriticalObjectInfo selinux_state{
      "selinux_state", "turns SELinux enforcement off", Protection::kWatched, false, 0, 0, "", ""};
  a.objects = {sys_call_table, modprobe_path, selinux_state};

  a.trusted = {2, 0x60, 1, 0x400};
  a.notes = {"__jump_table: 2 entries point outside .text (zeroed by the linker)"};
  a.timings = {{"open", 0.012}, {"privileged", 1.5}};
  return a;
}

// The policy the fake backend returns: built from the same facts with the
// real builder, so `policy show` / `verify` read a genuine file.
inline std::vector<uint8_t> synthetic_policy(const analyzer::Analysis& a) {
  policy::PolicyBuilder builder;
  builder.set_kernel(a.kernel.build_id, a.kernel.release, a.kernel.text_va);
  builder.set_flags(policy::kFlagModulesAllowed);
  for (const auto& region : a.regions) {
    builder.add_region(region.start - a.kernel.text_va, region.size, region.kind, region.perms_boot,
                       region.perms_final);
  }
  for (const auto& site : a.sites) {
    builder.add_site(static_cast<uint32_t>(site.address - a.kernel.text_va), site.kind, site.length,
                     site.patterns);
  }
  for (const auto& insn : a.privileged) {
    const uint8_t flags =
        static_cast<uint8_t>((insn.unintended ? policy::kPrivUnintended : 0) |
                             (insn.trusted ? policy::kPrivTrusted : 0) | (insn.init ? policy::kPrivInit : 0));
    builder.add_privileged(static_cast<uint32_t>(insn.address - a.kernel.text_va), insn.kind, insn.length,
                           flags);
  }
  for (const auto& function : a.functions) {
    builder.add_function(static_cast<uint32_t>(function.address - a.kernel.text_va),
                         static_cast<uint32_t>(function.size), function.name,
                         function.trusted ? uint32_t{policy::kFunctionTrusted} : uint32_t{0});
  }
  for (const auto& object : a.objects) {
    if (!object.present) continue;
    builder.add_object(static_cast<uint32_t>(object.address - a.kernel.text_va),
                       static_cast<uint32_t>(object.size), object.name, object.protection,
                       object.region == ".rodata" ? policy::RegionKind::kRodata : policy::RegionKind::kData);
  }
  auto bytes = builder.build();
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>{};
}

}  // namespace vg::cli::testing
