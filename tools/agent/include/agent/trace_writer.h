// Writes a kernel behaviour trace in the `vgtrace` format 2
// (docs/trace-format.md), the record mode's output and the replay's input.
//
// The writer owns the format: field order, hex spelling, the 16-byte limit
// per byte string, and the escaping of anything the kernel named (module
// names, notes). It refuses what the format cannot carry instead of writing
// a line a reader would reject, so a trace it wrote always parses.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vg::agent {

inline constexpr size_t kTraceMaxBytes = 16;  // bytes per `boot`/`poke`/`piece` string
inline constexpr uint32_t kTraceFormatVersion = 2;
inline constexpr size_t kMaxDataPieces = 8;  // `piece` records per `data` record

enum class BatchOrigin : uint8_t { kJumpLabel, kStaticCall, kFtrace, kKprobe, kBpf, kUnknown };
const char* batch_origin_name(BatchOrigin origin);

// One patch: bytes at `va` before and after the write (same length, 1..16).
struct TracePatch {
  uint64_t va = 0;
  uint8_t length = 0;
  uint8_t old_bytes[kTraceMaxBytes] = {};
  uint8_t new_bytes[kTraceMaxBytes] = {};
};

// The policy's protection classes (policy/format.h Protection), as a trace
// spells them.
enum class DataProtection : uint8_t { kLockedAfterBoot, kWriteMediated, kWatched };
const char* data_protection_name(DataProtection protection);

// A run of changed bytes inside a critical data object (1..16 bytes).
struct TraceDataPiece {
  uint64_t offset = 0;  // from the object's first byte
  uint8_t length = 0;
  uint8_t old_bytes[kTraceMaxBytes] = {};
  uint8_t new_bytes[kTraceMaxBytes] = {};
};

// A critical data object whose bytes changed between two snapshots.
struct TraceDataChange {
  std::string name;
  uint64_t va = 0;    // link-time address of the object
  uint64_t size = 0;  // object size in bytes
  DataProtection protection = DataProtection::kLockedAfterBoot;
  uint64_t changed = 0;                // bytes that differ, >= the bytes the pieces hold
  std::vector<TraceDataPiece> pieces;  // the first runs, in offset order, at most kMaxDataPieces
};

struct TraceKernel {
  std::string release;        // uname -r
  std::string build_id_hex;   // GNU build id, lower-case hex
  uint64_t link_text = 0;     // link address of _text
  uint64_t kaslr_offset = 0;  // runtime minus link address
};

// Phase names are what a driver script chooses: lower-case letters, digits,
// '-', '_' and '.', 1..64 characters.
bool valid_phase_name(std::string_view name);

class TraceWriter {
 public:
  // Writes to `out` (not owned); every line is checked before it is written.
  explicit TraceWriter(std::FILE* out) : out_(out) {}

  // `vgtrace 2` and `kernel ...`; first, once.
  Result<void, std::string> begin(const TraceKernel& kernel);
  Result<void, std::string> phase(std::string_view name);
  Result<void, std::string> boot(const TracePatch& patch);
  Result<void, std::string> batch(uint64_t id, BatchOrigin origin, std::span<const TracePatch> pokes);
  Result<void, std::string> poke(const TracePatch& patch);
  // `name` comes from the kernel: bytes outside [A-Za-z0-9_.+-] become '_'.
  Result<void, std::string> module(std::string_view name, uint64_t va, uint64_t size,
                                   const uint8_t sha256[32]);
  Result<void, std::string> module_free(std::string_view name, uint64_t va);
  Result<void, std::string> jit(uint64_t va, uint64_t size);
  Result<void, std::string> cr(unsigned reg, uint64_t value);  // reg 0 or 4
  // `data NAME VA SIZE PROTECTION CHANGED PIECES` and its `piece` records.
  Result<void, std::string> data(const TraceDataChange& change);
  // Free text on one line: control characters and non-ASCII become '?'.
  Result<void, std::string> note(std::string_view text);
  // `end EVENTS LOST`; last. Flushes.
  Result<void, std::string> end(uint64_t events, uint64_t lost);

  Result<void, std::string> flush();
  uint64_t lines() const { return lines_; }
  bool ended() const { return ended_; }

 private:
  Result<void, std::string> write_line(const std::string& line);
  Result<void, std::string> ready() const;

  std::FILE* out_;
  uint64_t lines_ = 0;
  bool begun_ = false;
  bool ended_ = false;
};

// The token a kernel-supplied name is written as: [A-Za-z0-9_.+-], anything
// else '_' ("_" for an empty name).
std::string trace_token(std::string_view name);

}  // namespace vg::agent
