// The `boot` records: how the running kernel text differs from the text on
// disk when user space starts (alternatives, return thunks, static calls,
// jump labels, ... patched before the text was locked, which no probe
// started from user space can see).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/trace_writer.h"
#include "base/result.h"
#include "base/types.h"

namespace vg::agent {

// Reads `size` bytes of kernel memory at virtual address `va` from an ELF
// core file laid out like /proc/kcore: the PT_LOAD segment that covers the
// whole range is used. Errors name the file and what did not fit.
Result<std::vector<uint8_t>, std::string> read_kcore(const std::string& path, uint64_t va, uint64_t size);

// Every run of differing bytes between `disk` and `live` (same size), cut
// into patches of at most 16 bytes and at every address of `cuts` (sorted
// link addresses where patch sites start), so that a patch never straddles
// two sites the cut list knows; `link_va` is the link address of byte 0.
std::vector<TracePatch> diff_text(ByteView disk, ByteView live, uint64_t link_va,
                                  std::span<const uint64_t> cuts = {});

// Parses a cut list: one hex link address per line (`#` comments allowed).
// Returns the addresses sorted and without duplicates; errors name the line.
Result<std::vector<uint64_t>, std::string> parse_cut_list(std::string_view text);

}  // namespace vg::agent
