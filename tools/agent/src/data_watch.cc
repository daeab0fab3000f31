#include "agent/data_watch.h"

#include <algorithm>
#include <cstring>

#include "base/hex.h"

namespace vg::agent {

namespace {

std::string line_error(size_t line, const std::string& message) {
  return "line " + std::to_string(line) + ": " + message;
}

bool parse_decimal(std::string_view text, uint64_t& value) {
  if (text.empty() || text.size() > 19) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

bool parse_protection(std::string_view text, DataProtection& protection) {
  for (DataProtection candidate :
       {DataProtection::kLockedAfterBoot, DataProtection::kWriteMediated, DataProtection::kWatched}) {
    if (text == data_protection_name(candidate)) {
      protection = candidate;
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (start < line.size()) {
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    size_t end = start;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end > start) fields.push_back(line.substr(start, end - start));
    start = end;
  }
  return fields;
}

}  // namespace

Result<std::vector<WatchedObject>, std::string> parse_watch_list(std::string_view text) {
  std::vector<WatchedObject> objects;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const auto fields = split_spaces(line);
    if (fields.empty() || fields[0][0] == '#') continue;
    if (fields.size() != 4) return Err(line_error(line_number, "expected NAME LINK_VA SIZE PROTECTION"));
    WatchedObject object;
    object.name = std::string(fields[0]);
    if (object.name != trace_token(object.name) || object.name.size() > 128) {
      return Err(line_error(line_number, "NAME must be 1..128 characters of [A-Za-z0-9_.+-]"));
    }
    if (!parse_hex_u64(fields[1], object.link_va)) {
      return Err(line_error(line_number, "LINK_VA is not a lower-case hex address"));
    }
    if (!parse_decimal(fields[2], object.size) || object.size == 0 || object.size > kMaxWatchedObjectBytes) {
      return Err(line_error(line_number,
                            "SIZE must be 1.." + std::to_string(kMaxWatchedObjectBytes) + " (decimal)"));
    }
    if (object.link_va + object.size < object.link_va) return Err(line_error(line_number, "range wraps"));
    if (!parse_protection(fields[3], object.protection)) {
      return Err(line_error(line_number, "PROTECTION must be locked_after_boot, write_mediated or watched"));
    }
    if (objects.size() == kMaxWatchedObjects) {
      return Err(line_error(line_number, "more than " + std::to_string(kMaxWatchedObjects) + " objects"));
    }
    objects.push_back(std::move(object));
  }
  return objects;
}

TraceDataChange diff_object(const WatchedObject& object, const std::vector<uint8_t>& before,
                            const std::vector<uint8_t>& after) {
  TraceDataChange change;
  change.name = object.name;
  change.va = object.link_va;
  change.size = object.size;
  change.protection = object.protection;
  const size_t size = std::min(before.size(), after.size());
  size_t i = 0;
  while (i < size) {
    if (before[i] == after[i]) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < size && before[end] != after[end]) ++end;
    change.changed += end - i;
    // Only the first runs are kept: a page table rewritten whole would
    // otherwise put kilobytes into one record.
    for (size_t piece_start = i; piece_start < end && change.pieces.size() < kMaxDataPieces;
         piece_start += kTraceMaxBytes) {
      TraceDataPiece piece;
      piece.offset = piece_start;
      piece.length = static_cast<uint8_t>(std::min(end - piece_start, kTraceMaxBytes));
      std::memcpy(piece.old_bytes, before.data() + piece_start, piece.length);
      std::memcpy(piece.new_bytes, after.data() + piece_start, piece.length);
      change.pieces.push_back(piece);
    }
    i = end;
  }
  return change;
}

DataWatch::DataWatch(std::vector<WatchedObject> objects, uint64_t kaslr_offset, KernelReader reader)
    : kaslr_offset_(kaslr_offset), reader_(std::move(reader)) {
  slots_.reserve(objects.size());
  for (auto& object : objects) slots_.push_back(Slot{std::move(object), {}, false});
}

Result<void, std::string> DataWatch::baseline(TraceWriter& writer) {
  uint64_t readable = 0;
  uint64_t bytes = 0;
  for (Slot& slot : slots_) {
    auto read = reader_(runtime_va(slot.object), slot.object.size);
    if (!read || read->size() != slot.object.size) {
      VG_TRY_VOID(writer.note("data " + slot.object.name +
                              " not watched: " + (read ? std::string("short read") : read.error())));
      continue;
    }
    slot.bytes = std::move(read).value();
    slot.readable = true;
    ++readable;
    bytes += slot.object.size;
  }
  return writer.note("data baseline: " + std::to_string(readable) + " of " + std::to_string(slots_.size()) +
                     " objects, " + std::to_string(bytes) + " bytes");
}

Result<uint64_t, std::string> DataWatch::check(TraceWriter& writer) {
  uint64_t written = 0;
  for (Slot& slot : slots_) {
    if (!slot.readable) continue;
    auto read = reader_(runtime_va(slot.object), slot.object.size);
    if (!read || read->size() != slot.object.size) {
      slot.readable = false;
      VG_TRY_VOID(writer.note("data " + slot.object.name +
                              " no longer watched: " + (read ? std::string("short read") : read.error())));
      continue;
    }
    if (*read == slot.bytes) continue;
    VG_TRY_VOID(writer.data(diff_object(slot.object, slot.bytes, *read)));
    slot.bytes = std::move(read).value();
    ++written;
  }
  records_ += written;
  return written;
}

}  // namespace vg::agent
