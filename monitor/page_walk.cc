#include "monitor/page_walk.h"

#include "hal/hal.h"

namespace vg::monitor {
namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kLargePage = 1ull << 7;
constexpr uint64_t kAddressMask = 0x000F'FFFF'FFFF'F000ull;  // bits 51:12 [APM2 5.3.3]

bool canonical(uint64_t address, bool la57) {
  const unsigned bits = la57 ? 57 : 48;
  const uint64_t upper = address >> (bits - 1);
  const uint64_t all_ones = (1ull << (64 - bits + 1)) - 1;
  return upper == 0 || upper == all_ones;
}

}  // namespace

Result<Gpa, WalkError> translate(const PagingMode& mode, Gva address) {
  const uint64_t va = address.raw();
  if (!canonical(va, mode.la57)) return Err{WalkError::kNonCanonical};
  const uint64_t address_mask = kAddressMask & ~mode.c_bit_mask;
  uint64_t table = mode.cr3 & address_mask;
  const int top_level = mode.la57 ? 5 : 4;
  for (int level = top_level; level >= 1; --level) {
    const unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
    const uint64_t index = (va >> shift) & 0x1ff;
    uint64_t entry = 0;
    // SAFETY: the HAL checks that the entry's GPA lies in guest memory; the
    // value is copied once and only then interpreted.
    if (!hal::read_guest(Gpa(table + index * 8), &entry, sizeof(entry))) return Err{WalkError::kUnreadable};
    if ((entry & kPresent) == 0) return Err{WalkError::kNotPresent};
    // PS at the PDPT (1G) and PD (2M) levels ends the walk [APM2 5.3.4-5.3.5].
    if ((level == 2 || level == 3) && (entry & kLargePage) != 0) {
      const uint64_t page_size = 1ull << shift;
      const uint64_t base = entry & address_mask;
      // Bits 12 .. shift-1 hold PAT and reserved bits, not address bits.
      if ((base & (page_size - 1) & ~0x1000ull) != 0) return Err{WalkError::kReservedBit};
      return Gpa((base & ~(page_size - 1)) | (va & (page_size - 1)));
    }
    table = entry & address_mask;
  }
  return Gpa(table | (va & (kPageSize4K - 1)));
}

size_t read_guest_virtual(const PagingMode& mode, Gva address, uint8_t* out, size_t length) {
  size_t done = 0;
  while (done < length) {
    const Gva cursor = address + done;
    const size_t in_page = static_cast<size_t>(kPageSize4K - cursor.page_offset());
    const size_t chunk = in_page < length - done ? in_page : length - done;
    const auto gpa = translate(mode, cursor);
    if (!gpa.ok()) break;
    // SAFETY: the HAL range-checks the GPA; the bytes are a copy the caller
    // decodes, never executed or trusted.
    if (!hal::read_guest(*gpa, out + done, chunk)) break;
    done += chunk;
  }
  return done;
}

}  // namespace vg::monitor
