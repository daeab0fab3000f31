#include "analyzer/insn/prefixes.h"

namespace vg::analyzer::insn {

Prefixes read_prefixes(const uint8_t* code, size_t size) {
  Prefixes prefixes;
  const size_t limit = size < kMaxInsnLength ? size : kMaxInsnLength;
  size_t at = 0;
  for (; at < limit; ++at) {
    const uint8_t byte = code[at];
    if (is_rex(byte)) {
      prefixes.rex = byte;
      continue;
    }
    if (!is_legacy_prefix(byte)) break;
    prefixes.rex = 0;  // a legacy prefix after REX cancels it
    if (byte == 0xF2 || byte == 0xF3) prefixes.last_rep = byte;
    if (byte == 0x66) prefixes.operand_size = true;
    if (byte == 0xF0) prefixes.lock = true;
  }
  prefixes.length = static_cast<uint8_t>(at);
  prefixes.complete = at < limit;
  return prefixes;
}

}  // namespace vg::analyzer::insn
