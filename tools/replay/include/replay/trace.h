// A kernel behaviour trace (docs/trace-format.md, `vgtrace` formats 1 and 2) parsed
// once into a checked, in-memory form. Everything the replay needs is here;
// nothing refers back to the text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vg::replay {

inline constexpr uint32_t kTraceVersion = 2;              // what this reader writes about and knows best
inline constexpr uint32_t kOldestTraceVersion = 1;        // version 1: no `data` records
inline constexpr size_t kMaxDataPieces = 8;               // `piece` records per `data` record
inline constexpr size_t kMaxPatchBytes = 16;              // a poke covers 1..16 bytes
inline constexpr size_t kMaxLineBytes = 4096;             // longer lines are refused
inline constexpr uint64_t kMaxTraceBytes = 512ull << 20;  // decompressed
inline constexpr uint32_t kMaxBatchCount = 1u << 20;      // pokes announced by one batch
inline constexpr size_t kMaxModuleName = 55;              // vg_module.name is 56 bytes with the NUL

// Bytes before and after one patch (both `length` long).
struct PatchBytes {
  uint64_t va = 0;  // link-time inside the image, runtime outside it
  uint8_t length = 0;
  std::array<uint8_t, kMaxPatchBytes> old_bytes{};
  std::array<uint8_t, kMaxPatchBytes> new_bytes{};
  uint32_t line = 0;  // where it was in the file
};

enum class Origin : uint8_t { kJumpLabel, kStaticCall, kFtrace, kKprobe, kBpf, kUnknown };
const char* origin_name(Origin origin);

// The policy's protection class of a critical data object, as a trace spells it.
enum class DataProtection : uint8_t { kLockedAfterBoot, kWriteMediated, kWatched };
const char* protection_name(DataProtection protection);

enum class EventKind : uint8_t {
  kPhase,       // name
  kBoot,        // patch (pre-lock difference)
  kBatch,       // batch_id, origin, pokes
  kPoke,        // patch (a __text_poke outside a batch)
  kModule,      // name, va, size, sha256
  kModuleFree,  // name, va
  kJit,         // va, size
  kCr,          // reg, value
  kOutOfLine,   // `note ksymbol register|unregister KIND VA SIZE NAME`: value 1 register, 0 unregister;
                // ool_kind ("ool" ftrace trampolines, "bpf" BPF code), va, size, name
  kData,        // a critical data object changed (format 2): name, va (link-time), size, protection,
                // value = bytes changed; patches: the recorded pieces, `va` the link address of each
};

struct Event {
  EventKind kind = EventKind::kPhase;
  uint32_t line = 0;
  uint32_t phase = 0;  // index into Trace::phases of the phase it belongs to
  std::string name;    // phase name, module name, register name ("cr0", "cr4")
  uint64_t va = 0;     // module, JIT
  uint64_t size = 0;   // module, JIT (bytes)
  uint64_t value = 0;  // cr value, batch id
  Origin origin = Origin::kUnknown;
  std::string ool_kind;
  std::array<uint8_t, 32> sha256{};
  std::vector<PatchBytes> patches;  // boot/poke: one; batch: COUNT; data: its pieces
  DataProtection protection = DataProtection::kLockedAfterBoot;  // data
};

struct KernelLine {
  std::string release;
  std::vector<uint8_t> build_id;  // 1..32 bytes
  uint64_t link_text = 0;
  uint64_t kaslr_offset = 0;
};

struct Trace {
  std::string file;  // for messages
  uint32_t version = kTraceVersion;
  KernelLine kernel;
  std::vector<std::string> phases;  // phases[0] is "(start)", before any phase line
  std::vector<Event> events;
  std::vector<std::string> notes;
  uint64_t end_events = 0;  // from the end line
  uint64_t end_lost = 0;
};

// Parses `text` (already decompressed). Errors read "FILE:LINE: message".
Result<Trace, std::string> parse_trace(std::string_view text, const std::string& file);

// Reads FILE (plain or gzip-compressed, through zlib), then parse_trace.
Result<Trace, std::string> read_trace_file(const std::string& path);

}  // namespace vg::replay
