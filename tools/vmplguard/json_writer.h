// A small streaming JSON writer for the reports: pretty-printed with two
// spaces, keys in the order written (the report schema fixes that order, so
// reports diff cleanly), strings escaped per RFC 8259.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vg::cli {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  // The key of the next value inside an object.
  void key(std::string_view name);

  void value(std::string_view text);
  void value(const char* text) { value(std::string_view(text)); }
  void value(const std::string& text) { value(std::string_view(text)); }
  void value(uint64_t number);
  void value(int number) { value(static_cast<int64_t>(number)); }
  void value(int64_t number);
  void value(double number);
  void value(bool flag);
  void null();

  template <typename T>
  void field(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

 private:
  struct Level {
    bool object;
    uint64_t items;
  };
  void before_value();
  void newline();
  void open(char bracket, bool object);
  void close(char bracket);

  std::string& out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace vg::cli
