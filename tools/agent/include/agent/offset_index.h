// A sorted set of 32-bit text offsets (function starts, site starts) laid out
// for lookups from the event hot path.
//
// PolicyView's binary searches walk tables of 16-byte records: over the 6.12
// policy (102k functions, 344k sites) that is 17-19 dependent reads spread
// over megabytes, nearly every one a cache miss when stack frames are
// scattered. Here the keys are copied into one dense uint32_t array, and a
// bucket table (one uint32_t per 2^shift bytes of text) gives the few keys
// that share the probe's bucket: one read in a table small enough to stay in
// the L2 cache, then a branch-free search among the handful of adjacent keys
// in that bucket, usually one cache line. Built once at start-up; lookups
// never allocate. Memory-safe whatever the keys; correct answers need them
// sorted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vg::agent {

class OffsetIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint64_t kMaxBuckets = uint64_t{1} << 20;  // 4 MiB of table at most

  OffsetIndex() = default;
  // `keys` must be sorted ascending (the policy reader guarantees it for its
  // sorted tables); duplicates are allowed, the last one wins. `shift` sets
  // the bucket size (2^shift bytes). The table covers [0, last key]; the
  // shift is raised if that would take more than kMaxBuckets entries (a
  // policy with a key near 4 GiB), so memory stays bounded whatever the file.
  OffsetIndex(std::vector<uint32_t> keys, unsigned shift);

  // Index of the last key <= `offset`, or kNone if every key is above it.
  uint32_t last_at_or_below(uint32_t offset) const {
    if (keys_.empty() || offset < keys_[0]) return kNone;
    const uint64_t bucket = offset >> shift_;
    if (bucket + 1 >= bucket_first_.size()) return static_cast<uint32_t>(keys_.size() - 1);
    // Keys in [low, low + count) lie in this bucket; everything before `low`
    // is below it, hence below `offset` (and low >= 1 if count == 0, since
    // keys_[0] <= offset).
    const uint32_t low = bucket_first_[bucket];
    uint32_t count = bucket_first_[bucket + 1] - low;
    if (count == 0) return low - 1;
    // Branch-free search for the last key <= offset: `base` only ever moves
    // onto such a key, so if it did not move the answer is the one before.
    const uint32_t* base = keys_.data() + low;
    while (count > 1) {
      const uint32_t half = count / 2;
      base = base[half] <= offset ? base + half : base;
      count -= half;
    }
    const auto index = static_cast<uint32_t>(base - keys_.data());
    return *base <= offset ? index : index - 1;
  }

  // Cache warming for a batch of lookups (Pipeline::queue_sample): step 0
  // fetches the bucket `offset` falls in, step 1 (once that bucket is cached)
  // the keys it points to. Hints only: no answer depends on them.
  void prefetch_bucket(uint32_t offset) const {
    const uint64_t bucket = offset >> shift_;
    if (bucket + 1 < bucket_first_.size()) __builtin_prefetch(&bucket_first_[bucket]);
  }
  void prefetch_keys(uint32_t offset) const {
    const uint64_t bucket = offset >> shift_;
    if (bucket + 1 >= bucket_first_.size()) return;
    const uint32_t low = bucket_first_[bucket];
    const uint32_t high = bucket_first_[bucket + 1];
    if (low < keys_.size()) __builtin_prefetch(&keys_[low]);
    if (high > low + 1 && high - 1 < keys_.size()) __builtin_prefetch(&keys_[high - 1]);
  }

  // Index of the key equal to `offset`, or kNone.
  uint32_t find(uint32_t offset) const {
    const uint32_t i = last_at_or_below(offset);
    return i != kNone && keys_[i] == offset ? i : kNone;
  }

  uint32_t key(uint32_t index) const { return keys_[index]; }
  unsigned shift() const { return shift_; }
  size_t size() const { return keys_.size(); }
  // Bytes held, for the memory budget.
  size_t memory_bytes() const { return (keys_.capacity() + bucket_first_.capacity()) * sizeof(uint32_t); }

 private:
  std::vector<uint32_t> keys_;
  // bucket_first_[b]: index of the first key >= b << shift_; one entry past
  // the last key's bucket, so that [b, b + 1] is always readable below it.
  std::vector<uint32_t> bucket_first_;
  unsigned shift_ = 12;
};

}  // namespace vg::agent
