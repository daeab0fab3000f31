#include <cstring>

#include "agent/event.h"
#include "agent/probe_event.h"

namespace vg::agent {

static_assert(sizeof(vg_record) == 64, "probe_event.h reserves 64 bytes for a monitor record");
static_assert(sizeof(vgp_event::record) == sizeof(vg_record));
static_assert(kMaxBytes == VGP_MAX_BYTES && kMaxFrames == VGP_MAX_FRAMES && kNameSize == VGP_NAME_SIZE);

const char* describe(DecodeError error) {
  switch (error) {
    case DecodeError::kTruncated: return "sample shorter than a probe event";
    case DecodeError::kBadMagic: return "bad magic (not a vmplguard probe event)";
    case DecodeError::kBadType: return "unknown event type";
    case DecodeError::kBadLength: return "byte count over 16";
    case DecodeError::kBadFrames: return "stack frame count over 8";
    case DecodeError::kBadOrigin: return "unknown patch origin";
    case DecodeError::kBadRecord: return "monitor record with unknown kind or verdict";
  }
  return "unknown decode error";
}

namespace {

// Copies a fixed-size kernel char field up to its first NUL; returns the length.
template <size_t N>
uint8_t copy_string(std::array<char, N>& out, const char (&in)[N]) {
  const void* nul = std::memchr(in, '\0', N);
  const size_t length = nul == nullptr ? N : static_cast<size_t>(static_cast<const char*>(nul) - in);
  std::memcpy(out.data(), in, length);
  return static_cast<uint8_t>(length);
}

}  // namespace

Result<vg_record, DecodeError> check_monitor_record(const vg_record& record) {
  if (record.kind < VG_KIND_TEXT_WRITE || record.kind > VG_KIND_POLICY_REFUSED) {
    return Err(DecodeError::kBadRecord);
  }
  if (record.verdict > VG_VERDICT_STOPPED) {
    return Err(DecodeError::kBadRecord);
  }
  return record;
}

Result<Event, DecodeError> decode_probe_event(ByteView sample) {
  if (sample.size < sizeof(vgp_event)) {
    return Err(DecodeError::kTruncated);
  }
  // One copy out of the ring; every check below looks at the copy only.
  vgp_event raw;
  std::memcpy(&raw, sample.data, sizeof(raw));
  if (raw.magic != VGP_MAGIC) {
    return Err(DecodeError::kBadMagic);
  }
  if (raw.type < VGP_TEXT_PATCH || raw.type > VGP_TYPE_MAX) {
    return Err(DecodeError::kBadType);
  }
  if (raw.length > VGP_MAX_BYTES) {
    return Err(DecodeError::kBadLength);
  }
  if (raw.frame_count > VGP_MAX_FRAMES) {
    return Err(DecodeError::kBadFrames);
  }
  if (raw.origin > VGP_ORIGIN_MAX) {
    return Err(DecodeError::kBadOrigin);
  }
  Event event;
  event.type = static_cast<EventType>(raw.type);
  event.origin = static_cast<Origin>(raw.origin);
  event.length = raw.length;
  event.flags = raw.flags;
  event.ktime_ns = raw.ktime_ns;
  event.pid = raw.pid;
  event.tgid = raw.tgid;
  event.cpu = raw.cpu;
  event.comm_length = copy_string(event.comm, raw.comm);
  event.name_length = copy_string(event.name, raw.name);
  event.address = raw.address;
  event.size = raw.size;
  event.value = raw.value;
  std::memcpy(event.bytes.data(), raw.bytes, raw.length);
  event.aux = raw.aux;
  event.frame_count = raw.frame_count;
  std::memcpy(event.frames.data(), raw.frames, sizeof(uint64_t) * raw.frame_count);
  if (event.type == EventType::kMonitorRecord) {
    vg_record record;
    std::memcpy(&record, raw.record, sizeof(record));
    event.record = VG_TRY(check_monitor_record(record));
    event.from_request_tracepoint = (raw.flags & VGP_FLAG_REQUEST) != 0;
    event.address = record.address;
  }
  return event;
}

}  // namespace vg::agent
