// Shared body of KCI's request fuzzers: one guest with a registered
// synthetic kernel (tests/scenarios/kernel.txt) on the simulated platform;
// each input is the request page the kernel hands to one call. Whatever the
// bytes, KCI must answer without crashing, and a refused request must leave
// the kernel's text and permissions as they were.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "world.h"

namespace vg::kci::fuzzing {

inline int run_request(uint32_t call, const uint8_t* data, size_t size) {
  using namespace vg::kci::testing;
  static World* world = [] {
    auto* w = new World(synthetic_kernel());
    w->boot(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
    // Module text the allowlist knows, so that inputs can reach admission.
    w->poke(World::free_page(0), synthetic_kernel().module_hashes[0].bytes());
    return w;
  }();
  std::vector<uint8_t> page(4096, 0);
  std::memcpy(page.data(), data, size < page.size() ? size : page.size());
  world->poke(Gpa(kRequestGpa), page);
  const std::vector<uint8_t> text_before = world->read(Gpa(kTextGpa), 0x10000);
  const CallOutcome outcome = world->call(call, kRequestGpa);
  if (outcome.result != VG_RESULT_SUCCESS && world->read(Gpa(kTextGpa), 0x10000) != text_before) std::abort();
  // Keep the image table from filling up: admitted images leave again.
  if (outcome.result == VG_RESULT_SUCCESS &&
      (call == VG_CALL_REGISTER_MODULE || call == VG_CALL_BPF_JIT_MAP)) {
    if (world->call(VG_CALL_UNREGISTER_MODULE, outcome.rcx).result != VG_RESULT_SUCCESS) std::abort();
  }
  return 0;
}

}  // namespace vg::kci::fuzzing
