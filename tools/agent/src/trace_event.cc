#include "agent/trace_event.h"

#include <cstring>

#include "agent/probe_event.h"

namespace vg::agent {

static_assert(kTraceChunkSize == VGT_CHUNK_SIZE && kTraceMaxChunks == VGT_MAX_CHUNKS);
static_assert(kTraceMaxFrames == VGP_MAX_FRAMES && sizeof(vgt_event::name) == 56);
static_assert(static_cast<int>(TraceEventType::kBatchEntry) == VGT_BATCH_ENTRY &&
              static_cast<int>(TraceEventType::kPoke) == VGT_POKE &&
              static_cast<int>(TraceEventType::kModule) == VGT_MODULE &&
              static_cast<int>(TraceEventType::kModuleFree) == VGT_MODULE_FREE &&
              static_cast<int>(TraceEventType::kCr) == VGT_CR);

const char* describe(TraceDecodeError error) {
  switch (error) {
    case TraceDecodeError::kTruncated: return "sample shorter than its record";
    case TraceDecodeError::kBadMagic: return "bad magic (not a vmplguard probe record)";
    case TraceDecodeError::kBadType: return "unknown record-mode type";
    case TraceDecodeError::kBadLength: return "byte count over the limit";
    case TraceDecodeError::kBadFrames: return "stack frame count over 8";
    case TraceDecodeError::kBadOrigin: return "unknown patch origin";
    case TraceDecodeError::kBadChunk: return "module chunk with a bad index or length";
  }
  return "unknown decode error";
}

Result<TraceSample, TraceDecodeError> decode_trace_sample(ByteView sample) {
  uint32_t magic = 0;
  uint16_t type = 0;
  if (sample.size < sizeof(magic) + sizeof(type)) return Err(TraceDecodeError::kTruncated);
  std::memcpy(&magic, sample.data, sizeof(magic));
  std::memcpy(&type, sample.data + sizeof(magic), sizeof(type));
  if (magic == VGP_MAGIC) {
    OtherProbeEvent other;
    if (auto event = decode_probe_event(sample)) {
      other.valid = true;
      other.event = *event;
    }
    return TraceSample{other};
  }
  if (magic != VGT_MAGIC) return Err(TraceDecodeError::kBadMagic);

  if (type == VGT_MODULE_CHUNK) {
    if (sample.size < sizeof(vgt_chunk)) return Err(TraceDecodeError::kTruncated);
    // One copy out of the ring; the checks look at the copy only.
    TraceChunk chunk;
    vgt_chunk head;
    std::memcpy(&head, sample.data, offsetof(vgt_chunk, data));
    if (head.index >= VGT_MAX_CHUNKS || head.length == 0 || head.length > VGT_CHUNK_SIZE) {
      return Err(TraceDecodeError::kBadChunk);
    }
    chunk.index = head.index;
    chunk.length = head.length;
    chunk.sequence = head.sequence;
    std::memcpy(chunk.data.data(), sample.data + offsetof(vgt_chunk, data), head.length);
    return TraceSample{chunk};
  }

  if (type < VGT_TYPE_MIN || type > VGT_TYPE_MAX) return Err(TraceDecodeError::kBadType);
  if (sample.size < sizeof(vgt_event)) return Err(TraceDecodeError::kTruncated);
  vgt_event raw;
  std::memcpy(&raw, sample.data, sizeof(raw));
  if (raw.length > VGP_MAX_BYTES) return Err(TraceDecodeError::kBadLength);
  if (raw.type == VGT_BATCH_ENTRY && raw.length > 5) return Err(TraceDecodeError::kBadLength);
  if (raw.frame_count > VGP_MAX_FRAMES) return Err(TraceDecodeError::kBadFrames);
  if (raw.origin > VGP_ORIGIN_MAX) return Err(TraceDecodeError::kBadOrigin);
  TraceEvent event;
  event.type = static_cast<TraceEventType>(raw.type);
  event.origin = raw.origin;
  event.length = raw.length;
  event.flags = raw.flags;
  event.index = raw.index;
  event.sequence = raw.sequence;
  event.address = raw.address;
  event.size = raw.size;
  event.value = raw.value;
  std::memcpy(event.old_bytes.data(), raw.old_bytes, sizeof(raw.old_bytes));
  std::memcpy(event.new_bytes.data(), raw.new_bytes, sizeof(raw.new_bytes));
  event.frame_count = raw.frame_count;
  std::memcpy(event.frames.data(), raw.frames, sizeof(uint64_t) * raw.frame_count);
  size_t name_length = 0;
  while (name_length < sizeof(raw.name) && raw.name[name_length] != '\0') {
    event.name[name_length] = raw.name[name_length];
    ++name_length;
  }
  event.name_length = static_cast<uint8_t>(name_length);
  return TraceSample{event};
}

}  // namespace vg::agent
