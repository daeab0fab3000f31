// Small helpers the JSON formatters share; internal to the agent library.
#pragma once

#include <cstring>
#include <string>

#include "agent/escape.h"
#include "agent/format.h"

namespace vg::agent::json {

inline void key(std::string& out, const char* name) {
  out.push_back('"');
  out.append(name);
  out.append("\":");
}
// `value` is one of our own constant names: no escaping needed.
inline void field(std::string& out, const char* name, const char* value) {
  key(out, name);
  out.push_back('"');
  out.append(value);
  out.append("\",");
}
inline void field_u64(std::string& out, const char* name, uint64_t value) {
  key(out, name);
  append_u64(out, value);
  out.push_back(',');
}
inline void field_hex(std::string& out, const char* name, uint64_t value) {
  key(out, name);
  out.push_back('"');
  append_hex_u64(out, value);
  out.append("\",");
}
inline void field_raw(std::string& out, const char* name, const char* data, size_t size) {
  key(out, name);
  out.push_back('"');
  append_json_escaped(out, data, size);
  out.append("\",");
}
inline void field_string(std::string& out, const char* name, const std::string& value) {
  field_raw(out, name, value.data(), value.size());
}
inline void field_symbol(std::string& out, const char* name, const Symbol& symbol) {
  key(out, name);
  if (symbol.space == Space::kNone) {
    out.append("null,");
    return;
  }
  out.push_back('"');
  append_symbol(out, symbol, true);
  out.append("\",");
}
inline void field_time(std::string& out, const char* name, const FormatContext& context, uint64_t boot_ns) {
  key(out, name);
  out.push_back('"');
  append_rfc3339(out, context, boot_ns);
  out.append("\",");
}
// Replaces a trailing comma by the closing bracket.
inline void close(std::string& out, char bracket) {
  if (!out.empty() && out.back() == ',') {
    out.back() = bracket;
  } else {
    out.push_back(bracket);
  }
}

}  // namespace vg::agent::json
