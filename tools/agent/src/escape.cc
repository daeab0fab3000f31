#include "agent/escape.h"

#include <cstdint>

namespace vg::agent {

namespace {
constexpr char kHexDigits[] = "0123456789abcdef";

bool printable(unsigned char c) {
  return c >= 0x20 && c <= 0x7e;
}
}  // namespace

void append_json_escaped(std::string& out, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (printable(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.append("\\u00");
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 0xf]);
    }
  }
}

void append_text_escaped(std::string& out, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == '\\') {
      out.append("\\\\");
    } else if (printable(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.append("\\x");
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 0xf]);
    }
  }
}

void append_sd_escaped(std::string& out, const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == '"' || c == '\\' || c == ']') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (printable(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.append("\\x");
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 0xf]);
    }
  }
}

void append_hex_u64(std::string& out, uint64_t value) {
  char buffer[18];
  size_t pos = sizeof(buffer);
  do {
    buffer[--pos] = kHexDigits[value & 0xf];
    value >>= 4;
  } while (value != 0);
  buffer[--pos] = 'x';
  buffer[--pos] = '0';
  out.append(buffer + pos, sizeof(buffer) - pos);
}

void append_u64(std::string& out, uint64_t value) {
  char buffer[20];
  size_t pos = sizeof(buffer);
  do {
    buffer[--pos] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  out.append(buffer + pos, sizeof(buffer) - pos);
}

void append_hex_bytes(std::string& out, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHexDigits[data[i] >> 4]);
    out.push_back(kHexDigits[data[i] & 0xf]);
  }
}

}  // namespace vg::agent
