// A record writer for the hot path. It formats through a raw cursor into a
// per-thread scratch buffer, checking the room once per piece instead of once
// per character (std::string::push_back and append(const char*) were most of
// the native formatter's instructions), then appends the record to the
// caller's string in one copy. The scratch buffer keeps its size from record
// to record: nothing is allocated or zero-filled once it is large enough.
// One writer at a time per thread (they share the scratch buffer). Internal
// to the agent library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "agent/format.h"
#include "agent/symbolize.h"

namespace vg::agent::json {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {
    std::vector<char>& buffer = scratch();
    begin_ = p_ = buffer.data();
    end_ = begin_ + buffer.size();
  }
  ~Writer() { out_.append(begin_, static_cast<size_t>(p_ - begin_)); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // A string literal, without its NUL.
  // Constant length: the copy compiles to a few moves.
  template <size_t N>
  [[gnu::always_inline]] void literal(const char (&text)[N]) {
    room(N - 1);
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
  }
  void raw(const char* data, size_t size) {
    room(size);
    std::memcpy(p_, data, size);
    p_ += size;
  }
  [[gnu::always_inline]] void put(char c) {
    room(1);
    *p_++ = c;
  }
  // A NUL-terminated constant of ours (enum names): no escaping needed.
  void name(const char* text) { raw(text, std::strlen(text)); }
  // "0x1f" (lower case, no leading zeros), as append_hex_u64.
  void hex_u64(uint64_t value) {
    room(18);
    const int digits = value == 0 ? 1 : (67 - __builtin_clzll(value)) / 4;
    *p_++ = '0';
    *p_++ = 'x';
    for (int i = digits - 1; i >= 0; --i) {
      p_[i] = kHexDigits[value & 0xf];
      value >>= 4;
    }
    p_ += digits;
  }
  void u64(uint64_t value) {
    room(20);
    char buffer[20];
    size_t pos = sizeof(buffer);
    do {
      buffer[--pos] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    std::memcpy(p_, buffer + pos, sizeof(buffer) - pos);
    p_ += sizeof(buffer) - pos;
  }
  void hex_bytes(const uint8_t* data, size_t size) {
    room(2 * size);
    for (size_t i = 0; i < size; ++i) {
      *p_++ = kHexDigits[data[i] >> 4];
      *p_++ = kHexDigits[data[i] & 0xf];
    }
  }
  // As append_json_escaped: `"` and `\` escaped, other bytes outside
  // printable ASCII as \u00XX.
  void escaped(const char* data, size_t size) {
    room(6 * size);
    for (size_t i = 0; i < size; ++i) {
      const auto c = static_cast<unsigned char>(data[i]);
      if (c == '"' || c == '\\') {
        *p_++ = '\\';
        *p_++ = static_cast<char>(c);
      } else if (c >= 0x20 && c <= 0x7e) {
        *p_++ = static_cast<char>(c);
      } else {
        std::memcpy(p_, "\\u00", 4);
        p_[4] = kHexDigits[c >> 4];
        p_[5] = kHexDigits[c & 0xf];
        p_ += 6;
      }
    }
  }
  // As append_symbol(out, symbol, true).
  void symbol(const Symbol& symbol) {
    switch (symbol.space) {
      case Space::kNone: return;
      case Space::kKernel: raw(symbol.kernel_name, symbol.kernel_name_length); break;
      case Space::kModule:
        put('[');
        escaped(symbol.module_name.data(), symbol.module_name_length);
        if (symbol.module_init) literal(":init");
        put(']');
        break;
      case Space::kRuntimeCode:
        put('[');
        escaped(symbol.module_name.data(), symbol.module_name_length);
        put(']');
        break;
    }
    put('+');
    hex_u64(symbol.offset);
  }
  // Replaces a trailing comma by the closing bracket (as json::close).
  void close(char bracket) {
    if (p_ != begin_) {
      if (p_[-1] == ',') {
        p_[-1] = bracket;
        return;
      }
    } else if (!out_.empty() && out_.back() == ',') {
      out_.back() = bracket;
      return;
    }
    put(bracket);
  }
  // Room for `size` bytes at the cursor, for a formatter writing in place;
  // then advance() by what it wrote.
  char* cursor(size_t size) {
    room(size);
    return p_;
  }
  void advance(size_t size) { p_ += size; }
  // How much this writer has written, and where (valid until the next write):
  // for a caller keeping a piece of the record to replay it later.
  size_t written() const { return static_cast<size_t>(p_ - begin_); }
  const char* written_at(size_t position) const { return begin_ + position; }

 private:
  static constexpr size_t kInitialRoom = 4096;
  static constexpr char kHexDigits[] = "0123456789abcdef";

  static std::vector<char>& scratch() {
    thread_local std::vector<char> buffer(kInitialRoom);
    return buffer;
  }
  [[gnu::always_inline]] void room(size_t size) {
    if (static_cast<size_t>(end_ - p_) < size) [[unlikely]]
      grow(size);
  }
  [[gnu::noinline]] void grow(size_t size) {
    std::vector<char>& buffer = scratch();
    const size_t used = static_cast<size_t>(p_ - begin_);
    buffer.resize(std::max(2 * buffer.size(), used + size));
    begin_ = buffer.data();
    p_ = begin_ + used;
    end_ = begin_ + buffer.size();
  }

  std::string& out_;
  char* begin_ = nullptr;
  char* p_ = nullptr;
  char* end_ = nullptr;
};

}  // namespace vg::agent::json
