// x86-64 instruction length decoder for the monitor's "deny and skip"
// verdict: after refusing a kernel write, the monitor resumes the kernel at
// the next instruction, so it must know how long the faulting one is.
//
// Covers the legacy one-byte and 0F two-byte opcode maps of 64-bit mode,
// with prefixes, REX, ModRM/SIB/displacement and immediates [APM3 1.2-1.5,
// Appendix A], plus 0F38/0F3A. VEX, EVEX, XOP and 3DNow! encodings are
// refused (kUnsupported): the monitor then injects a fault instead of
// skipping, which is safe. Bytes come from guest memory: every read is
// bounds-checked.
#pragma once

#include <stdint.h>

#include "base/result.h"
#include "base/types.h"

namespace vg::monitor {

inline constexpr uint8_t kMaxInstructionLength = 15;  // [APM3 1.1]

enum class LengthError : uint8_t {
  kTruncated,    // the bytes end before the instruction does
  kUnsupported,  // invalid in 64-bit mode, or an encoding this decoder refuses
  kTooLong,      // more than 15 bytes (the CPU raises #GP)
};

Result<uint8_t, LengthError> instruction_length(ByteView bytes);

const char* describe(LengthError error);

}  // namespace vg::monitor
