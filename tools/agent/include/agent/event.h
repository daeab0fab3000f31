// A probe or monitor event after decoding: a checked local copy.
//
// Everything here came from the kernel (which the agent does not trust: it is
// the party being watched), so the decoder copies the ring-buffer bytes once,
// checks magic, type, lengths and counts, and only then hands out an Event.
// Strings stay raw bytes here; formatters escape them on the way out.
#pragma once

#include <array>
#include <cstdint>

#include "base/result.h"
#include "base/types.h"
#include "monitor/vmplguard_abi.h"

namespace vg::agent {

enum class EventType : uint8_t {
  kTextPatch = 1,
  kTextPoke = 2,
  kModuleLoad = 3,
  kModuleFree = 4,
  kSetMemoryX = 5,
  kSetMemoryRw = 6,
  kWriteCr0 = 7,
  kWriteCr4 = 8,
  kBpfJitAlloc = 9,
  kKsymbol = 10,
  kMonitorRecord = 11,
  // Not from a probe: the agent's own telemetry-loss report.
  kTelemetryLoss = 100,
};

enum class Origin : uint8_t { kUnknown = 0, kJumpLabel = 1, kStaticCall = 2, kFtrace = 3 };

inline constexpr size_t kMaxBytes = 16;
inline constexpr size_t kMaxFrames = 8;
inline constexpr size_t kCommSize = 16;
inline constexpr size_t kNameSize = 56;

struct Event {
  EventType type = EventType::kTextPatch;
  Origin origin = Origin::kUnknown;
  uint8_t length = 0;  // valid bytes in `bytes`
  uint32_t flags = 0;
  uint64_t ktime_ns = 0;
  uint32_t pid = 0;
  uint32_t tgid = 0;
  uint32_t cpu = 0;
  // Raw bytes as the kernel gave them, cut at the first NUL; `*_length` says
  // how many are valid. Never printed without escaping.
  std::array<char, kCommSize> comm{};
  uint8_t comm_length = 0;
  std::array<char, kNameSize> name{};
  uint8_t name_length = 0;
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t value = 0;
  std::array<uint8_t, kMaxBytes> bytes{};
  uint32_t aux = 0;  // module events: init text size
  uint32_t frame_count = 0;
  std::array<uint64_t, kMaxFrames> frames{};
  vg_record record{};  // kMonitorRecord only
  bool from_request_tracepoint = false;
};

enum class DecodeError : uint8_t {
  kTruncated,  // fewer bytes than one probe event
  kBadMagic,   // not a vmplguard probe event (or a different agent build)
  kBadType,    // type outside the known range
  kBadLength,  // byte count over kMaxBytes
  kBadFrames,  // frame count over kMaxFrames
  kBadOrigin,  // origin outside the known range
  kBadRecord,  // monitor record with an unknown kind or verdict
};

const char* describe(DecodeError error);

// Decodes one ring-buffer sample. Never reads past `sample`.
Result<Event, DecodeError> decode_probe_event(ByteView sample);

// Checks a monitor record (from the vmplguard tracepoints) on its own.
Result<vg_record, DecodeError> check_monitor_record(const vg_record& record);

}  // namespace vg::agent
