// The monitor's walk of the kernel's page tables [APM2 5.3]: 4K, 2M and 1G
// mappings, the C-bit masked out, not-present entries, reserved bits,
// non-canonical addresses, 5-level paging, and reads across pages.
#include "monitor/page_walk.h"

#include "hal/sim_fixture.h"

namespace vg::test {
namespace {

using monitor::PagingMode;
using monitor::translate;
using monitor::WalkError;

constexpr uint64_t kCBit = 1ull << 47;
constexpr uint64_t kPresentWritable = 0x3;
constexpr uint64_t kLarge = 1ull << 7;

// Tables at 0x10000 (top), 0x11000, 0x12000, 0x13000.
class PageWalkTest : public SimTest {
 protected:
  void put(uint64_t table, uint64_t index, uint64_t value) {
    ASSERT_TRUE(hal::write_guest(Gpa(table + index * 8), &value, 8));
  }
  PagingMode mode(bool la57 = false) const { return PagingMode{0x10000 | kCBit, la57, kCBit}; }
  static uint64_t index(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 0x1ff; }
};

TEST_F(PageWalkTest, FourLevelFourKilobytePage) {
  const uint64_t va = 0xffffffff81234567ull;
  put(0x10000, index(va, 4), 0x11000 | kPresentWritable | kCBit);
  put(0x11000, index(va, 3), 0x12000 | kPresentWritable | kCBit);
  put(0x12000, index(va, 2), 0x13000 | kPresentWritable | kCBit);
  put(0x13000, index(va, 1), 0x7000 | kPresentWritable | kCBit | 1ull << 63);  // NX is not address
  const auto gpa = translate(mode(), Gva(va));
  ASSERT_TRUE(gpa.ok());
  EXPECT_EQ(gpa->raw(), 0x7567u);
}

TEST_F(PageWalkTest, TwoMegabyteAndOneGigabytePages) {
  const uint64_t va2m = 0xffff888000345678ull;
  put(0x10000, index(va2m, 4), 0x11000 | kPresentWritable);
  put(0x11000, index(va2m, 3), 0x12000 | kPresentWritable);
  put(0x12000, index(va2m, 2), 0x200000 | kPresentWritable | kLarge | 0x1000 /* PAT */);
  EXPECT_EQ(translate(mode(), Gva(va2m))->raw(), 0x200000u + 0x145678u);

  const uint64_t va1g = 0xffff888040001234ull;
  put(0x11000, index(va1g, 3), 0x40000000 | kPresentWritable | kLarge);
  EXPECT_EQ(translate(mode(), Gva(va1g))->raw(), 0x40001234u);
}

TEST_F(PageWalkTest, ReservedBitsInALargePageAreRefused) {
  const uint64_t va = 0xffff888000345678ull;
  put(0x10000, index(va, 4), 0x11000 | kPresentWritable);
  put(0x11000, index(va, 3), 0x12000 | kPresentWritable);
  put(0x12000, index(va, 2), 0x200000 | 0x2000 | kPresentWritable | kLarge);
  EXPECT_EQ(translate(mode(), Gva(va)).error(), WalkError::kReservedBit);
}

TEST_F(PageWalkTest, NotPresentNonCanonicalAndUnreadable) {
  EXPECT_EQ(translate(mode(), Gva(0xffffffff81000000ull)).error(), WalkError::kNotPresent);
  EXPECT_EQ(translate(mode(), Gva(0x0000800000000000ull)).error(), WalkError::kNonCanonical);
  // A table pointer outside guest memory.
  const uint64_t va = 0x1000;
  put(0x10000, index(va, 4), 0x7ff00000000ull | kPresentWritable);
  EXPECT_EQ(translate(mode(), Gva(va)).error(), WalkError::kUnreadable);
}

TEST_F(PageWalkTest, FiveLevelPagingWalksOneMoreTable) {
  const uint64_t va = 0xff11000000001000ull;  // canonical with LA57, not with 4 levels
  EXPECT_EQ(translate(mode(false), Gva(va)).error(), WalkError::kNonCanonical);
  put(0x10000, index(va, 5), 0x11000 | kPresentWritable);
  put(0x11000, index(va, 4), 0x12000 | kPresentWritable);
  put(0x12000, index(va, 3), 0x13000 | kPresentWritable);
  put(0x13000, index(va, 2), 0x14000 | kPresentWritable);
  put(0x14000, index(va, 1), 0x9000 | kPresentWritable);
  EXPECT_EQ(translate(mode(true), Gva(va))->raw(), 0x9000u);
}

TEST_F(PageWalkTest, ReadAcrossPagesStopsAtTheFirstUnmappedPage) {
  // VA 0x1ff8..: page 0x1000 -> GPA 0x7000, page 0x2000 unmapped.
  put(0x10000, 0, 0x11000 | kPresentWritable);
  put(0x11000, 0, 0x12000 | kPresentWritable);
  put(0x12000, 0, 0x13000 | kPresentWritable);
  put(0x13000, 1, 0x7000 | kPresentWritable);
  const uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(hal::write_guest(Gpa(0x7ff8), bytes, 8));
  uint8_t out[15] = {};
  EXPECT_EQ(monitor::read_guest_virtual(mode(), Gva(0x1ff8), out, sizeof(out)), 8u);
  EXPECT_EQ(out[7], 8);
  put(0x13000, 2, 0x8000 | kPresentWritable);
  EXPECT_EQ(monitor::read_guest_virtual(mode(), Gva(0x1ff8), out, sizeof(out)), 15u);
}

}  // namespace
}  // namespace vg::test
