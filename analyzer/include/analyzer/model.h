// What the analyzer learns about a kernel. Each analysis stage fills its part
// of Analysis; the policy writer and the report writers only read it.
//
// Addresses here are link-time virtual addresses; the policy stores them as
// offsets from `_text`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/builder.h"
#include "policy/format.h"

namespace vg::analyzer {

// Which layout the special sections use; detected from the file (entry sizes
// and bounds symbols), never from a flag. See ../shared/kernel-facts.md.
enum class KernelLayout { kUnknown, kLinux61, kLinux612 };

struct KernelInfo {
  std::string path;
  std::string release;            // "6.12.117+deb12-cloud-amd64"
  std::vector<uint8_t> build_id;  // NT_GNU_BUILD_ID
  uint64_t text_va = 0;           // `_text`
  KernelLayout layout = KernelLayout::kUnknown;
};

struct RegionInfo {
  std::string name;  // ".text", "ro_after_init", ...
  policy::RegionKind kind{};
  uint64_t start = 0;  // VA
  uint64_t size = 0;
  uint8_t perms_boot = 0;  // policy::Perm mask
  uint8_t perms_final = 0;
};

struct PatchSite {
  uint64_t address = 0;  // VA of the first byte the kernel writes
  uint16_t kind = 0;     // one policy::SiteKind bit
  uint8_t length = 0;
  std::vector<policy::PatternSpec> patterns;  // the legitimate byte sequences
  uint64_t target = 0;                        // jump-label target, static-call key, ... (0 if none)
};

// Counts per special section, for the report and for checks against
// kernel-facts.md.
struct SiteTableStats {
  std::string section;  // "__jump_table"
  uint64_t entry_size = 0;
  uint64_t entries = 0;  // entries in the table
  uint64_t sites = 0;    // sites produced (zero entries are skipped)
  uint64_t skipped = 0;  // entries that point outside text (with reason in notes)
};

struct PrivilegedSite {
  uint64_t address = 0;
  policy::PrivilegedKind kind{};
  uint8_t length = 0;
  bool unintended = false;   // starts inside another instruction
  bool trusted = false;      // inside a trusted-region function
  bool init = false;         // inside init text
  bool replacement = false;  // in .altinstr_replacement: copied over text at boot
  std::string function;      // containing function symbol, "" if none
  uint64_t function_offset = 0;
  std::string disassembly;  // "mov cr4, rdi"
};

struct FunctionInfo {
  std::string name;
  uint64_t address = 0;
  uint64_t size = 0;
  bool init = false;
  bool trusted = false;
  std::string trust_reason;  // why it is trusted ("privileged: wrmsr", "patching machinery")
};

struct CriticalObjectInfo {
  std::string name;
  std::string why;  // one sentence: what an attacker gains by writing it
  policy::Protection protection{};
  bool present = false;  // absent on this kernel: reported, not an error
  uint64_t address = 0;
  uint64_t size = 0;
  std::string size_source;  // "BTF", "DWARF" or "symbol"
  std::string region;       // ".rodata", "ro_after_init", ".data", ".bss", ...
};

struct TrustedSummary {
  uint64_t functions = 0;
  uint64_t bytes = 0;
  uint64_t untrusted_functions = 0;
  uint64_t untrusted_bytes = 0;
};

// Wall time of each stage, for --verbose and the benchmark.
struct StageTiming {
  std::string stage;
  double seconds = 0;
};

struct Analysis {
  KernelInfo kernel;
  std::vector<RegionInfo> regions;
  std::vector<PatchSite> sites;
  std::vector<SiteTableStats> site_tables;
  std::vector<PrivilegedSite> privileged;
  std::vector<FunctionInfo> functions;  // sorted by address
  std::vector<CriticalObjectInfo> objects;
  TrustedSummary trusted;
  std::vector<std::string> notes;  // non-fatal observations for the report
  std::vector<StageTiming> timings;
};

}  // namespace vg::analyzer
