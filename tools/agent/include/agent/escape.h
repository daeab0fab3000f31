// Escaping of guest-supplied strings (comm, module names) for every output.
//
// The kernel is the watched party: a module name or a task name can carry
// newlines, quotes, ANSI escapes or invalid UTF-8 meant to forge log lines
// or break a SIEM parser. Only printable ASCII passes through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vg::agent {

// JSON string body (no quotes): `"` and `\` backslash-escaped, every byte
// outside 0x20..0x7e as \u00XX.
void append_json_escaped(std::string& out, const char* data, size_t size);

// Text for syslog MSG and similar: bytes outside 0x20..0x7e become \xNN, `\` becomes `\\`.
void append_text_escaped(std::string& out, const char* data, size_t size);

// RFC 5424 SD-PARAM value [RFC5424 6.3.3]: `"`, `\` and `]` backslash-escaped,
// and non-printable bytes as \xNN (so the value stays one printable line).
void append_sd_escaped(std::string& out, const char* data, size_t size);

void append_hex_u64(std::string& out, uint64_t value);  // 0x-prefixed, lowercase
void append_u64(std::string& out, uint64_t value);
void append_hex_bytes(std::string& out, const uint8_t* data, size_t size);

}  // namespace vg::agent
