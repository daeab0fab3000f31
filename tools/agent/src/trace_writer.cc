#include "agent/trace_writer.h"

#include <cerrno>
#include <cstring>

namespace vg::agent {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex_u64(std::string& line, uint64_t value) {
  char digits[17];
  int n = 0;
  do {
    digits[n++] = kHexDigits[value & 0xf];
    value >>= 4;
  } while (value != 0);
  while (n > 0) line.push_back(digits[--n]);
}

void append_bytes(std::string& line, const uint8_t* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    line.push_back(kHexDigits[bytes[i] >> 4]);
    line.push_back(kHexDigits[bytes[i] & 0xf]);
  }
}

Result<void, std::string> check_patch(const TracePatch& patch) {
  if (patch.length == 0 || patch.length > kTraceMaxBytes) {
    std::string where;
    append_hex_u64(where, patch.va);
    return Err("patch at " + where + ": " + std::to_string(patch.length) +
               " bytes (the format carries 1..16)");
  }
  return Ok{};
}

std::string patch_line(const char* kind, const TracePatch& patch) {
  std::string line = kind;
  line.push_back(' ');
  append_hex_u64(line, patch.va);
  line.push_back(' ');
  append_bytes(line, patch.old_bytes, patch.length);
  line.push_back(' ');
  append_bytes(line, patch.new_bytes, patch.length);
  return line;
}

// Names (module names, the kernel release) keep to the characters kernels
// use in them, which every reader accepts.
bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '+' || c == '-';
}

}  // namespace

const char* batch_origin_name(BatchOrigin origin) {
  switch (origin) {
    case BatchOrigin::kJumpLabel: return "jump_label";
    case BatchOrigin::kStaticCall: return "static_call";
    case BatchOrigin::kFtrace: return "ftrace";
    case BatchOrigin::kKprobe: return "kprobe";
    case BatchOrigin::kBpf: return "bpf";
    case BatchOrigin::kUnknown: return "unknown";
  }
  return "unknown";
}

const char* data_protection_name(DataProtection protection) {
  switch (protection) {
    case DataProtection::kLockedAfterBoot: return "locked_after_boot";
    case DataProtection::kWriteMediated: return "write_mediated";
    case DataProtection::kWatched: return "watched";
  }
  return "watched";
}

bool valid_phase_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string trace_token(std::string_view name) {
  if (name.empty()) return "_";
  std::string token;
  token.reserve(name.size());
  for (char c : name) token.push_back(token_char(c) ? c : '_');
  return token;
}

Result<void, std::string> TraceWriter::ready() const {
  if (!begun_) return Err(std::string("trace record before the header"));
  if (ended_) return Err(std::string("trace record after `end`"));
  return Ok{};
}

Result<void, std::string> TraceWriter::write_line(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fputc('\n', out_) == EOF) {
    return Err(std::string("trace write failed: ") + std::strerror(errno));
  }
  ++lines_;
  return Ok{};
}

Result<void, std::string> TraceWriter::begin(const TraceKernel& kernel) {
  if (begun_) return Err(std::string("trace header written twice"));
  if (kernel.build_id_hex.empty()) return Err(std::string("trace header: empty build id"));
  for (char c : kernel.build_id_hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return Err(std::string("trace header: build id is not lower-case hex"));
  }
  VG_TRY_VOID(write_line("vgtrace " + std::to_string(kTraceFormatVersion)));
  std::string line = "kernel " + trace_token(kernel.release) + " " + kernel.build_id_hex + " ";
  append_hex_u64(line, kernel.link_text);
  line.push_back(' ');
  append_hex_u64(line, kernel.kaslr_offset);
  VG_TRY_VOID(write_line(line));
  begun_ = true;
  return Ok{};
}

Result<void, std::string> TraceWriter::phase(std::string_view name) {
  VG_TRY_VOID(ready());
  if (!valid_phase_name(name)) {
    return Err("bad phase name '" + trace_token(name) + "' (lower-case letters, digits, - _ ., 1..64)");
  }
  return write_line("phase " + std::string(name));
}

Result<void, std::string> TraceWriter::boot(const TracePatch& patch) {
  VG_TRY_VOID(ready());
  VG_TRY_VOID(check_patch(patch));
  return write_line(patch_line("boot", patch));
}

Result<void, std::string> TraceWriter::batch(uint64_t id, BatchOrigin origin,
                                             std::span<const TracePatch> pokes) {
  VG_TRY_VOID(ready());
  if (pokes.empty()) return Err(std::string("empty batch"));
  for (const auto& patch : pokes) VG_TRY_VOID(check_patch(patch));
  std::string line = "batch ";
  append_hex_u64(line, id);
  line += " ";
  line += batch_origin_name(origin);
  line += " " + std::to_string(pokes.size());
  VG_TRY_VOID(write_line(line));
  for (const auto& patch : pokes) VG_TRY_VOID(write_line(patch_line("poke", patch)));
  return Ok{};
}

Result<void, std::string> TraceWriter::poke(const TracePatch& patch) {
  VG_TRY_VOID(ready());
  VG_TRY_VOID(check_patch(patch));
  return write_line(patch_line("poke", patch));
}

Result<void, std::string> TraceWriter::module(std::string_view name, uint64_t va, uint64_t size,
                                              const uint8_t sha256[32]) {
  VG_TRY_VOID(ready());
  std::string line = "module " + trace_token(name) + " ";
  append_hex_u64(line, va);
  line += " " + std::to_string(size) + " ";
  append_bytes(line, sha256, 32);
  return write_line(line);
}

Result<void, std::string> TraceWriter::module_free(std::string_view name, uint64_t va) {
  VG_TRY_VOID(ready());
  std::string line = "module-free " + trace_token(name) + " ";
  append_hex_u64(line, va);
  return write_line(line);
}

Result<void, std::string> TraceWriter::jit(uint64_t va, uint64_t size) {
  VG_TRY_VOID(ready());
  if (size == 0) return Err(std::string("jit image of 0 bytes"));
  std::string line = "jit ";
  append_hex_u64(line, va);
  line += " " + std::to_string(size);
  return write_line(line);
}

Result<void, std::string> TraceWriter::cr(unsigned reg, uint64_t value) {
  VG_TRY_VOID(ready());
  if (reg != 0 && reg != 4) return Err("cr" + std::to_string(reg) + " is not a pinned register (cr0, cr4)");
  std::string line = "cr cr" + std::to_string(reg) + " ";
  append_hex_u64(line, value);
  return write_line(line);
}

Result<void, std::string> TraceWriter::data(const TraceDataChange& change) {
  VG_TRY_VOID(ready());
  const std::string what = "data record of " + trace_token(change.name);
  if (change.size == 0) return Err(what + ": object of 0 bytes");
  if (change.pieces.empty() || change.pieces.size() > kMaxDataPieces) {
    return Err(what + ": " + std::to_string(change.pieces.size()) + " pieces (the format carries 1.." +
               std::to_string(kMaxDataPieces) + ")");
  }
  if (change.changed == 0 || change.changed > change.size) {
    return Err(what + ": " + std::to_string(change.changed) + " changed bytes in an object of " +
               std::to_string(change.size));
  }
  uint64_t piece_bytes = 0;
  uint64_t next_offset = 0;
  for (const auto& piece : change.pieces) {
    if (piece.length == 0 || piece.length > kTraceMaxBytes) {
      return Err(what + ": a piece of " + std::to_string(piece.length) + " bytes (the format carries 1..16)");
    }
    if (piece.offset < next_offset || piece.offset > change.size ||
        piece.length > change.size - piece.offset) {
      return Err(what + ": piece at offset " + std::to_string(piece.offset) +
                 " overlaps the previous one or leaves the object");
    }
    next_offset = piece.offset + piece.length;
    piece_bytes += piece.length;
  }
  if (piece_bytes > change.changed) return Err(what + ": pieces hold more bytes than CHANGED");
  std::string line = "data " + trace_token(change.name) + " ";
  append_hex_u64(line, change.va);
  line += " " + std::to_string(change.size) + " " + data_protection_name(change.protection) + " " +
          std::to_string(change.changed) + " " + std::to_string(change.pieces.size());
  VG_TRY_VOID(write_line(line));
  for (const auto& piece : change.pieces) {
    std::string piece_line = "piece ";
    append_hex_u64(piece_line, piece.offset);
    piece_line.push_back(' ');
    append_bytes(piece_line, piece.old_bytes, piece.length);
    piece_line.push_back(' ');
    append_bytes(piece_line, piece.new_bytes, piece.length);
    VG_TRY_VOID(write_line(piece_line));
  }
  return Ok{};
}

Result<void, std::string> TraceWriter::note(std::string_view text) {
  VG_TRY_VOID(ready());
  std::string line = "note ";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    line.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return write_line(line);
}

Result<void, std::string> TraceWriter::end(uint64_t events, uint64_t lost) {
  VG_TRY_VOID(ready());
  VG_TRY_VOID(write_line("end " + std::to_string(events) + " " + std::to_string(lost)));
  ended_ = true;
  return flush();
}

Result<void, std::string> TraceWriter::flush() {
  if (std::fflush(out_) != 0) return Err(std::string("trace flush failed: ") + std::strerror(errno));
  return Ok{};
}

}  // namespace vg::agent
