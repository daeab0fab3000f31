// Whole-file reads and atomic writes for the CLI, with errors phrased for the
// "vmplguard: FILE: what is wrong" line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vg::cli {

// Reads at most `max_size` bytes; a larger file is an error, not a truncation.
// The bytes land in 8-byte-aligned storage, as the policy reader requires.
Result<std::vector<uint64_t>, std::string> read_file_aligned(const std::string& path, uint64_t max_size,
                                                             uint64_t& size);

// Writes through a temporary file in the same directory and renames it, so a
// reader never sees a half-written policy or report.
Result<void, std::string> write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace vg::cli
