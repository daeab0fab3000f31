// Reading telemetry records for the replay: which one says "denied", and a
// one-line description with the attribution resolved through the policy.
#pragma once

#include <string>
#include <vector>

#include "monitor/vmplguard_abi.h"

namespace vg::replay {

class Session;

// The last record whose verdict is not ALLOWED, or nullptr.
const vg_record* last_denial(const std::vector<vg_record>& records);
const char* kind_name(uint16_t kind);
const char* deny_reason_name(uint32_t reason);
// "PATCH_DENIED kNotASite devkmsg_read+0x10", "DATA_WRITE sys_call_table", ...
std::string describe_record(const Session& session, const vg_record* record);

}  // namespace vg::replay
