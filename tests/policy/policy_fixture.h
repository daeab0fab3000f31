// A small but complete policy used by the policy tests: every table kind,
// sites with several pattern kinds, aliases and critical objects.
#pragma once

#include <cstring>
#include <vector>

#include "policy/builder.h"
#include "policy/reader.h"

namespace vg::policy::testing {

inline PolicyBuilder sample_builder() {
  PolicyBuilder builder;
  builder.set_kernel({0xde, 0xad, 0xbe, 0xef}, "6.12.0-test", 0xffffffff81000000ull);
  builder.set_flags(kFlagModulesAllowed);
  builder.add_region(0, 0x10000, RegionKind::kText, kPermRead | kPermSupervisorExec,
                     kPermRead | kPermSupervisorExec);
  builder.add_region(0x10000, 0x8000, RegionKind::kRodata, kPermRead, kPermRead);
  builder.add_region(0x18000, 0x1000, RegionKind::kRoAfterInit, kPermRead | kPermWrite, kPermRead);
  builder.add_region(0x20000, 0x4000, RegionKind::kData, kPermRead | kPermWrite, kPermRead | kPermWrite);
  builder.add_function(0x100, 0x40, "patched_fn", kFunctionTrusted);
  builder.add_function(0x200, 0x20, "target_fn", 0);
  builder.add_function(0x1000, 0x80, "other_fn", 0);
  // A jump label: NOP5 or jmp to its target.
  builder.add_site(0x110, kSiteJumpLabel, 5, {PatternSpec::nop(5), PatternSpec::jmp32(0x130)});
  // An ftrace site: NOP5 or call to the tracer.
  builder.add_site(0x100, kSiteFtrace, 5, {PatternSpec::nop(5), PatternSpec::call(0x200)});
  // A static call: call any function, or NOP5.
  builder.add_site(0x1010, kSiteStaticCall, 5, {PatternSpec::call_any_function(), PatternSpec::nop(5)});
  // A short jump label.
  builder.add_site(0x1020, kSiteJumpLabel, 2, {PatternSpec::nop(2), PatternSpec::jmp8(0x1030)});
  // The same address found twice merges.
  builder.add_site(0x1040, kSiteReturn, 5, {PatternSpec::literal_bytes({0xc3, 0xcc, 0xcc, 0xcc, 0xcc})});
  builder.add_site(0x1040, kSiteAlternative, 5, {PatternSpec::jmp32(0x1000)});
  builder.add_privileged(0x150, PrivilegedKind::kMovToCr4, 3, kPrivTrusted);
  builder.add_privileged(0x1050, PrivilegedKind::kWrmsr, 2, kPrivUnintended);
  builder.add_object(0x20100, 0x40, "modprobe_path", Protection::kWriteMediated, RegionKind::kData);
  builder.add_object(0x10000, 0x100, "sys_call_table", Protection::kLockedAfterBoot, RegionKind::kRodata);
  uint8_t digest[32];
  std::memset(digest, 0x5a, sizeof(digest));
  builder.add_module_hash(digest, "test_module");
  return builder;
}

// Copies into 8-byte-aligned storage, as the monitor does before parsing.
struct AlignedPolicy {
  explicit AlignedPolicy(const std::vector<uint8_t>& bytes)
      : storage((bytes.size() + 7) / 8), size(bytes.size()) {
    // An empty vector's data() may be null, which memcpy must never get.
    if (!bytes.empty()) std::memcpy(storage.data(), bytes.data(), bytes.size());
  }
  ByteView view() const { return ByteView{reinterpret_cast<const uint8_t*>(storage.data()), size}; }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(storage.data()); }
  std::vector<uint64_t> storage;
  size_t size;
};

}  // namespace vg::policy::testing
