// The per-stack caches: a repeated call chain is symbolized and formatted
// once, and a cached answer is never served for another stack, another
// runtime map state or after a reload.
#include "agent/stack_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/format.h"
#include "agent_fixture.h"

namespace vg::agent {
namespace {

using namespace testing;

constexpr uint64_t kModuleBase = 0xffffffffc0400000ull;

using SmallCache = StackCache<int, 4>;
using OneSlot = StackCache<int, 1>;

TEST(StackCache, StoredStackIsFoundUnderItsEpochOnly) {
  SmallCache cache;
  const uint64_t frames[] = {at(0x101), at(0x301), at(0x801)};
  cache.insert(frames, 3, 7) = 42;
  const int* hit = cache.find(frames, 3, 7);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, 42);
  EXPECT_EQ(cache.find(frames, 3, 8), nullptr);  // another epoch: derived from other inputs
  EXPECT_EQ(cache.find(frames, 2, 7), nullptr);  // a prefix is another stack
  EXPECT_EQ(cache.find(frames, 3, 0), nullptr);  // epoch 0 is never cached
}

TEST(StackCache, EmptyCacheMisses) {
  SmallCache cache;
  const uint64_t frames[] = {at(0x101)};
  EXPECT_EQ(cache.find(frames, 1, 1), nullptr);
  EXPECT_EQ(cache.find(frames, 0, 1), nullptr);
}

TEST(StackCache, DifferentFramesInTheSameSlotAreAMissAndEvictTheOlder) {
  // One slot: every stack collides; only the full compare tells them apart.
  OneSlot cache;
  const uint64_t first[] = {at(0x101), at(0x301)};
  const uint64_t second[] = {at(0x101), at(0x302)};
  cache.insert(first, 2, 1) = 1;
  EXPECT_EQ(cache.find(second, 2, 1), nullptr);
  cache.insert(second, 2, 1) = 2;
  ASSERT_NE(cache.find(second, 2, 1), nullptr);
  EXPECT_EQ(*cache.find(second, 2, 1), 2);
  EXPECT_EQ(cache.find(first, 2, 1), nullptr);  // evicted
}

TEST(StackCache, ClearForgetsEverything) {
  SmallCache cache;
  const uint64_t frames[] = {at(0x101), at(0x301)};
  cache.insert(frames, 2, 3) = 5;
  cache.clear();
  EXPECT_EQ(cache.find(frames, 2, 3), nullptr);
}

TEST(StackCache, EpochsAreFreshAndNonZero) {
  const uint64_t a = fresh_stack_epoch();
  const uint64_t b = fresh_stack_epoch();
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
}

FormatContext context() {
  FormatContext c;
  c.hostname = "cvm-1";
  c.kernel_release = "6.12.117-test";
  c.policy_digest_hex = "00";
  c.kaslr_offset = kSlide;
  return c;
}

// The "stack" array and "culprit" field of a native record.
std::string stack_part(const Finding& finding) {
  std::string out;
  format_native(out, finding, context());
  const size_t begin = out.find("\"stack\":");
  const size_t end = out.find(",\"count\"");
  return begin == std::string::npos || end == std::string::npos ? out : out.substr(begin, end - begin);
}

TEST(StackCache, RepeatedStackGivesTheSameSymbolsAndTextAsAFreshOne) {
  Agent agent(policy::kFlagModulesAllowed | policy::kFlagKprobesAllowed);
  const std::vector<uint64_t> frames{at(0x601), at(0x401), at(0x801)};
  const Finding first = agent.classifier.classify(text_poke(at(0x310), {0x90}, frames));
  const Finding second = agent.classifier.classify(text_poke(at(0x311), {0x90}, frames));
  ASSERT_EQ(second.frame_count, 3);
  EXPECT_EQ(second.stack_epoch, first.stack_epoch);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(second.frames[i].kernel_name, first.frames[i].kernel_name);
    EXPECT_EQ(second.frames[i].offset, first.frames[i].offset);
  }
  // A kprobe writer found on the cached stack still decides the verdict.
  EXPECT_EQ(agent.classifier.classify(text_poke(at(0x104), {0xcc}, frames)).reason,
            Reason::kKprobeBreakpoint);
  Finding uncached = second;
  uncached.stack_epoch = 0;
  const std::string expected =
      "\"stack\":[\"text_poke_memset+0x1\",\"arch_arm_kprobe+0x1\",\"caller_fn+0x1\"],\"culprit\":null";
  EXPECT_EQ(stack_part(uncached), expected);
  EXPECT_EQ(stack_part(first), expected);
  EXPECT_EQ(stack_part(second), expected);  // from the formatter's cache
}

TEST(StackCache, ModuleLoadInvalidatesCachedStacks) {
  Agent agent;
  const std::vector<uint64_t> frames{at(0x601), kModuleBase + 0x10};
  const Finding before = agent.classifier.classify(text_poke(at(0x310), {0x90}, frames));
  EXPECT_EQ(before.frames[1].space, Space::kNone);
  EXPECT_EQ(before.culprit_frame, -1);
  EXPECT_EQ(stack_part(before),
            "\"stack\":[\"text_poke_memset+0x1\",\"0xffffffffc0400010\"],\"culprit\":null");
  agent.classifier.classify(module_load("rootkit", kModuleBase, 0x2000));
  // The same stack now names the module: neither cache may answer from before.
  const Finding after = agent.classifier.classify(text_poke(at(0x310), {0x90}, frames));
  EXPECT_NE(after.stack_epoch, before.stack_epoch);
  EXPECT_EQ(after.frames[1].space, Space::kModule);
  EXPECT_EQ(after.culprit_frame, 1);
  EXPECT_EQ(stack_part(after),
            "\"stack\":[\"text_poke_memset+0x1\",\"[rootkit]+0x10\"],\"culprit\":\"[rootkit]+0x10\"");
}

TEST(StackCache, ClearingTheClassifierCachesStartsANewEpoch) {
  Agent agent;
  const std::vector<uint64_t> frames{at(0x601)};
  const Finding before = agent.classifier.classify(text_poke(at(0x310), {0x90}, frames));
  agent.classifier.clear_caches();
  const Finding after = agent.classifier.classify(text_poke(at(0x310), {0x90}, frames));
  EXPECT_NE(after.stack_epoch, before.stack_epoch);
  EXPECT_STREQ(after.frames[0].kernel_name, "text_poke_memset");
  EXPECT_EQ(stack_part(after), stack_part(before));
}

}  // namespace
}  // namespace vg::agent
