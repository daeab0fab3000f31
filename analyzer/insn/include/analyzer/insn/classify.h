// Which privileged instruction (policy::PrivilegedKind) a decoded instruction
// is, read from its bytes rather than from Capstone's instruction ids: the
// same function then serves the aligned sweep (Capstone gives the length) and
// the unintended-offset scan (no sweep there), and it sees the prefixes and
// register fields that Capstone 4 gets wrong.
#pragma once

#include <cstddef>
#include <cstdint>

#include "policy/format.h"

namespace vg::analyzer::insn {

struct Classification {
  // False for encodings that raise #UD although Capstone 4 decodes them:
  // MOV to or from CR1, CR5-CR7, CR9-CR15 [APM3 MOV(CRn)], DR8-DR15 [APM3 MOV(DRn)],
  // and LOCK MOV CRn other than the CR8 alias.
  bool valid = true;
  bool privileged = false;
  policy::PrivilegedKind kind = policy::PrivilegedKind::kMovToCr1;
};

// Classifies the instruction of `length` bytes at `code` (a complete
// instruction as decoded; `length` >= 1).
Classification classify(const uint8_t* code, size_t length);

// The short name of a kind ("mov to cr4"), for reports and test messages.
const char* kind_name(policy::PrivilegedKind kind);

}  // namespace vg::analyzer::insn
