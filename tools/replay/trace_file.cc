// Reading a trace file: zlib's gzread passes uncompressed files through
// unchanged, so one path serves `.vgtrace` and `.vgtrace.gz`.
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "replay/trace.h"

namespace vg::replay {

Result<Trace, std::string> read_trace_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return Err{path + ": cannot open: " + std::strerror(errno)};
  std::string text;
  char chunk[1 << 16];
  while (true) {
    const int got = gzread(file, chunk, sizeof(chunk));
    if (got < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      return Err{path + ": cannot decompress: " + message};
    }
    if (got == 0) break;
    text.append(chunk, static_cast<size_t>(got));
    if (text.size() > kMaxTraceBytes) {
      gzclose(file);
      return Err{path + ": larger than " + std::to_string(kMaxTraceBytes >> 20) + " MiB once decompressed"};
    }
  }
  // A truncated gzip stream reads as a short file; zlib reports it at close.
  if (gzclose(file) != Z_OK) return Err{path + ": truncated or corrupt gzip stream"};
  return parse_trace(text, path);
}

}  // namespace vg::replay
