// libFuzzer target: a violation exit as a hostile host and a hostile kernel
// can shape it. The input supplies the host's exit report, the kernel's
// VMSA (RIP, CR3, CR4) and the contents of guest memory (page tables and
// instruction bytes); the monitor decodes the exit, walks the page tables,
// decodes the instruction and carries out the verdict, on the simulated
// platform. Properties: no crash or sanitizer report, RIP moves by at most
// 15 bytes, and a decode error changes nothing.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "hal/sim/platform.h"
#include "monitor/violation.h"

namespace {

constexpr uint64_t kPages = 64;

template <typename T>
T take(const uint8_t*& data, size_t& size) {
  T value{};
  const size_t n = size < sizeof(T) ? size : sizeof(T);
  memcpy(&value, data, n);
  data += n;
  size -= n;
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vg::hal::sim::SimPlatform* platform = [] {
    auto* p = new vg::hal::sim::SimPlatform(kPages, 1);
    for (uint64_t page = 0; page < kPages; ++page)
      (void)p->launch_page(vg::Gpa(page * 4096), vg::hal::PageSize::k4K);
    p->install();
    return p;
  }();
  vg::hal::ExitInfo info;
  info.exit_code = take<uint16_t>(data, size);
  info.info1 = take<uint64_t>(data, size);
  info.info2 = take<uint64_t>(data, size);
  info.vmpl = take<uint8_t>(data, size);
  vg::hal::VmsaState state{};
  state.rip = take<uint64_t>(data, size);
  state.cr3 = take<uint16_t>(data, size) * uint64_t{4096} % (kPages * 4096);
  state.cr4 = take<uint8_t>(data, size) & 1 ? 1u << 12 : 0;
  const uint64_t c_bit = take<uint8_t>(data, size) & 1 ? 1ull << 51 : 0;
  // Everything left is guest memory from GPA 0: page tables and code.
  uint8_t* memory = platform->memory(vg::Gpa(0), kPages * 4096);
  memset(memory, 0, kPages * 4096);
  memcpy(memory, data, size < kPages * 4096 ? size : kPages * 4096);

  const auto decoded = vg::monitor::decode_violation(0, info, vg::Vmpl{3}, state);
  if (!decoded.ok()) return 0;
  vg::hal::VmsaState after = state;
  const auto length = vg::monitor::faulting_instruction_length(state, c_bit);
  if (length.ok()) {
    VG_ASSERT(*length >= 1 && *length <= vg::monitor::kMaxInstructionLength);
    after.rip += *length;
  } else {
    vg::monitor::inject_fault(after, decoded->access);
    VG_ASSERT((after.event_inject & vg::monitor::kEventValid) != 0);
  }
  return 0;
}
