// Which platform the image finds itself on. Only with SEV-SNP active may the
// monitor execute RMPADJUST, PVALIDATE or VMGEXIT; elsewhere they raise #UD
// (native mode, as COCONUT-SVSM calls it), so the image runs its portable
// self-tests and touches no SNP instruction.
#pragma once

#include <stdint.h>

namespace vg::image {

struct PlatformMode {
  bool sev_snp_supported = false;  // CPUID 0x8000001F EAX[4] [APM3 CPUID]
  bool sev_snp_active = false;     // SEV_STATUS MSR bit 2 [APM2 15.36]
  uint64_t sev_status = 0;
};

PlatformMode detect_platform_mode();

}  // namespace vg::image
