#include "agent/offset_index.h"

#include <utility>

namespace vg::agent {

OffsetIndex::OffsetIndex(std::vector<uint32_t> keys, unsigned shift) : keys_(std::move(keys)), shift_(shift) {
  if (keys_.empty()) return;
  while ((uint64_t{keys_.back()} >> shift_) + 2 > kMaxBuckets) ++shift_;
  const uint64_t buckets = (uint64_t{keys_.back()} >> shift_) + 2;
  bucket_first_.resize(buckets);
  uint64_t index = 0;
  for (uint64_t bucket = 0; bucket < buckets; ++bucket) {
    while (index < keys_.size() && (uint64_t{keys_[index]} >> shift_) < bucket) ++index;
    bucket_first_[bucket] = static_cast<uint32_t>(index);
  }
}

}  // namespace vg::agent
