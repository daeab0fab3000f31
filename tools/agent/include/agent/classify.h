// The verdict on each event: allowed by the policy, a violation, or outside
// what the policy can speak for. Pure: no I/O, no allocation per event.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/finding.h"
#include "agent/stack_cache.h"
#include "agent/symbolize.h"

namespace vg::agent {

struct ClassifierOptions {
  // CR4 bits the running CPUs have set and the kernel pins (SMEP, SMAP, UMIP
  // as reported by /proc/cpuinfo); clearing one is a violation.
  uint64_t cr4_pinned_bits = 0;
};

inline constexpr uint64_t kCr0Wp = 1ull << 16;
inline constexpr uint64_t kCr4Umip = 1ull << 11;
inline constexpr uint64_t kCr4Smep = 1ull << 20;
inline constexpr uint64_t kCr4Smap = 1ull << 21;

class Classifier {
 public:
  Classifier(const Symbolizer& symbolizer, RuntimeMap& runtime, ClassifierOptions options);

  // Classifies and symbolizes one event. Module loads, unloads and trampoline
  // creations also update the runtime map, so later events resolve into them.
  Finding classify(const Event& event);
  // Warms the caches classify() will need for `event`: step `step` of
  // Symbolizer::kPrefetchSteps, for a batch (see Symbolizer::prefetch).
  void prefetch(const Event& event, unsigned step) const;
  // Forgets the cached stack symbols (SIGHUP; the runtime map's changes are
  // noticed without it).
  void clear_caches();

  // The symbols of one distinct stack, kept so that a repeated call chain is
  // symbolized once.
  struct StackSymbols {
    std::array<Symbol, kMaxFrames> frames{};
    int8_t culprit_frame = -1;
  };
  static constexpr size_t kStackCacheEntries = 256;
  using StackSymbolCache = StackCache<StackSymbols, kStackCacheEntries>;

 private:
  void classify_text_patch(Finding& finding) const;
  void mark_unverified_outside_image(Finding& finding, uint64_t address) const;
  // Allowed with `reason` if the policy allows kprobes, else kKprobesForbidden.
  void kprobe_step(Finding& finding, Reason reason) const;
  void classify_text_poke(Finding& finding) const;
  void classify_monitor(Finding& finding) const;
  void symbolize_stack(Finding& finding);
  bool frames_contain(const Finding& finding, const char* const* names, size_t count) const;
  // True if `bytes[0..length)` equals an allowed encoding of `site`, or (for
  // partial writes) a slice of one starting at `skip`.
  bool site_accepts(const policy::Site& site, const uint8_t* bytes, size_t length, size_t skip) const;

  const Symbolizer& symbolizer_;
  RuntimeMap& runtime_;
  ClassifierOptions options_;
  // About 200 KiB, on the heap. The epoch changes with the runtime map's
  // generation; the symbolizer (and its policy) is fixed for our lifetime.
  std::unique_ptr<StackSymbolCache> stacks_;
  uint64_t stack_epoch_ = 0;
  uint64_t seen_generation_ = 0;
};

}  // namespace vg::agent
