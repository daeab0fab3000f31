// The SVSM protocol numbers the monitor answers [SVSM 58019 5, Table 7]:
// RAX = (protocol << 32) | call on entry, result code in RAX on return.
#pragma once

#include <stdint.h>

namespace vg::monitor::svsm {

inline constexpr uint32_t kCoreProtocol = 0;
inline constexpr uint32_t kCoreRemapCa = 0;
inline constexpr uint32_t kCorePvalidate = 1;
inline constexpr uint32_t kCoreCreateVcpu = 2;
inline constexpr uint32_t kCoreDeleteVcpu = 3;
inline constexpr uint32_t kCoreDepositMem = 4;
inline constexpr uint32_t kCoreWithdrawMem = 5;
inline constexpr uint32_t kCoreQueryProtocol = 6;
inline constexpr uint32_t kCoreConfigureVtom = 7;

// SVSM_CORE_QUERY_PROTOCOL [SVSM 58019 5.7]: RCX in = protocol << 32 |
// version; RCX out = max version << 32 | min version, or 0 if the protocol
// or that version is not supported.
constexpr uint32_t query_protocol_number(uint64_t rcx) {
  return static_cast<uint32_t>(rcx >> 32);
}
constexpr uint32_t query_protocol_version(uint64_t rcx) {
  return static_cast<uint32_t>(rcx);
}
constexpr uint64_t query_protocol_answer(uint32_t min_version, uint32_t max_version) {
  return uint64_t{max_version} << 32 | min_version;
}

constexpr uint32_t call_protocol(uint64_t rax) {
  return static_cast<uint32_t>(rax >> 32);
}
constexpr uint32_t call_number(uint64_t rax) {
  return static_cast<uint32_t>(rax);
}

}  // namespace vg::monitor::svsm
