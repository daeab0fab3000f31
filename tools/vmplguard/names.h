// Stable names for the analyzer's enums and value formats, shared by the
// text, JSON and SARIF reports. The JSON names are part of the documented
// report schema (docs/report-json.md): changing one is a schema change.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/model.h"

namespace vg::cli {

// "mov_cr0", "wrmsr", ... ("unknown_<n>" for a value outside the enum).
std::string privileged_kind_id(policy::PrivilegedKind kind);
// "mov cr0", "wrmsr", ...: how the report's tables show it.
std::string privileged_kind_label(policy::PrivilegedKind kind);
// "text", "rodata", "ro_after_init", ...
std::string region_kind_id(policy::RegionKind kind);
// "locked_after_boot", "write_mediated", "watched".
std::string protection_id(policy::Protection protection);
// "alternative", "jump_label", ... for one SiteKind bit.
std::string site_kind_id(uint16_t kind_bit);
// Every SiteKind bit, in the order of format.h.
const std::vector<uint16_t>& site_kind_bits();
// "6.1", "6.12" or "unknown".
std::string layout_id(analyzer::KernelLayout layout);
// Four letters for a policy::Perm mask: r, w, u (user execute), x
// (supervisor execute), '-' where the bit is clear: "r--x".
std::string perms_string(uint8_t perms);

// "0xffffffff81000000": addresses are strings in JSON because JSON numbers
// lose precision above 2^53.
std::string hex(uint64_t value);
// Lowercase hex of a byte string (build ids, digests).
std::string hex_bytes(const std::vector<uint8_t>& bytes);
// "func+0x12", or the bare hex address when no function contains it.
std::string symbolic_location(std::string_view function, uint64_t offset, uint64_t address);
// "16.0 MiB", "3.6 KiB", "512 B".
std::string human_size(uint64_t bytes);

}  // namespace vg::cli
