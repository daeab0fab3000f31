// Runtime addresses to names: kernel functions and critical objects from the
// policy, module text from the modules the agent saw load, ftrace trampolines
// the kernel created. Lookups are O(log n) and allocate nothing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "agent/event.h"
#include "agent/offset_index.h"
#include "policy/reader.h"

namespace vg::agent {

// Executable memory the kernel creates at run time, learnt from probes.
class RuntimeMap {
 public:
  static constexpr size_t kMaxModules = 4096;
  static constexpr size_t kMaxCode = 4096;

  struct Module {
    uint64_t base = 0;
    uint64_t size = 0;
    uint64_t init_base = 0;  // module_init text, freed after init
    uint64_t init_size = 0;
    std::array<char, kNameSize> name{};
    uint8_t name_length = 0;
  };

  // Replaces a module of the same name; refuses (returns false) when full.
  bool add_module(const Module& module);
  void remove_module(const char* name, uint8_t name_length);
  // The module whose text or init text holds `address`; `in_init` says which.
  const Module* find_module(uint64_t address, bool* in_init = nullptr) const;
  // Out-of-line code the kernel registered (perf_event_ksymbol, kallsyms):
  // ftrace trampolines and BPF programs/trampolines.
  enum class CodeKind : uint8_t { kFtrace, kBpf };
  struct Code {
    uint64_t base = 0;
    uint64_t size = 0;
    CodeKind kind = CodeKind::kFtrace;
    std::array<char, kNameSize> name{};
    uint8_t name_length = 0;
  };
  // Remembers code; the oldest is forgotten when the table is full.
  void add_code(const Code& code);
  void remove_code(uint64_t base);
  const Code* find_code(uint64_t address) const;
  size_t module_count() const { return modules_.size(); }
  // Changes whenever a module or code region is added or removed: answers
  // derived from the map (cached stack symbols) are stale once it moved.
  uint64_t generation() const { return generation_; }

 private:
  std::vector<Module> modules_;  // few enough for a linear scan (text and init text ranges)
  std::vector<Code> code_;
  uint64_t generation_ = 0;
};

enum class Space : uint8_t { kNone, kKernel, kModule, kRuntimeCode };

struct Symbol {
  Space space = Space::kNone;
  const char* kernel_name = nullptr;          // kKernel: borrowed from the policy
  uint32_t kernel_name_length = 0;            // strlen(kernel_name), known in advance
  std::array<char, kNameSize> module_name{};  // kModule, kRuntimeCode: copied, raw bytes
  uint8_t module_name_length = 0;
  bool module_init = false;  // kModule: offset is from the module's init text
  uint64_t offset = 0;       // from the function or module text start
};

// How the symbolizer searches the policy. kIndexed is the agent's; kReference
// is the plain binary search over the policy's tables (PolicyView::find_*),
// kept as the specification the index is tested against and as the
// benchmark's peer.
enum class LookupMode : uint8_t { kIndexed, kReference };

class Symbolizer {
 public:
  // `runtime_text` is the running kernel's `_text`; the policy's offsets are from it.
  Symbolizer(const policy::PolicyView& policy, uint64_t runtime_text, const RuntimeMap& runtime,
             LookupMode mode = LookupMode::kIndexed);

  uint64_t slide() const { return runtime_text_ - policy_.header().link_text_va; }
  uint64_t runtime_text() const { return runtime_text_; }
  // Offset from _text if `address` lies in the kernel image the policy describes.
  std::optional<uint32_t> text_offset(uint64_t address) const {
    const uint64_t offset = address - runtime_text_;  // wraps for addresses below _text
    if (offset >= image_size_ || offset > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(offset);
  }
  Symbol symbolize(uint64_t address) const;
  const policy::CriticalObject* object_at(uint64_t address) const;
  // The function containing `offset` (start <= offset < start + max(size, 1)),
  // as PolicyView::find_function answers it.
  const policy::Function* function_at(uint32_t offset) const;
  // True if a function starts exactly at `offset` (PolicyView::is_function_start).
  bool is_function_start(uint32_t offset) const;
  // The site starting exactly at `offset` (PolicyView::find_site).
  const policy::Site* site_at(uint32_t offset) const;
  // The site with the highest offset at or below `offset`, if any.
  const policy::Site* site_at_or_before(uint32_t offset) const;

  // Batch cache warming: a caller with several addresses to look up runs
  // step 0 for all of them, then step 1, and so on to kPrefetchSteps - 1,
  // then the lookups; each step's loads hit what the step before fetched, so
  // the cache misses of different addresses overlap instead of queueing one
  // after another (a random site costs about eight misses: bucket, keys,
  // site, patterns; bucket, keys, function, name). A hint: answers never
  // depend on it. A no-op in kReference mode.
  static constexpr unsigned kPrefetchSteps = 4;
  void prefetch(uint64_t address, unsigned step) const;

  const policy::PolicyView& policy() const { return policy_; }
  const RuntimeMap& runtime() const { return runtime_; }
  LookupMode mode() const { return mode_; }
  // Bytes the indexes hold (bounded by the policy's size).
  size_t index_bytes() const;

 private:
  uint32_t function_index(uint32_t offset) const;
  uint32_t lookup_function_index(uint32_t offset) const;

  const policy::PolicyView& policy_;
  uint64_t runtime_text_;
  uint64_t image_size_;
  const RuntimeMap& runtime_;
  LookupMode mode_;
  // kIndexed only. Function starts, with what a hit needs next kept beside
  // them (extent, name and its length) so that a lookup never touches the
  // policy's 16-byte records or scans a name for its NUL.
  OffsetIndex functions_;
  struct FunctionInfo {
    const char* name;  // borrowed from the policy's STRINGS
    uint32_t name_length;
    uint32_t extent;  // max(size, 1)
  };
  std::vector<FunctionInfo> function_info_;
  // The last answers, direct-mapped by offset: stack frames repeat (a few
  // kernel code paths do all the patching), and a hit here skips the index
  // and its cache misses. 8 KiB; every entry always holds a true answer.
  struct Recent {
    uint32_t offset;
    uint32_t index;
  };
  static constexpr size_t kRecentEntries = 1024;
  mutable std::array<Recent, kRecentEntries> recent_{};
  OffsetIndex sites_;
};

}  // namespace vg::agent
