// Deduplication: events of the same kind, at the same address, with the same
// target or bytes, seen within a window, leave as one record carrying a count
// and first/last seen times. Records are held until their window closes (or
// the table is full, or the agent flushes at exit): a bounded delay traded for
// bounded output. A window of 0 turns deduplication off.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "agent/finding.h"

namespace vg::agent {

class Dedup {
 public:
  Dedup(uint64_t window_ns, size_t capacity);

  bool enabled() const { return window_ns_ != 0; }
  // Merges `finding` into a held record with the same key, or holds it.
  // Returns the number of events merged (0 if it was held as a new record).
  // When the table is full, the oldest record is handed to `emit` first.
  template <typename Emit>
  uint64_t add(const Finding& finding, uint64_t now_ns, Emit&& emit) {
    const Key key = key_of(finding);
    auto it = index_.find(key);
    if (it != index_.end()) {
      Held& held = held_[it->second - base_id_];
      held.finding.count += finding.count;
      held.finding.last_seen_ns = finding.last_seen_ns;
      return finding.count;
    }
    if (held_.size() >= capacity_) {
      pop_front(emit);
    }
    index_.emplace(key, base_id_ + held_.size());
    held_.push_back(Held{finding, now_ns, key});
    return 0;
  }
  // Hands every record whose window has closed to `emit`, oldest first.
  template <typename Emit>
  void flush_expired(uint64_t now_ns, Emit&& emit) {
    while (!held_.empty() && now_ns - held_.front().held_since_ns >= window_ns_) {
      pop_front(emit);
    }
  }
  template <typename Emit>
  void flush_all(Emit&& emit) {
    while (!held_.empty()) pop_front(emit);
  }
  size_t size() const { return held_.size(); }

 private:
  struct Key {
    uint8_t type;
    uint8_t verdict;
    uint16_t monitor_kind;
    uint32_t length;
    uint64_t address;
    uint64_t target;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& key) const;
  };
  struct Held {
    Finding finding;
    uint64_t held_since_ns;
    Key key;
  };
  static Key key_of(const Finding& finding);

  template <typename Emit>
  void pop_front(Emit& emit) {
    Held held = std::move(held_.front());
    held_.pop_front();
    index_.erase(held.key);
    ++base_id_;
    emit(held.finding);
  }

  uint64_t window_ns_;
  size_t capacity_;
  uint64_t base_id_ = 0;  // id of held_.front()
  std::deque<Held> held_;
  std::unordered_map<Key, uint64_t, KeyHash> index_;
};

}  // namespace vg::agent
