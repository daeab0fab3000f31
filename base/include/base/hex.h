// Parsing hex numbers out of text the tools read (kallsyms, trace and watch
// lists, cut lists): one digit rule and one length rule for all of them.
#pragma once

#include <cstdint>
#include <string_view>

namespace vg {

enum class HexCase : uint8_t { kLowerOnly, kEither };

// The value of one hex digit, or -1.
constexpr int hex_digit(char c, HexCase accepted = HexCase::kLowerOnly) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (accepted == HexCase::kEither && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 1 to 16 hex digits, no prefix, into `value`; false (and `value` untouched)
// for anything else.
constexpr bool parse_hex_u64(std::string_view text, uint64_t& value, HexCase accepted = HexCase::kLowerOnly) {
  if (text.empty() || text.size() > 16) return false;
  uint64_t result = 0;
  for (char c : text) {
    const int digit = hex_digit(c, accepted);
    if (digit < 0) return false;
    result = result << 4 | static_cast<uint64_t>(digit);
  }
  value = result;
  return true;
}

}  // namespace vg
