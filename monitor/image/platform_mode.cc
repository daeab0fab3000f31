#include "platform_mode.h"

namespace vg::image {
namespace {

void cpuid(uint32_t leaf, uint32_t& eax, uint32_t& ebx, uint32_t& ecx, uint32_t& edx) {
  // SAFETY: CPUID is unprivileged and side-effect free.
  asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(leaf), "c"(0));
}

}  // namespace

PlatformMode detect_platform_mode() {
  PlatformMode mode;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  cpuid(0x80000000u, eax, ebx, ecx, edx);
  if (eax < 0x8000001fu) return mode;
  cpuid(0x8000001fu, eax, ebx, ecx, edx);
  mode.sev_snp_supported = (eax & (1u << 4)) != 0;
  if (!mode.sev_snp_supported) return mode;
  uint32_t low = 0, high = 0;
  // SAFETY: SEV_STATUS (MSR 0xC001_0131) exists whenever CPUID reports SEV
  // support [APM2 15.34.10]; reading it has no side effect.
  asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(0xc0010131u));
  mode.sev_status = uint64_t{high} << 32 | low;
  mode.sev_snp_active = (mode.sev_status & (1u << 2)) != 0;
  return mode;
}

}  // namespace vg::image
