// What hal/snp must know about the guest's layout that the instructions do
// not tell it: where each (vCPU, VMPL) VMSA page is and where each vCPU's
// VMPL0 GHCB page is. The monitor's boot code (and later CREATE_VCPU)
// registers them; the HAL refuses vCPUs it was not told about.
#pragma once

#include <stdint.h>

#include "base/types.h"

namespace vg::hal::snp {

inline constexpr uint32_t kMaxVcpus = 256;

bool set_vmsa_page(uint32_t vcpu, Vmpl vmpl, Gpa page);
bool set_ghcb_page(uint32_t vcpu, Gpa page);

}  // namespace vg::hal::snp
