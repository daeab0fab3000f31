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

#include "requests.h"
#include "world.h"

namespace vg::kci::fuzzing {

// The input is XOR-ed over a valid request of the call's kind, so that small
// inputs explore the validation paths behind the format checks; any page
// content is still reachable.
inline std::vector<uint8_t> valid_request(uint32_t call, vg::kci::testing::World& world) {
  using namespace vg::kci::testing;
  std::vector<uint8_t> page(4096, 0);
  if (call == VG_CALL_TEXT_PATCH) {
    page = patch_batch({{world.text_va(0x1010), kNop5}, {world.text_va(0x2000), kNop5}}, 1);
  } else if (call == VG_CALL_REGISTER_MODULE) {
    vg_module module{};
    std::memcpy(module.name, "good_module", 12);
    module.text_va = 0xffffffffc0000000ull;
    module.text_size = synthetic_kernel().module_hashes[0].size;
    module.page_count = static_cast<uint32_t>((module.text_size + 4095) / 4096);
    for (uint32_t i = 0; i < module.page_count; ++i) module.page_gpa[i] = World::free_page(i).raw();
    std::memcpy(page.data(), &module, sizeof(module));
  } else if (call == VG_CALL_MEDIATED_WRITE) {
    vg_mediated_write request{};
    uint64_t at = 0;
    (void)synthetic_kernel().symbol("modprobe_path", at);
    request.object_va = world.text_va(at);
    request.length = 15;
    std::memcpy(request.bytes, "/sbin/modprobe", 15);
    std::memcpy(page.data(), &request, sizeof(request));
  }
  return page;
}

inline int run_request(uint32_t call, const uint8_t* data, size_t size) {
  using namespace vg::kci::testing;
  static World* world = [] {
    auto* w = new World(synthetic_kernel());
    w->boot(policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed);
    // Module text the allowlist knows, so that inputs can reach admission.
    w->poke(World::free_page(0), synthetic_kernel().module_hashes[0].bytes());
    return w;
  }();
  std::vector<uint8_t> page = valid_request(call, *world);
  for (size_t i = 0; i < size && i < page.size(); ++i) page[i] ^= data[i];
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
