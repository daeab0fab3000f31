// The agent's address index (OffsetIndex) and the indexed Symbolizer must
// answer exactly as the policy reader's binary searches do: the index is an
// optimisation, never a second opinion. Each test checks the edges (first and
// last key, gaps, empty buckets, dense buckets, addresses outside the table)
// against the reference answer.
#include "agent/offset_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "agent/symbolize.h"
#include "agent_fixture.h"
#include "policy/builder.h"

namespace vg::agent {
namespace {

using testing::at;
using testing::kLinkText;
using testing::kRuntimeText;
using testing::PolicyHolder;

// std::upper_bound - 1: the specification of last_at_or_below.
uint32_t reference_last_at_or_below(const std::vector<uint32_t>& keys, uint32_t offset) {
  const auto it = std::upper_bound(keys.begin(), keys.end(), offset);
  return it == keys.begin() ? OffsetIndex::kNone : static_cast<uint32_t>(it - keys.begin() - 1);
}

// Every offset within `span` of each key, plus the extremes of uint32_t.
void expect_matches_reference(const std::vector<uint32_t>& keys, unsigned shift, uint32_t span = 3) {
  const OffsetIndex index(keys, shift);
  std::vector<uint32_t> probes = {0, 1, UINT32_MAX, UINT32_MAX - 1};
  for (const uint32_t key : keys) {
    for (uint32_t d = 0; d <= span; ++d) {
      probes.push_back(key + d);
      probes.push_back(key - d);
    }
  }
  for (const uint32_t offset : probes) {
    ASSERT_EQ(index.last_at_or_below(offset), reference_last_at_or_below(keys, offset))
        << "offset 0x" << std::hex << offset << " shift " << std::dec << shift;
  }
}

TEST(OffsetIndex, EmptyIndexFindsNothing) {
  const OffsetIndex index({}, 8);
  EXPECT_EQ(index.last_at_or_below(0), OffsetIndex::kNone);
  EXPECT_EQ(index.last_at_or_below(UINT32_MAX), OffsetIndex::kNone);
  EXPECT_EQ(index.find(0), OffsetIndex::kNone);
}

TEST(OffsetIndex, FirstAndLastKeysAndWhatLiesBeyondThem) {
  const OffsetIndex index({0x100, 0x180, 0x1000, 0x5000}, 8);
  EXPECT_EQ(index.last_at_or_below(0xff), OffsetIndex::kNone);  // before the first key
  EXPECT_EQ(index.last_at_or_below(0x100), 0u);                 // the first key itself
  EXPECT_EQ(index.last_at_or_below(0x17f), 0u);
  EXPECT_EQ(index.last_at_or_below(0x180), 1u);
  EXPECT_EQ(index.last_at_or_below(0xfff), 1u);   // across empty buckets (a gap)
  EXPECT_EQ(index.last_at_or_below(0x4fff), 2u);  // the bucket before the last key
  EXPECT_EQ(index.last_at_or_below(0x5000), 3u);  // the last key
  EXPECT_EQ(index.last_at_or_below(0x50ff), 3u);  // the last key's bucket
  EXPECT_EQ(index.last_at_or_below(0x5100), 3u);  // past the bucket table
  EXPECT_EQ(index.last_at_or_below(UINT32_MAX), 3u);
  EXPECT_EQ(index.find(0x1000), 2u);
  EXPECT_EQ(index.find(0x1001), OffsetIndex::kNone);
  EXPECT_EQ(index.find(0x50), OffsetIndex::kNone);
}

TEST(OffsetIndex, KeysAtTheTopOfTheRangeKeepTheTableBounded) {
  // A hostile policy may put a key near 4 GiB: the bucket table must not
  // grow to 2^32 entries for it.
  const OffsetIndex index({0, UINT32_MAX}, 0);
  EXPECT_LE(index.memory_bytes(), (OffsetIndex::kMaxBuckets + 2) * sizeof(uint32_t));
  expect_matches_reference({0, UINT32_MAX - 1, UINT32_MAX}, 31);
  expect_matches_reference({0, UINT32_MAX - 1, UINT32_MAX}, 0, 1);
  expect_matches_reference({UINT32_MAX}, 8);
}

TEST(OffsetIndex, DuplicatesAnswerTheLastOne) {
  const std::vector<uint32_t> keys = {0x10, 0x20, 0x20, 0x20, 0x30};
  const OffsetIndex index(keys, 4);
  EXPECT_EQ(index.last_at_or_below(0x20), 3u);
  EXPECT_EQ(index.last_at_or_below(0x2f), 3u);
  expect_matches_reference(keys, 4);
}

TEST(OffsetIndex, DenseAndSparseBucketsMatchTheBinarySearch) {
  // Clustered keys, as the kernel's functions are: runs of small functions
  // (many keys per bucket) between large gaps (empty buckets).
  std::mt19937 random(7);
  std::vector<uint32_t> keys;
  uint32_t offset = 0x40;
  for (int run = 0; run < 200; ++run) {
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) {
      keys.push_back(offset);
      offset += 1 + static_cast<uint32_t>(random() % 24);
    }
    offset += static_cast<uint32_t>(random() % 0x4000);
  }
  for (const unsigned shift : {0u, 4u, 8u, 9u, 12u, 20u}) expect_matches_reference(keys, shift);
}

// A policy whose functions have gaps, a zero-sized symbol, neighbours that
// touch, and one at offset 0; sites at both ends.
std::vector<uint8_t> edge_policy() {
  using namespace vg::policy;
  PolicyBuilder builder;
  builder.set_kernel({1, 2, 3, 4}, "6.12-index-test", kLinkText);
  builder.set_flags(kFlagModulesAllowed);
  builder.add_region(0, 0x40000, RegionKind::kText, kPermRead | kPermSupervisorExec,
                     kPermRead | kPermSupervisorExec);
  builder.add_function(0x0, 0x10, "first_fn", 0);
  builder.add_function(0x10, 0x30, "touching_fn", 0);
  builder.add_function(0x100, 0, "sizeless_fn", 0);  // covers its first byte only
  for (uint32_t i = 0; i < 64; ++i) {                // a dense run: many starts in one bucket
    builder.add_function(0x1000 + i * 4, 4, "tiny_" + std::to_string(i), 0);
  }
  builder.add_function(0x3fff0, 0x10, "last_fn", 0);
  builder.add_site(0x0, kSiteFtrace, 5, {PatternSpec::nop(5)});
  builder.add_site(0x1008, kSiteJumpLabel, 2, {PatternSpec::nop(2)});
  builder.add_site(0x3fffb, kSiteJumpLabel, 5, {PatternSpec::nop(5)});
  auto bytes = builder.build();
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>{};
}

TEST(IndexedSymbolizer, AgreesWithThePolicyReaderAtEveryOffset) {
  PolicyHolder holder(edge_policy());
  ASSERT_TRUE(holder.ok);
  RuntimeMap runtime;
  const Symbolizer indexed(holder.view, kRuntimeText, runtime, LookupMode::kIndexed);
  const Symbolizer reference(holder.view, kRuntimeText, runtime, LookupMode::kReference);
  for (uint32_t offset = 0; offset < 0x40010; ++offset) {
    ASSERT_EQ(indexed.function_at(offset), holder.view.find_function(offset)) << std::hex << offset;
    ASSERT_EQ(indexed.is_function_start(offset), holder.view.is_function_start(offset)) << std::hex << offset;
    ASSERT_EQ(indexed.site_at(offset), holder.view.find_site(offset)) << std::hex << offset;
    ASSERT_EQ(indexed.site_at_or_before(offset), reference.site_at_or_before(offset)) << std::hex << offset;
    const Symbol a = indexed.symbolize(at(offset));
    const Symbol b = reference.symbolize(at(offset));
    ASSERT_EQ(a.space, b.space) << std::hex << offset;
    ASSERT_EQ(a.offset, b.offset) << std::hex << offset;
    if (a.space == Space::kKernel) {
      ASSERT_STREQ(a.kernel_name, b.kernel_name);
      ASSERT_EQ(a.kernel_name_length, std::strlen(a.kernel_name));
      ASSERT_EQ(b.kernel_name_length, a.kernel_name_length);
    }
  }
}

TEST(IndexedSymbolizer, NamesTheEdgesAndLeavesOutsideAddressesAlone) {
  PolicyHolder holder(edge_policy());
  ASSERT_TRUE(holder.ok);
  RuntimeMap runtime;
  RuntimeMap::Module module;
  module.base = 0xffffffffc0001000ull;
  module.size = 0x2000;
  std::memcpy(module.name.data(), "nls_utf8", 8);
  module.name_length = 8;
  ASSERT_TRUE(runtime.add_module(module));
  const Symbolizer symbolizer(holder.view, kRuntimeText, runtime);

  Symbol first = symbolizer.symbolize(at(0));
  EXPECT_STREQ(first.kernel_name, "first_fn");
  EXPECT_EQ(first.kernel_name_length, 8u);
  EXPECT_STREQ(symbolizer.symbolize(at(0x10)).kernel_name, "touching_fn");  // the neighbour starts
  EXPECT_EQ(symbolizer.symbolize(at(0x3fff)).space, Space::kNone);          // in a gap
  EXPECT_EQ(symbolizer.symbolize(at(0x100)).space, Space::kKernel);         // sizeless: first byte
  EXPECT_EQ(symbolizer.symbolize(at(0x101)).space, Space::kNone);           // and no further
  const Symbol tiny = symbolizer.symbolize(at(0x1000 + 63 * 4 + 3));
  EXPECT_STREQ(tiny.kernel_name, "tiny_63");
  EXPECT_EQ(tiny.offset, 3u);
  const Symbol last = symbolizer.symbolize(at(0x3ffff));
  EXPECT_STREQ(last.kernel_name, "last_fn");
  EXPECT_EQ(last.offset, 0xfu);
  EXPECT_EQ(symbolizer.symbolize(at(0x40000)).space, Space::kNone);       // just past the image
  EXPECT_EQ(symbolizer.symbolize(kRuntimeText - 1).space, Space::kNone);  // just below _text
  EXPECT_FALSE(symbolizer.text_offset(kRuntimeText - 1).has_value());
  EXPECT_EQ(symbolizer.site_at_or_before(0x3ffff), symbolizer.site_at(0x3fffb));
  const Symbol in_module = symbolizer.symbolize(0xffffffffc0001010ull);
  EXPECT_EQ(in_module.space, Space::kModule);
  EXPECT_EQ(std::string(in_module.module_name.data(), in_module.module_name_length), "nls_utf8");
  EXPECT_EQ(in_module.offset, 0x10u);
  EXPECT_EQ(symbolizer.symbolize(0xffffffffc0003000ull).space, Space::kNone);  // just past the module
}

}  // namespace
}  // namespace vg::agent
