// The GHCB MSR protocol values the monitor exchanges with the host through
// MSR_AMD64_SEV_ES_GHCB (0xC001_0130) [GHCB 56421 2.3.1]. One definition for
// both backends: hal/snp writes these to the MSR, hal/sim's host model
// decodes the same values, so the encoding is exercised by hosted tests.
#pragma once

#include <stdint.h>

namespace vg::hal::ghcb_msr {

inline constexpr uint32_t kMsrGhcb = 0xC0010130;  // [APM2 15.35.5, SEV_ES_GHCB MSR]

inline constexpr uint64_t kInfoMask = 0xfff;  // GHCBData[11:0]: the request/response code
inline constexpr uint64_t kRunVmplRequest = 0x016;
inline constexpr uint64_t kRunVmplResponse = 0x017;
inline constexpr uint64_t kTerminateRequest = 0x100;

// SNP Run VMPL request: GHCBData[39:32] = VMPL to run [GHCB 56421 2.3.1, 0x016].
constexpr uint64_t encode_run_vmpl(uint8_t vmpl) {
  return uint64_t{vmpl} << 32 | kRunVmplRequest;
}
constexpr bool is_run_vmpl_request(uint64_t value) {
  // Bits 31:12 and 63:40 are reserved and must be zero.
  return (value & kInfoMask) == kRunVmplRequest && (value & 0xFFFFFF00FFFFF000ull) == 0;
}
constexpr uint8_t run_vmpl_target(uint64_t value) {
  return static_cast<uint8_t>(value >> 32);
}

// Response: GHCBData[63:32] = error code, 0 on success.
constexpr uint64_t encode_run_vmpl_response(uint32_t error) {
  return uint64_t{error} << 32 | kRunVmplResponse;
}
constexpr bool run_vmpl_succeeded(uint64_t response) {
  return (response & kInfoMask) == kRunVmplResponse && (response >> 32) == 0;
}

// Termination request: GHCBData[15:12] reason code set, [23:16] reason code
// [GHCB 56421 2.3.6, 0x100].
constexpr uint64_t encode_terminate(uint8_t reason_set, uint8_t reason_code) {
  return uint64_t{reason_code} << 16 | uint64_t{reason_set & 0xfu} << 12 | kTerminateRequest;
}

}  // namespace vg::hal::ghcb_msr
