// The executable code of a kernel image as the instruction passes see it:
// each executable section with its bytes and the offsets where a linear sweep
// (re)starts. Built from an ElfImage by collect_privileged(); tests and the
// fuzzer build it directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/types.h"
#include "policy/format.h"

namespace vg::analyzer::insn {

struct CodeSection {
  std::string name;
  uint64_t address = 0;
  ByteView bytes;
  bool init = false;         // freed after boot (.init.text)
  bool replacement = false;  // .altinstr_replacement: copied over text by apply_alternatives
  // Sorted, unique offsets into `bytes` where the sweep restarts: 0 and every
  // function symbol. A linear sweep falls out of step on data and on 32-bit
  // code inside .text (pvh_start_xen); symbols put it back in step.
  std::vector<uint64_t> restarts;
};

// One privileged instruction found in code.
struct FoundInsn {
  uint64_t address = 0;
  uint32_t section = 0;  // index into the CodeSection list
  policy::PrivilegedKind kind{};
  uint8_t length = 0;
  bool unintended = false;
};

}  // namespace vg::analyzer::insn
