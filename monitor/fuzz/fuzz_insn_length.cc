// libFuzzer target: the instruction-length decoder over arbitrary bytes (the
// bytes at a faulting RIP are guest memory). Checks the decoder's contract:
// never reads past the input, never reports more than 15 bytes or more than
// it was given, and is a pure function of its input.
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "monitor/insn_length.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vg::ByteView bytes{data, size};
  const auto first = vg::monitor::instruction_length(bytes);
  const auto second = vg::monitor::instruction_length(bytes);
  VG_ASSERT(first.ok() == second.ok());
  if (first.ok()) {
    VG_ASSERT(*first >= 1 && *first <= vg::monitor::kMaxInstructionLength && *first <= size);
    VG_ASSERT(*first == *second);
    // Bytes after the instruction do not change its length.
    const auto prefix = vg::monitor::instruction_length(vg::ByteView{data, *first});
    VG_ASSERT(prefix.ok() && *prefix == *first);
  }
  return 0;
}
