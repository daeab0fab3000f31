// A small, fixed-size cache of per-stack results. Kernel text is patched
// from a handful of code paths, so the same call chain arrives again and
// again; what is derived from it (its symbols, its JSON) is computed once per
// distinct chain instead of once per event. Keys are the raw frame addresses
// plus an epoch naming what the answer was derived from (the symbolizer and
// the runtime map's state): a changed epoch never meets an old answer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "agent/event.h"

namespace vg::agent {

// A process-wide fresh epoch (never 0, never reused): what a cache owner
// takes whenever the inputs its answers depend on change.
uint64_t fresh_stack_epoch();

// Direct-mapped: `kEntries` slots (a power of two), a key's slot from a hash
// of its frames; a different stack landing in an occupied slot evicts it.
// Memory is kEntries * sizeof(Entry), fixed at construction.
template <typename Value, size_t kEntries>
class StackCache {
  static_assert(kEntries > 0 && (kEntries & (kEntries - 1)) == 0, "power of two");

 public:
  struct Entry {
    uint64_t epoch = 0;  // 0: empty
    uint32_t frame_count = 0;
    std::array<uint64_t, kMaxFrames> frames{};
    Value value{};
  };

  // The value stored for exactly these frames under `epoch`, or null.
  const Value* find(const uint64_t* frames, size_t frame_count, uint64_t epoch) const {
    const Entry& entry = entries_[slot(frames, frame_count)];
    if (entry.epoch != epoch || epoch == 0 || entry.frame_count != frame_count) return nullptr;
    if (std::memcmp(entry.frames.data(), frames, frame_count * sizeof(uint64_t)) != 0) return nullptr;
    return &entry.value;
  }

  // The slot for these frames, now keyed by them (its previous content is
  // gone); the caller fills the value in.
  Value& insert(const uint64_t* frames, size_t frame_count, uint64_t epoch) {
    Entry& entry = entries_[slot(frames, frame_count)];
    entry.epoch = epoch;
    entry.frame_count = static_cast<uint32_t>(frame_count);
    std::memcpy(entry.frames.data(), frames, frame_count * sizeof(uint64_t));
    return entry.value;
  }

  void clear() {
    for (auto& entry : entries_) entry.epoch = 0;
  }

  static constexpr size_t capacity() { return kEntries; }

 private:
  static size_t slot(const uint64_t* frames, size_t frame_count) {
    uint64_t hash = frame_count;
    for (size_t i = 0; i < frame_count; ++i) hash = (hash ^ frames[i]) * 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(hash >> 40) & (kEntries - 1);
  }

  std::array<Entry, kEntries> entries_{};
};

}  // namespace vg::agent
