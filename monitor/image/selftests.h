// The portable self-tests the image runs at boot: the same parser, digest,
// pattern matcher, instruction-length decoder and pinned-register logic the
// monitor enforces with, compiled freestanding and run on the real CPU.
#pragma once

#include <stdint.h>

namespace vg::image {

struct SelfTestSummary {
  uint32_t passed = 0;
  uint32_t failed = 0;
};

// Runs every self-test, printing one line each on the console.
SelfTestSummary run_selftests();

}  // namespace vg::image
