#include "agent/dedup.h"

#include <cstring>

namespace vg::agent {

Dedup::Dedup(uint64_t window_ns, size_t capacity)
    : window_ns_(window_ns), capacity_(capacity == 0 ? 1 : capacity) {}

Dedup::Key Dedup::key_of(const Finding& finding) {
  const Event& event = finding.event;
  Key key{};
  key.type = static_cast<uint8_t>(event.type);
  key.verdict = static_cast<uint8_t>(finding.verdict);
  key.monitor_kind = event.type == EventType::kMonitorRecord ? event.record.kind : 0;
  key.address = event.address;
  switch (event.type) {
    case EventType::kTextPatch:
    case EventType::kTextPoke: {
      // The target of a patch is what it writes: fold the bytes.
      uint64_t folded = 0;
      for (size_t i = 0; i < event.length; ++i) {
        folded = folded * 131 + event.bytes[i];
      }
      key.target = folded;
      key.length = event.length;
      break;
    }
    case EventType::kModuleLoad:
    case EventType::kModuleFree: {
      uint64_t folded = 0;
      for (size_t i = 0; i < event.name_length; ++i) {
        folded = folded * 131 + static_cast<unsigned char>(event.name[i]);
      }
      key.target = folded;
      key.length = event.name_length;
      break;
    }
    default: key.target = event.value; break;
  }
  return key;
}

size_t Dedup::KeyHash::operator()(const Key& key) const {
  uint64_t h = key.address * 0x9e3779b97f4a7c15ull;
  h ^= key.target + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
  h ^= (uint64_t{key.type} << 40) | (uint64_t{key.verdict} << 32) | (uint64_t{key.monitor_kind} << 16) |
       key.length;
  return static_cast<size_t>(h * 0xff51afd7ed558ccdull);
}

}  // namespace vg::agent
