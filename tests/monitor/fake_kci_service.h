// A test double of kci::Service for the monitor's dispatch tests: it records
// what the monitor hands it and answers as each test configures. KCI's real
// implementation lives in kci/ (another branch); this file is compiled only
// into tests/monitor.
#pragma once

#include <vector>

#include "kci/service.h"

namespace vg::test {

struct FakeKci {
  struct Call {
    uint32_t vcpu;
    Vmpl caller;
    uint32_t call;
    kci::CallArgs args;
  };
  std::vector<Call> calls;
  std::vector<kci::ViolationExit> violations;
  kci::Verdict verdict = kci::Verdict::kDeniedSkip;
  uint32_t result = VG_RESULT_SUCCESS;
  uint64_t out_rcx = 0, out_rdx = 0;
  int watched_checks = 0;
};

// The state behind every Service object in the test binary; reset per test.
FakeKci& fake_kci();
void reset_fake_kci();

}  // namespace vg::test
