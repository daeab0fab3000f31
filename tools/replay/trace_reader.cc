// The vgtrace parser: one pass, every field checked, the first error wins and
// names the file and line. A trace comes from a guest we do not trust (the
// recorder runs inside it), so nothing here assumes the recorder is correct.
#include <limits>

#include "base/hex.h"
#include "replay/trace.h"

namespace vg::replay {
namespace {

using Error = std::string;

class LineParser {
 public:
  LineParser(const std::string& file, uint32_t line, std::string_view text)
      : file_(file), line_(line), text_(text) {}

  Error error(const std::string& message) const {
    return file_ + ":" + std::to_string(line_) + ": " + message;
  }

  // Splits on single spaces; an empty field (two spaces, a leading or
  // trailing space) is an error, not a field.
  Result<std::vector<std::string_view>, Error> fields() const {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
      const size_t space = text_.find(' ', start);
      const std::string_view field =
          text_.substr(start, space == std::string_view::npos ? space : space - start);
      if (field.empty()) return Err{error("empty field (fields are separated by exactly one space)")};
      out.push_back(field);
      if (space == std::string_view::npos) return out;
      start = space + 1;
    }
  }

  Result<uint64_t, Error> hex(std::string_view field, const char* what) const {
    if (field.empty() || field.size() > 16)
      return Err{error(std::string(what) + ": '" + std::string(field) + "' is not 1..16 hex digits")};
    uint64_t value = 0;
    if (!parse_hex_u64(field, value))
      return Err{error(std::string(what) + ": '" + std::string(field) + "' is not lower-case hex")};
    return value;
  }

  Result<uint64_t, Error> decimal(std::string_view field, const char* what) const {
    if (field.empty() || field.size() > 19)
      return Err{error(std::string(what) + ": '" + std::string(field) + "' is not a decimal number")};
    uint64_t value = 0;
    for (char c : field) {
      if (c < '0' || c > '9')
        return Err{error(std::string(what) + ": '" + std::string(field) + "' is not a decimal number")};
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    return value;
  }

  // Hex byte pairs, between 1 and `max` bytes.
  Result<std::vector<uint8_t>, Error> bytes(std::string_view field, const char* what, size_t max) const {
    if (field.empty() || field.size() % 2 != 0 || field.size() / 2 > max)
      return Err{error(std::string(what) + ": '" + std::string(field.substr(0, 80)) + "' is not 1.." +
                       std::to_string(max) + " hex byte pairs")};
    std::vector<uint8_t> out(field.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
      const int high = hex_digit(field[2 * i]);
      const int low = hex_digit(field[2 * i + 1]);
      if (high < 0 || low < 0)
        return Err{
            error(std::string(what) + ": '" + std::string(field.substr(0, 80)) + "' is not lower-case hex")};
      out[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return out;
  }

  Result<std::string, Error> token(std::string_view field, const char* what, size_t max) const {
    if (field.size() > max)
      return Err{error(std::string(what) + " longer than " + std::to_string(max) + " characters")};
    for (char c : field) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.' || c == '+';
      if (!ok)
        return Err{error(std::string(what) + ": '" + std::string(field) +
                         "' has a character outside [A-Za-z0-9_.+-]")};
    }
    return std::string(field);
  }

 private:
  const std::string& file_;
  uint32_t line_;
  std::string_view text_;
};

Result<PatchBytes, Error> parse_patch(const LineParser& p, const std::vector<std::string_view>& f,
                                      uint32_t line) {
  if (f.size() != 4) return Err{p.error("'" + std::string(f[0]) + "' needs VA OLD NEW")};
  PatchBytes patch;
  patch.line = line;
  patch.va = VG_TRY(p.hex(f[1], "VA"));
  const auto old_bytes = VG_TRY(p.bytes(f[2], "OLD", kMaxPatchBytes));
  const auto new_bytes = VG_TRY(p.bytes(f[3], "NEW", kMaxPatchBytes));
  if (old_bytes.size() != new_bytes.size())
    return Err{p.error("OLD has " + std::to_string(old_bytes.size()) + " bytes, NEW " +
                       std::to_string(new_bytes.size()))};
  if (patch.va > std::numeric_limits<uint64_t>::max() - old_bytes.size())
    return Err{p.error("VA + length wraps")};
  patch.length = static_cast<uint8_t>(old_bytes.size());
  std::copy(old_bytes.begin(), old_bytes.end(), patch.old_bytes.begin());
  std::copy(new_bytes.begin(), new_bytes.end(), patch.new_bytes.begin());
  return patch;
}

Result<Origin, Error> parse_origin(const LineParser& p, std::string_view field) {
  static constexpr Origin kAll[] = {Origin::kJumpLabel, Origin::kStaticCall, Origin::kFtrace,
                                    Origin::kKprobe,    Origin::kBpf,        Origin::kUnknown};
  for (Origin origin : kAll)
    if (field == origin_name(origin)) return origin;
  return Err{p.error("unknown batch origin '" + std::string(field) + "'")};
}

// The parser's state between lines.
struct State {
  Trace trace;
  bool seen_version = false;
  bool seen_kernel = false;
  bool seen_end = false;
  uint64_t batch_remaining = 0;  // pokes still owed to the open batch
  uint32_t batch_line = 0;
  uint64_t pieces_remaining = 0;  // pieces still owed to the open data record
  uint32_t data_line = 0;
};

Result<DataProtection, Error> parse_protection(const LineParser& p, std::string_view field) {
  static constexpr DataProtection kAll[] = {DataProtection::kLockedAfterBoot, DataProtection::kWriteMediated,
                                            DataProtection::kWatched};
  for (DataProtection protection : kAll)
    if (field == protection_name(protection)) return protection;
  return Err{p.error("unknown PROTECTION '" + std::string(field.substr(0, 40)) +
                     "' (locked_after_boot, write_mediated, watched)")};
}

// One `piece OFFSET OLD NEW` of the open data record: inside the object,
// after the previous piece, and not holding more bytes than CHANGED.
Result<void, Error> parse_piece(const LineParser& p, const std::vector<std::string_view>& f, uint32_t line,
                                Event& data) {
  if (f.size() != 4) return Err{p.error("'piece' needs OFFSET OLD NEW")};
  if (f[1].size() > 8) return Err{p.error("OFFSET: '" + std::string(f[1].substr(0, 40)) + "' is over 4 GiB")};
  PatchBytes piece = VG_TRY(parse_patch(p, f, line));
  const uint64_t offset = piece.va;
  if (offset > data.size || piece.length > data.size - offset)
    return Err{p.error("piece at offset " + std::to_string(offset) + " leaves the object (" +
                       std::to_string(data.size) + " bytes)")};
  uint64_t held = piece.length;
  if (!data.patches.empty()) {
    const PatchBytes& previous = data.patches.back();
    if (data.va + offset < previous.va + previous.length)
      return Err{
          p.error("piece at offset " + std::to_string(offset) + " overlaps or precedes the previous one")};
  }
  for (const PatchBytes& earlier : data.patches) held += earlier.length;
  if (held > data.value) return Err{p.error("pieces hold more bytes than CHANGED")};
  piece.va = data.va + offset;
  data.patches.push_back(piece);
  return Ok{};
}

Result<void, Error> parse_line(State& s, const std::string& file, uint32_t line, std::string_view text) {
  LineParser p(file, line, text);
  if (s.seen_end) return Err{p.error("record after 'end'")};
  // `note` is free text: take it before splitting.
  if (text.starts_with("note ") || text == "note") {
    if (!s.seen_version) return Err{p.error("first record must be 'vgtrace 1' or 'vgtrace 2'")};
    if (s.batch_remaining != 0)
      return Err{p.error("batch of line " + std::to_string(s.batch_line) + " still owes " +
                         std::to_string(s.batch_remaining) + " poke records")};
    if (s.pieces_remaining != 0)
      return Err{p.error("data record of line " + std::to_string(s.data_line) + " still owes " +
                         std::to_string(s.pieces_remaining) + " piece records")};
    s.trace.notes.emplace_back(text.size() > 5 ? text.substr(5) : std::string_view{});
    // One documented note form carries data (docs/trace-format.md): the
    // out-of-line code (trampolines) the kernel registers.
    if (text.starts_with("note ksymbol ")) {
      const auto f = VG_TRY(p.fields());
      if (f.size() != 7 || (f[2] != "register" && f[2] != "unregister"))
        return Err{p.error("'note ksymbol' takes register|unregister KIND VA SIZE NAME")};
      if (!s.seen_kernel) return Err{p.error("'note ksymbol' before the 'kernel' record")};
      Event event;
      event.kind = EventKind::kOutOfLine;
      event.line = line;
      event.phase = static_cast<uint32_t>(s.trace.phases.size() - 1);
      event.value = f[2] == "register" ? 1 : 0;
      event.ool_kind = VG_TRY(p.token(f[3], "KIND", 16));
      event.va = VG_TRY(p.hex(f[4], "VA"));
      event.size = VG_TRY(p.decimal(f[5], "SIZE"));
      if (event.size == 0 || event.size > (uint64_t{1} << 32))
        return Err{p.error("ksymbol SIZE must be 1..4 GiB")};
      event.name = VG_TRY(p.token(f[6], "NAME", 128));
      s.trace.events.push_back(std::move(event));
    }
    return Ok{};
  }
  const auto f = VG_TRY(p.fields());
  const std::string_view kind = f[0];
  auto want = [&](size_t count) -> Result<void, Error> {
    if (f.size() != count)
      return Err{p.error("'" + std::string(kind) + "' takes " + std::to_string(count - 1) + " fields, got " +
                         std::to_string(f.size() - 1))};
    return Ok{};
  };
  if (!s.seen_version) {
    if (kind != "vgtrace")
      return Err{p.error("first record must be 'vgtrace 1' or 'vgtrace 2', got '" +
                         std::string(kind.substr(0, 40)) + "'")};
    VG_TRY_VOID(want(2));
    const uint64_t version = VG_TRY(p.decimal(f[1], "version"));
    if (version < kOldestTraceVersion || version > kTraceVersion)
      return Err{
          p.error("unsupported trace version " + std::to_string(version) + " (this reader knows 1 and 2)")};
    s.trace.version = static_cast<uint32_t>(version);
    s.seen_version = true;
    return Ok{};
  }
  if (s.batch_remaining != 0) {
    if (kind != "poke")
      return Err{p.error("batch of line " + std::to_string(s.batch_line) + " still owes " +
                         std::to_string(s.batch_remaining) + " poke records, got '" +
                         std::string(kind.substr(0, 40)) + "'")};
    s.trace.events.back().patches.push_back(VG_TRY(parse_patch(p, f, line)));
    s.batch_remaining -= 1;
    return Ok{};
  }
  if (s.pieces_remaining != 0) {
    if (kind != "piece")
      return Err{p.error("data record of line " + std::to_string(s.data_line) + " still owes " +
                         std::to_string(s.pieces_remaining) + " piece records, got '" +
                         std::string(kind.substr(0, 40)) + "'")};
    VG_TRY_VOID(parse_piece(p, f, line, s.trace.events.back()));
    s.pieces_remaining -= 1;
    return Ok{};
  }
  if (kind == "piece") return Err{p.error("'piece' outside a data record")};
  if (kind == "kernel") {
    if (s.seen_kernel) return Err{p.error("second 'kernel' record")};
    VG_TRY_VOID(want(5));
    s.trace.kernel.release = VG_TRY(p.token(f[1], "RELEASE", 64));
    s.trace.kernel.build_id = VG_TRY(p.bytes(f[2], "BUILD_ID", 32));
    s.trace.kernel.link_text = VG_TRY(p.hex(f[3], "LINK_TEXT"));
    s.trace.kernel.kaslr_offset = VG_TRY(p.hex(f[4], "KASLR_OFFSET"));
    if (s.trace.kernel.link_text % 4096 != 0 || s.trace.kernel.kaslr_offset % 4096 != 0)
      return Err{p.error("LINK_TEXT and KASLR_OFFSET must be page multiples")};
    s.seen_kernel = true;
    return Ok{};
  }
  if (kind == "end") {
    VG_TRY_VOID(want(3));
    s.trace.end_events = VG_TRY(p.decimal(f[1], "EVENTS"));
    s.trace.end_lost = VG_TRY(p.decimal(f[2], "LOST"));
    s.seen_end = true;
    return Ok{};
  }
  if (kind == "vgtrace") return Err{p.error("second 'vgtrace' record")};
  if (!s.seen_kernel)
    return Err{p.error("'" + std::string(kind.substr(0, 40)) + "' before the 'kernel' record")};

  Event event;
  event.line = line;
  event.phase = static_cast<uint32_t>(s.trace.phases.size() - 1);
  if (kind == "phase") {
    VG_TRY_VOID(want(2));
    event.kind = EventKind::kPhase;
    event.name = VG_TRY(p.token(f[1], "NAME", 32));
    s.trace.phases.push_back(event.name);
    event.phase = static_cast<uint32_t>(s.trace.phases.size() - 1);
  } else if (kind == "boot" || kind == "poke") {
    event.kind = kind == "boot" ? EventKind::kBoot : EventKind::kPoke;
    event.patches.push_back(VG_TRY(parse_patch(p, f, line)));
  } else if (kind == "batch") {
    VG_TRY_VOID(want(4));
    event.kind = EventKind::kBatch;
    event.value = VG_TRY(p.hex(f[1], "ID"));
    event.origin = VG_TRY(parse_origin(p, f[2]));
    const uint64_t count = VG_TRY(p.decimal(f[3], "COUNT"));
    if (count == 0 || count > kMaxBatchCount)
      return Err{p.error("COUNT must be 1.." + std::to_string(kMaxBatchCount))};
    s.batch_remaining = count;
    s.batch_line = line;
  } else if (kind == "module") {
    VG_TRY_VOID(want(5));
    event.kind = EventKind::kModule;
    event.name = VG_TRY(p.token(f[1], "NAME", kMaxModuleName));
    event.va = VG_TRY(p.hex(f[2], "VA"));
    event.size = VG_TRY(p.decimal(f[3], "SIZE"));
    if (event.size == 0 || event.size > (uint64_t{1} << 32))
      return Err{p.error("module SIZE must be 1..4 GiB")};
    const auto digest = VG_TRY(p.bytes(f[4], "SHA256", 32));
    if (digest.size() != 32) return Err{p.error("SHA256 must be 32 bytes (64 hex digits)")};
    std::copy(digest.begin(), digest.end(), event.sha256.begin());
  } else if (kind == "module-free") {
    VG_TRY_VOID(want(3));
    event.kind = EventKind::kModuleFree;
    event.name = VG_TRY(p.token(f[1], "NAME", kMaxModuleName));
    event.va = VG_TRY(p.hex(f[2], "VA"));
  } else if (kind == "jit") {
    VG_TRY_VOID(want(3));
    event.kind = EventKind::kJit;
    event.va = VG_TRY(p.hex(f[1], "VA"));
    event.size = VG_TRY(p.decimal(f[2], "SIZE"));
    if (event.size == 0 || event.size > (uint64_t{1} << 32)) return Err{p.error("jit SIZE must be 1..4 GiB")};
  } else if (kind == "cr") {
    VG_TRY_VOID(want(3));
    event.kind = EventKind::kCr;
    if (f[1] != "cr0" && f[1] != "cr4")
      return Err{p.error("REG must be cr0 or cr4, got '" + std::string(f[1].substr(0, 40)) + "'")};
    event.name = std::string(f[1]);
    event.value = VG_TRY(p.hex(f[2], "VALUE"));
  } else if (kind == "data") {
    if (s.trace.version < 2) return Err{p.error("'data' records need 'vgtrace 2' (this trace says 1)")};
    VG_TRY_VOID(want(7));
    event.kind = EventKind::kData;
    event.name = VG_TRY(p.token(f[1], "NAME", 128));
    event.va = VG_TRY(p.hex(f[2], "VA"));
    event.size = VG_TRY(p.decimal(f[3], "SIZE"));
    if (event.size == 0 || event.size > (uint64_t{1} << 32))
      return Err{p.error("data SIZE must be 1..4 GiB")};
    if (event.va > std::numeric_limits<uint64_t>::max() - event.size) return Err{p.error("VA + SIZE wraps")};
    event.protection = VG_TRY(parse_protection(p, f[4]));
    event.value = VG_TRY(p.decimal(f[5], "CHANGED"));
    if (event.value == 0 || event.value > event.size)
      return Err{p.error("CHANGED must be 1..SIZE (" + std::to_string(event.size) + ")")};
    const uint64_t pieces = VG_TRY(p.decimal(f[6], "PIECES"));
    if (pieces == 0 || pieces > kMaxDataPieces)
      return Err{p.error("PIECES must be 1.." + std::to_string(kMaxDataPieces))};
    s.pieces_remaining = pieces;
    s.data_line = line;
  } else {
    return Err{p.error("unknown record kind '" + std::string(kind.substr(0, 40)) + "'")};
  }
  s.trace.events.push_back(std::move(event));
  return Ok{};
}

}  // namespace

const char* origin_name(Origin origin) {
  switch (origin) {
    case Origin::kJumpLabel: return "jump_label";
    case Origin::kStaticCall: return "static_call";
    case Origin::kFtrace: return "ftrace";
    case Origin::kKprobe: return "kprobe";
    case Origin::kBpf: return "bpf";
    case Origin::kUnknown: return "unknown";
  }
  return "unknown";
}

const char* protection_name(DataProtection protection) {
  switch (protection) {
    case DataProtection::kLockedAfterBoot: return "locked_after_boot";
    case DataProtection::kWriteMediated: return "write_mediated";
    case DataProtection::kWatched: return "watched";
  }
  return "watched";
}

Result<Trace, std::string> parse_trace(std::string_view text, const std::string& file) {
  if (text.size() > kMaxTraceBytes)
    return Err{file + ": larger than " + std::to_string(kMaxTraceBytes >> 20) + " MiB"};
  State s;
  s.trace.file = file;
  s.trace.phases.emplace_back("(start)");
  uint32_t line = 0;
  size_t start = 0;
  while (start < text.size()) {
    line += 1;
    const size_t newline = text.find('\n', start);
    const size_t stop = newline == std::string_view::npos ? text.size() : newline;
    const std::string_view content = text.substr(start, stop - start);
    start = stop + 1;
    if (content.size() > kMaxLineBytes)
      return Err{file + ":" + std::to_string(line) + ": line longer than " + std::to_string(kMaxLineBytes) +
                 " bytes"};
    for (char c : content)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
        return Err{file + ":" + std::to_string(line) + ": control character in line"};
    if (content.empty() || content[0] == '#') continue;
    VG_TRY_VOID(parse_line(s, file, line, content));
  }
  const std::string where = file + ":" + std::to_string(line) + ": ";
  if (!s.seen_version) return Err{where + "empty trace: no 'vgtrace' record"};
  if (s.batch_remaining != 0)
    return Err{where + "truncated inside the batch of line " + std::to_string(s.batch_line)};
  if (s.pieces_remaining != 0)
    return Err{where + "truncated inside the data record of line " + std::to_string(s.data_line)};
  if (!s.seen_end) return Err{where + "truncated: no 'end' record"};
  if (!s.seen_kernel) return Err{where + "no 'kernel' record"};
  return std::move(s.trace);
}

}  // namespace vg::replay
