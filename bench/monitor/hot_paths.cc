// The monitor's hot paths, run under callgrind to count instructions (the
// sim build at -O2). Each mode prepares a registered synthetic kernel
// outside the measured region, then runs the path `iterations` times with
// callgrind instrumentation on, so that the count per iteration excludes
// setup. run_callgrind.sh divides and prints the ratio to the ~35,000-cycle
// hardware VMPL round trip.
//
// Modes:
//   patch1      one TEXT_PATCH call, a batch of 1 entry (copy, validate, write, record)
//   patch64     one TEXT_PATCH call, a batch of 64 entries; (patch64 - patch1) / 63 is
//               the cost of validating and applying one more entry
//   deny1       one TEXT_PATCH call whose single entry is refused (validate, record)
//   violation   KCI's handle_violation for a write to sys_call_table (attribute, decide,
//               record)
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "requests.h"
#include "world.h"

using namespace vg;
using namespace vg::kci;
using namespace vg::kci::testing;

constexpr uint32_t kBenchSites = 64;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s patch1|patch64|deny1|violation ITERATIONS\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const long iterations = std::strtol(argv[2], nullptr, 10);
  // The synthetic kernel plus 64 jump-label sites (NOP5 or JMP to 0x6800),
  // so that one batch can carry 64 distinct entries.
  KernelDescription kernel = synthetic_kernel();
  for (uint32_t i = 0; i < kBenchSites; ++i) {
    kernel.sites.push_back(SiteFact{0x6000 + i * 0x10,
                                    policy::kSiteJumpLabel,
                                    5,
                                    {policy::PatternSpec::nop(5), policy::PatternSpec::jmp32(0x6800)}});
  }
  World world(kernel);
  world.boot_final();

  std::vector<PatchEntrySpec> entries;
  if (mode == "patch1") {
    entries.push_back({world.text_va(0x6000), kNop5});
  } else if (mode == "patch64") {
    for (uint32_t i = 0; i < kBenchSites; ++i) entries.push_back({world.text_va(0x6000 + i * 0x10), kNop5});
  } else if (mode == "deny1") {
    entries.push_back({world.text_va(0x6000), rel32(0xe9, world.text_va(0x6000), world.text_va(0x5000))});
  }
  std::vector<uint8_t> page = patch_batch(entries, 1);
  world.poke(Gpa(kRequestGpa), page);

  ViolationExit exit;
  exit.vcpu = 0;
  exit.vmpl = Vmpl(3);
  exit.gpa = world.text_gpa(0x10018);
  exit.error_code = kNpfRmp | kNpfVmpl | kNpfWrite | 1;
  exit.rip = world.text_va(0x5040);

  volatile uint32_t sink = 0;
  CALLGRIND_START_INSTRUMENTATION;
  for (long i = 0; i < iterations; ++i) {
    if (mode == "violation") {
      sink = sink + static_cast<uint32_t>(world.service().handle_violation(exit));
    } else {
      sink = sink + world.call(VG_CALL_TEXT_PATCH, kRequestGpa).result;
    }
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("%s x%ld done (%u)\n", mode.c_str(), iterations, static_cast<unsigned>(sink));
  return 0;
}
