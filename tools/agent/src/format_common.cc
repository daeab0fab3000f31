#include <cstring>
#include <ctime>

#include "agent/escape.h"
#include "agent/format.h"

namespace vg::agent {

size_t format_rfc3339(char* out, const FormatContext& context, uint64_t boot_ns) {
  const int64_t wall_ns = static_cast<int64_t>(boot_ns) + context.boot_to_realtime_ns;
  const time_t seconds = static_cast<time_t>(wall_ns / 1000000000);
  const int64_t nanos = wall_ns % 1000000000;
  // Records come in bursts within one second: format the date once per second.
  thread_local time_t cached_seconds = -1;
  thread_local char cached[40];
  thread_local size_t cached_length = 0;
  if (seconds != cached_seconds) {
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    cached_length = std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &utc);
    cached_seconds = seconds;
  }
  std::memcpy(out, cached, cached_length);
  // Microseconds: RFC 5424 allows at most six fraction digits [RFC5424 6.2.3].
  char* fraction = out + cached_length;
  int64_t micros = nanos / 1000;
  for (int i = 6; i >= 1; --i) {
    fraction[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  fraction[0] = '.';
  fraction[7] = 'Z';
  return cached_length + 8;
}

void append_rfc3339(std::string& out, const FormatContext& context, uint64_t boot_ns) {
  char text[kRfc3339Max];
  out.append(text, format_rfc3339(text, context, boot_ns));
}

void append_symbol(std::string& out, const Symbol& symbol, bool json) {
  switch (symbol.space) {
    case Space::kNone: return;
    case Space::kKernel: out.append(symbol.kernel_name); break;
    case Space::kModule:
      out.push_back('[');
      if (json) {
        append_json_escaped(out, symbol.module_name.data(), symbol.module_name_length);
      } else {
        append_text_escaped(out, symbol.module_name.data(), symbol.module_name_length);
      }
      if (symbol.module_init) out.append(":init");
      out.push_back(']');
      break;
    case Space::kRuntimeCode:
      out.push_back('[');
      if (json) {
        append_json_escaped(out, symbol.module_name.data(), symbol.module_name_length);
      } else {
        append_text_escaped(out, symbol.module_name.data(), symbol.module_name_length);
      }
      out.push_back(']');
      break;
  }
  out.push_back('+');
  append_hex_u64(out, symbol.offset);
}

void format_finding(Format format, std::string& out, const Finding& finding, const FormatContext& context) {
  switch (format) {
    case Format::kNative: format_native(out, finding, context); return;
    case Format::kOcsf: format_ocsf(out, finding, context); return;
    case Format::kSyslog: format_syslog(out, finding, context); return;
  }
}

}  // namespace vg::agent
