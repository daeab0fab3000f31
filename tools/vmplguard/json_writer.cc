#include "json_writer.h"

#include <cmath>
#include <cstdio>

#include "base/assert.h"

namespace vg::cli {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof(escape), "\\u%04x", byte);
          out += escape;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void JsonWriter::newline() {
  out_ += '\n';
  out_.append(stack_.size() * 2, ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  // A bare value inside an object is a writer bug, not an input problem.
  VG_ASSERT(!stack_.back().object);
  if (stack_.back().items++ > 0) out_ += ',';
  newline();
}

void JsonWriter::key(std::string_view name) {
  VG_ASSERT(!stack_.empty() && stack_.back().object && !after_key_);
  if (stack_.back().items++ > 0) out_ += ',';
  newline();
  out_ += json_quote(name);
  out_ += ": ";
  after_key_ = true;
}

void JsonWriter::open(char bracket, bool object) {
  before_value();
  out_ += bracket;
  stack_.push_back(Level{object, 0});
}

void JsonWriter::close(char bracket) {
  VG_ASSERT(!stack_.empty() && !after_key_);
  const bool had_items = stack_.back().items > 0;
  stack_.pop_back();
  if (had_items) newline();
  out_ += bracket;
  if (stack_.empty()) out_ += '\n';
}

void JsonWriter::begin_object() {
  open('{', true);
}
void JsonWriter::end_object() {
  close('}');
}
void JsonWriter::begin_array() {
  open('[', false);
}
void JsonWriter::end_array() {
  close(']');
}

void JsonWriter::value(std::string_view text) {
  before_value();
  out_ += json_quote(text);
}

void JsonWriter::value(uint64_t number) {
  before_value();
  out_ += std::to_string(number);
}

void JsonWriter::value(int64_t number) {
  before_value();
  out_ += std::to_string(number);
}

void JsonWriter::value(double number) {
  before_value();
  if (!std::isfinite(number)) {
    out_ += "null";
    return;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", number);
  out_ += buffer;
}

void JsonWriter::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
}

void JsonWriter::null() {
  before_value();
  out_ += "null";
}

}  // namespace vg::cli
