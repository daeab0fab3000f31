// Builders for the guest's request structures, laid out as the kernel lays
// them out (vmplguard_abi.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "monitor/vmplguard_abi.h"

namespace vg::kci::testing {

struct PatchEntrySpec {
  uint64_t address;
  std::vector<uint8_t> bytes;
};

// The whole batch page (4 KiB).
inline std::vector<uint8_t> patch_batch(const std::vector<PatchEntrySpec>& entries, uint64_t sequence = 1) {
  std::vector<uint8_t> page(4096, 0);
  const uint32_t magic = VG_PATCH_MAGIC;
  const uint16_t count = static_cast<uint16_t>(entries.size());
  std::memcpy(page.data() + offsetof(vg_patch_batch, magic), &magic, sizeof(magic));
  std::memcpy(page.data() + offsetof(vg_patch_batch, count), &count, sizeof(count));
  std::memcpy(page.data() + offsetof(vg_patch_batch, sequence), &sequence, sizeof(sequence));
  for (size_t i = 0; i < entries.size() && i < VG_PATCH_MAX_ENTRIES; ++i) {
    vg_patch_entry entry{};
    entry.address = entries[i].address;
    entry.length = static_cast<uint8_t>(entries[i].bytes.size());
    std::memcpy(entry.bytes, entries[i].bytes.data(),
                entries[i].bytes.size() < 16 ? entries[i].bytes.size() : 16);
    std::memcpy(page.data() + sizeof(vg_patch_batch) + i * sizeof(vg_patch_entry), &entry, sizeof(entry));
  }
  return page;
}

// e9/e8 rel32 from `site_va` to `target_va`.
inline std::vector<uint8_t> rel32(uint8_t opcode, uint64_t site_va, uint64_t target_va) {
  const int32_t rel = static_cast<int32_t>(static_cast<int64_t>(target_va - (site_va + 5)));
  std::vector<uint8_t> out{opcode, 0, 0, 0, 0};
  std::memcpy(out.data() + 1, &rel, 4);
  return out;
}

inline const std::vector<uint8_t> kNop5{0x0f, 0x1f, 0x44, 0x00, 0x00};
inline const std::vector<uint8_t> kNop3{0x0f, 0x1f, 0x00};

}  // namespace vg::kci::testing
