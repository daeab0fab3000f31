// Which kernel is running, where it sits (KASLR), and which policy is its own.
//
// The build id comes from /sys/kernel/notes (the kernel's own ELF notes,
// NT_GNU_BUILD_ID), the slide from /proc/kallsyms `_text` minus the policy's
// link-time `_text`. Both files are parsed as untrusted text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace vg::agent {

// Extracts the GNU build id from the bytes of an ELF note section.
Result<std::vector<uint8_t>, std::string> build_id_from_notes(const std::vector<uint8_t>& notes);

// Finds the address of `symbol` in /proc/kallsyms-formatted text. A zero
// address (kallsyms hidden by kptr_restrict) is an error: the slide would be wrong.
Result<uint64_t, std::string> kallsyms_address(const std::string& kallsyms_text, const std::string& symbol);

Result<std::vector<uint8_t>, std::string> read_file(const std::string& path, size_t max_bytes);

// A loaded policy file whose build id matches the running kernel.
struct PolicyChoice {
  std::string path;
  std::vector<uint8_t> bytes;
};

// `path` is a policy file or a directory of policy files; picks the one whose
// header build id equals `build_id`. Errors name every candidate and why it
// did not fit, so an operator can tell "wrong kernel" from "corrupt file".
Result<PolicyChoice, std::string> find_policy(const std::string& path, const std::vector<uint8_t>& build_id);

std::string hex(const uint8_t* data, size_t size);

}  // namespace vg::agent
