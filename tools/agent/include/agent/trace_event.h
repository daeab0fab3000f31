// Record-mode ring samples (struct vgt_event / vgt_chunk of probe_event.h)
// after decoding: checked local copies. The kernel being recorded is the
// party being watched, so nothing in a sample is trusted before the checks.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <variant>

#include "agent/event.h"
#include "base/result.h"
#include "base/types.h"

namespace vg::agent {

inline constexpr size_t kTraceChunkSize = 4096;
inline constexpr size_t kTraceMaxChunks = 256;
inline constexpr size_t kTraceMaxFrames = 8;

enum class TraceEventType : uint8_t {
  kBatchEntry = 64,
  kPoke = 65,
  kModule = 66,
  kModuleFree = 68,
  kCr = 69,
};

struct TraceEvent {
  TraceEventType type = TraceEventType::kPoke;
  uint8_t origin = 0;  // enum vgp_origin: 0 unknown, 1 jump label, 2 static call, 3 ftrace
  uint8_t length = 0;  // valid bytes in old_bytes/new_bytes
  uint32_t flags = 0;  // VGT_FLAG_*
  uint32_t index = 0;
  uint64_t sequence = 0;
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t value = 0;
  std::array<uint8_t, 16> old_bytes{};
  std::array<uint8_t, 16> new_bytes{};
  uint32_t frame_count = 0;
  std::array<uint64_t, kTraceMaxFrames> frames{};
  std::array<char, 56> name{};
  uint8_t name_length = 0;
  std::string_view name_view() const { return {name.data(), name_length}; }
};

struct TraceChunk {
  uint32_t index = 0;
  uint32_t length = 0;  // 1..kTraceChunkSize
  uint64_t sequence = 0;
  std::array<uint8_t, kTraceChunkSize> data{};
};

// A vgp_event of the normal probes, which keep running in record mode: the
// decoded event (agent/event.h) when it is valid, for the ksymbol probe's
// registrations of out-of-line code; set_memory_* and the JIT allocation
// probe are counted, not traced.
struct OtherProbeEvent {
  bool valid = false;
  Event event;
};

using TraceSample = std::variant<TraceEvent, TraceChunk, OtherProbeEvent>;

enum class TraceDecodeError : uint8_t {
  kTruncated,  // shorter than the record its magic and type announce
  kBadMagic,   // neither a record-mode nor a normal probe record
  kBadType,    // unknown record-mode type
  kBadLength,  // byte count over 16, or a batch entry over 5
  kBadFrames,  // stack frame count over 8
  kBadOrigin,  // origin outside the known range
  kBadChunk,   // chunk index over the cap, or length 0 or over the chunk size
};
const char* describe(TraceDecodeError error);

// Decodes one ring sample. Never reads past `sample`.
Result<TraceSample, TraceDecodeError> decode_trace_sample(ByteView sample);

}  // namespace vg::agent
