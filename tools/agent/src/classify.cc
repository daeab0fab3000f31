#include "agent/classify.h"

#include <algorithm>
#include <cstring>

#include "agent/probe_event.h"

namespace vg::agent {

namespace {

constexpr uint8_t kInt3 = 0xcc;
constexpr uint8_t kCallOpcode = 0xe8;
constexpr uint8_t kJmpOpcode = 0xe9;

// Kernel functions whose presence on the stack names the legitimate writer.
// They are policy symbols (trusted region), so a module cannot fake a frame
// named like them without its own frame showing up as the culprit as well.
constexpr const char* kKprobeWriters[] = {"arch_arm_kprobe", "arch_disarm_kprobe", "__arm_kprobe",
                                          "__disarm_kprobe"};
// The kprobe optimizer (6.12 arch/x86/kernel/kprobes/opt.c): a jmp rel32
// over the int3 through text_poke_bp, and back through two raw text_pokes
// (the int3, then the 4 saved bytes).
constexpr const char* kKprobeOptimizers[] = {"arch_optimize_kprobes"};
constexpr const char* kKprobeUnoptimizers[] = {"arch_unoptimize_kprobe", "arch_unoptimize_kprobes"};
constexpr const char* kBpfJitWriters[] = {"bpf_arch_text_copy", "bpf_arch_text_invalidate",
                                          "bpf_jit_binary_pack_finalize", "bpf_prog_pack_free"};
// BPF trampolines reach ftrace sites through ftrace direct calls, and their
// own images through bpf_arch_text_poke.
constexpr const char* kBpfTrampolineWriters[] = {
    "bpf_arch_text_poke",   "__bpf_arch_text_poke",   "bpf_trampoline_update",
    "bpf_tramp_image_put",  "register_ftrace_direct", "unregister_ftrace_direct",
    "modify_ftrace_direct", "__modify_ftrace_direct", "modify_ftrace_direct_nolock"};
constexpr const char* kFtraceTrampolineWriters[] = {"arch_ftrace_update_trampoline"};
constexpr uint64_t kPage = 4096;

int32_t load_s32(const uint8_t* p) {
  int32_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

}  // namespace

Classifier::Classifier(const Symbolizer& symbolizer, RuntimeMap& runtime, ClassifierOptions options)
    : symbolizer_(symbolizer),
      runtime_(runtime),
      options_(options),
      stacks_(std::make_unique<StackSymbolCache>()),
      stack_epoch_(fresh_stack_epoch()),
      seen_generation_(runtime.generation()) {}

void Classifier::clear_caches() {
  stacks_->clear();
  stack_epoch_ = fresh_stack_epoch();
}

void Classifier::symbolize_stack(Finding& finding) {
  if (runtime_.generation() != seen_generation_) {
    // A module or trampoline came or went: frames may resolve differently.
    seen_generation_ = runtime_.generation();
    stack_epoch_ = fresh_stack_epoch();
  }
  finding.stack_epoch = stack_epoch_;
  const uint64_t* raw = finding.event.frames.data();
  if (const StackSymbols* known = stacks_->find(raw, finding.frame_count, stack_epoch_)) {
    std::copy_n(known->frames.begin(), finding.frame_count, finding.frames.begin());
    finding.culprit_frame = known->culprit_frame;
    return;
  }
  for (uint8_t i = 0; i < finding.frame_count; ++i) {
    finding.frames[i] = symbolizer_.symbolize(raw[i]);
    // The culprit is module code on the stack: what a rootkit cannot hide
    // while it calls the kernel's patching functions.
    if (finding.culprit_frame < 0 && finding.frames[i].space == Space::kModule) {
      finding.culprit_frame = static_cast<int8_t>(i);
    }
  }
  StackSymbols& entry = stacks_->insert(raw, finding.frame_count, stack_epoch_);
  std::copy_n(finding.frames.begin(), finding.frame_count, entry.frames.begin());
  entry.culprit_frame = finding.culprit_frame;
}

bool Classifier::frames_contain(const Finding& finding, const char* const* names, size_t count) const {
  for (size_t i = 0; i < finding.frame_count; ++i) {
    const Symbol& frame = finding.frames[i];
    if (frame.space != Space::kKernel || frame.kernel_name == nullptr) continue;
    for (size_t n = 0; n < count; ++n) {
      if (std::strcmp(frame.kernel_name, names[n]) == 0) return true;
    }
  }
  return false;
}

bool Classifier::site_accepts(const policy::Site& site, const uint8_t* bytes, size_t length,
                              size_t skip) const {
  const auto& policy = symbolizer_.policy();
  for (uint32_t i = 0; i < site.pattern_count; ++i) {
    const policy::Pattern& pattern = policy.patterns()[site.first_pattern + i];
    uint32_t any_target = 0;
    const auto kind = static_cast<policy::PatternKind>(pattern.kind);
    if (kind == policy::PatternKind::kCallAnyFunction || kind == policy::PatternKind::kJmpAnyFunction) {
      // The target is only known from a whole instruction.
      const uint8_t opcode = kind == policy::PatternKind::kCallAnyFunction ? kCallOpcode : kJmpOpcode;
      if (skip != 0 || length < 5 || bytes[0] != opcode) continue;
      const int64_t target = int64_t{site.offset} + 5 + load_s32(bytes + 1);
      if (target < 0 || target > UINT32_MAX || !symbolizer_.is_function_start(static_cast<uint32_t>(target)))
        continue;
      any_target = static_cast<uint32_t>(target);
    }
    uint8_t expected[policy::kMaxSiteLength];
    const size_t n = policy::encode_pattern(policy, site, pattern, any_target, expected);
    if (n == 0 || skip + length > n) continue;
    if (std::memcmp(expected + skip, bytes, length) == 0) return true;
  }
  return false;
}

void Classifier::kprobe_step(Finding& finding, Reason reason) const {
  // Probing inside function bodies is the policy's choice, as it is for the
  // monitor (`vmplguard analyze --allow-kprobes`, kFlagKprobesAllowed).
  const bool allowed = (symbolizer_.policy().header().flags & policy::kFlagKprobesAllowed) != 0;
  finding.verdict = allowed ? Verdict::kAllowed : Verdict::kViolation;
  finding.reason = allowed ? reason : Reason::kKprobesForbidden;
}

// A write outside the image that no rule explains: module text or memory the
// agent knows nothing of. Neither is judged: the policy does not cover them.
void Classifier::mark_unverified_outside_image(Finding& finding, uint64_t address) const {
  finding.verdict = Verdict::kUnverified;
  finding.reason = runtime_.find_module(address) != nullptr ? Reason::kModuleText : Reason::kUnknownMemory;
}

void Classifier::classify_text_patch(Finding& finding) const {
  const Event& event = finding.event;
  if (event.length >= 5 && (event.bytes[0] == kCallOpcode || event.bytes[0] == kJmpOpcode)) {
    finding.has_call_target = true;
    finding.call_target = event.address + 5 + static_cast<uint64_t>(int64_t{load_s32(&event.bytes[1])});
    finding.call_target_symbol = symbolizer_.symbolize(finding.call_target);
  }
  // Writers named by the stack count only when no module code is on it.
  const bool kernel_only_stack = finding.culprit_frame < 0;
  if (!finding.has_text_offset) {
    const RuntimeMap::Code* code = runtime_.find_code(event.address);
    if ((code != nullptr && code->kind == RuntimeMap::CodeKind::kFtrace) ||
        (kernel_only_stack &&
         frames_contain(finding, kFtraceTrampolineWriters, std::size(kFtraceTrampolineWriters)))) {
      // arch_ftrace_update_trampoline rewrites the call slot of a trampoline
      // it created: remember the trampoline's page for the calls into it.
      if (code == nullptr) {
        RuntimeMap::Code page;
        page.base = event.address & ~(kPage - 1);
        page.size = kPage;
        runtime_.add_code(page);
      }
      finding.verdict = Verdict::kAllowed;
      finding.reason = Reason::kFtraceTrampolineUpdate;
    } else if ((code != nullptr && code->kind == RuntimeMap::CodeKind::kBpf) ||
               (kernel_only_stack && runtime_.find_module(event.address) == nullptr &&
                frames_contain(finding, kBpfTrampolineWriters, std::size(kBpfTrampolineWriters)))) {
      finding.verdict = Verdict::kAllowed;
      finding.reason = Reason::kSiteBpfTrampoline;
    } else {
      mark_unverified_outside_image(finding, event.address);
    }
    return;
  }
  const policy::Site* site = symbolizer_.site_at(finding.text_offset);
  if (site == nullptr) {
    // An optimized kprobe: the jmp must land in out-of-line code the kernel
    // registered (its kprobe_optinsn_page), written for a kernel-only stack
    // by the optimizer, at an address inside a function.
    const RuntimeMap::Code* detour =
        finding.has_call_target && event.bytes[0] == kJmpOpcode && event.length == 5
            ? runtime_.find_code(finding.call_target)
            : nullptr;
    if (detour != nullptr && kernel_only_stack && symbolizer_.function_at(finding.text_offset) != nullptr &&
        frames_contain(finding, kKprobeOptimizers, std::size(kKprobeOptimizers))) {
      kprobe_step(finding, Reason::kKprobeOptimized);
      return;
    }
    finding.verdict = Verdict::kViolation;
    finding.reason = Reason::kNotASite;
    return;
  }
  finding.site_kinds = site->kinds;
  if (event.length == 0 || event.length > site->length) {
    finding.verdict = Verdict::kViolation;
    finding.reason = Reason::kBadLength;
    return;
  }
  if (site_accepts(*site, event.bytes.data(), event.length, 0)) {
    finding.verdict = Verdict::kAllowed;
    finding.reason = Reason::kSitePattern;
    return;
  }
  if ((site->kinds & policy::kSiteFtrace) != 0) {
    // ftrace and BPF trampolines live outside the image; the policy cannot
    // name them, the runtime map and the writer's identity can.
    const RuntimeMap::Code* code =
        finding.has_call_target ? runtime_.find_code(finding.call_target) : nullptr;
    if (code != nullptr && event.bytes[0] == kCallOpcode) {
      finding.verdict = Verdict::kAllowed;
      finding.reason = code->kind == RuntimeMap::CodeKind::kFtrace ? Reason::kSiteFtraceTrampoline
                                                                   : Reason::kSiteBpfTrampoline;
      return;
    }
    if (finding.has_call_target && kernel_only_stack && !symbolizer_.text_offset(finding.call_target) &&
        runtime_.find_module(finding.call_target) == nullptr &&
        frames_contain(finding, kBpfTrampolineWriters, std::size(kBpfTrampolineWriters))) {
      finding.verdict = Verdict::kAllowed;
      finding.reason = Reason::kSiteBpfTrampoline;
      return;
    }
  }
  finding.verdict = Verdict::kViolation;
  finding.reason = Reason::kPatternNotAllowed;
}

void Classifier::classify_text_poke(Finding& finding) const {
  Event& event = finding.event;
  // text_poke_set (memset) passes a pointer to one byte: widen it.
  if (event.value != 0) {
    const Symbol poke_function = symbolizer_.symbolize(event.value);
    if (poke_function.space == Space::kKernel && poke_function.offset == 0 &&
        std::strcmp(poke_function.kernel_name, "text_poke_memset") == 0) {
      std::memset(event.bytes.data(), event.bytes[0], event.length);
    }
  }
  const bool one_byte = event.size == 1;
  const bool kernel_only_stack = finding.culprit_frame < 0;
  if (one_byte && kernel_only_stack && frames_contain(finding, kKprobeWriters, std::size(kKprobeWriters))) {
    kprobe_step(finding, Reason::kKprobeBreakpoint);
    return;
  }
  // Unoptimizing: the int3 at the probe, then the 4 bytes the jmp covered.
  // The policy holds sites, not the text, so the restored bytes cannot be
  // compared with the original here (the monitor remembers and compares
  // them); the writer's identity and the place are what the agent checks.
  const bool unoptimize_shape = (one_byte && event.bytes[0] == kInt3) || event.size == 4;
  if (finding.has_text_offset && unoptimize_shape && kernel_only_stack &&
      frames_contain(finding, kKprobeUnoptimizers, std::size(kKprobeUnoptimizers))) {
    const policy::Function* function = symbolizer_.function_at(finding.text_offset);
    if (function != nullptr &&
        uint64_t{finding.text_offset} + event.size <= uint64_t{function->offset} + function->size) {
      kprobe_step(finding, Reason::kKprobeUnoptimized);
      return;
    }
  }
  if (!finding.has_text_offset) {
    if (kernel_only_stack && frames_contain(finding, kBpfJitWriters, std::size(kBpfJitWriters)) &&
        runtime_.find_module(event.address) == nullptr) {
      finding.verdict = Verdict::kAllowed;
      finding.reason = Reason::kBpfJitCopy;
    } else if (kernel_only_stack && runtime_.find_module(event.address) == nullptr &&
               frames_contain(finding, kBpfTrampolineWriters, std::size(kBpfTrampolineWriters))) {
      finding.verdict = Verdict::kAllowed;
      finding.reason = Reason::kSiteBpfTrampoline;
    } else if (const auto* code = runtime_.find_code(event.address)) {
      finding.verdict = Verdict::kAllowed;
      finding.reason = code->kind == RuntimeMap::CodeKind::kFtrace ? Reason::kFtraceTrampolineUpdate
                                                                   : Reason::kSiteBpfTrampoline;
    } else {
      mark_unverified_outside_image(finding, event.address);
    }
    return;
  }
  // Inside the image: the write must fall inside one site and be a slice of
  // an allowed encoding (or the int3 the batch protocol puts first).
  const policy::Site* site = symbolizer_.site_at_or_before(finding.text_offset);
  if (site != nullptr && finding.text_offset - site->offset >= site->length) site = nullptr;
  if (site == nullptr) {
    finding.verdict = Verdict::kViolation;
    finding.reason = Reason::kNotASite;
    return;
  }
  finding.site_kinds = site->kinds;
  const size_t skip = finding.text_offset - site->offset;
  if (event.size > site->length - skip || event.size > kMaxBytes) {
    finding.verdict = Verdict::kViolation;
    finding.reason = Reason::kBadLength;
    return;
  }
  const bool int3 = one_byte && event.bytes[0] == kInt3 && skip == 0;
  if (int3 || site_accepts(*site, event.bytes.data(), event.length, skip)) {
    finding.verdict = Verdict::kAllowed;
    finding.reason = Reason::kSitePartialWrite;
    return;
  }
  finding.verdict = Verdict::kViolation;
  finding.reason = Reason::kPatternNotAllowed;
}

void Classifier::classify_monitor(Finding& finding) const {
  const vg_record& record = finding.event.record;
  const bool allowed = record.verdict == VG_VERDICT_ALLOWED;
  finding.verdict = allowed ? Verdict::kAllowed : Verdict::kViolation;
  finding.reason = allowed ? Reason::kMonitorAllowed : Reason::kMonitorDenied;
  if (record.policy_offset != UINT32_MAX) {
    if (const auto* site = symbolizer_.site_at(record.policy_offset)) {
      finding.site_kinds = site->kinds;
    }
  }
}

void Classifier::prefetch(const Event& event, unsigned step) const {
  // The written address (site, function, object); a call or jmp written
  // also has its target symbolized. Stack frames come from the stack cache.
  symbolizer_.prefetch(event.address, step);
  if (event.type == EventType::kTextPatch && event.length >= 5 &&
      (event.bytes[0] == kCallOpcode || event.bytes[0] == kJmpOpcode)) {
    symbolizer_.prefetch(event.address + 5 + static_cast<uint64_t>(int64_t{load_s32(&event.bytes[1])}), step);
  }
}

Finding Classifier::classify(const Event& event) {
  Finding finding;
  finding.event = event;
  finding.first_seen_ns = event.ktime_ns;
  finding.last_seen_ns = event.ktime_ns;
  if (auto offset = symbolizer_.text_offset(event.address)) {
    finding.has_text_offset = true;
    finding.text_offset = *offset;
  }
  // An fentry program's stack starts in the program and its trampoline
  // (outside the image); the kernel's own frames follow. Drop the former.
  size_t first = 0;
  if ((event.flags & VGP_FLAG_FENTRY) != 0) {
    while (first < event.frame_count && !symbolizer_.text_offset(event.frames[first])) ++first;
    if (first == event.frame_count) first = 0;
  }
  finding.event.frame_count = event.frame_count - static_cast<uint32_t>(first);
  for (size_t i = 0; i < finding.event.frame_count; ++i) finding.event.frames[i] = event.frames[first + i];
  finding.frame_count = static_cast<uint8_t>(finding.event.frame_count);
  symbolize_stack(finding);
  const auto& header = symbolizer_.policy().header();
  switch (event.type) {
    case EventType::kTextPatch: classify_text_patch(finding); break;
    case EventType::kTextPoke: classify_text_poke(finding); break;
    case EventType::kModuleLoad: {
      RuntimeMap::Module module;
      module.base = event.address;
      module.size = event.size;
      module.init_base = event.value;
      module.init_size = event.aux;
      module.name = event.name;
      module.name_length = event.name_length;
      runtime_.add_module(module);
      const bool allowed = (header.flags & policy::kFlagModulesAllowed) != 0;
      finding.verdict = allowed ? Verdict::kAllowed : Verdict::kViolation;
      finding.reason = allowed ? Reason::kModulesAllowed : Reason::kModulesForbidden;
      break;
    }
    case EventType::kModuleFree:
      runtime_.remove_module(event.name.data(), event.name_length);
      finding.verdict = Verdict::kAllowed;
      finding.reason = Reason::kModuleUnloaded;
      break;
    case EventType::kSetMemoryX:
    case EventType::kSetMemoryRw: {
      const bool in_image = finding.has_text_offset;
      finding.verdict = in_image ? Verdict::kViolation : Verdict::kAllowed;
      finding.reason = in_image ? Reason::kKernelImagePermission : Reason::kOutsideKernelImage;
      break;
    }
    case EventType::kWriteCr0: {
      const bool wp_cleared = (event.value & kCr0Wp) == 0;
      finding.verdict = wp_cleared ? Verdict::kViolation : Verdict::kAllowed;
      finding.reason = wp_cleared ? Reason::kCr0WpCleared : Reason::kControlRegisterOk;
      break;
    }
    case EventType::kWriteCr4: {
      const bool cleared = (event.value & options_.cr4_pinned_bits) != options_.cr4_pinned_bits;
      finding.verdict = cleared ? Verdict::kViolation : Verdict::kAllowed;
      finding.reason = cleared ? Reason::kCr4PinnedCleared : Reason::kControlRegisterOk;
      break;
    }
    case EventType::kBpfJitAlloc: {
      const bool allowed = (header.flags & policy::kFlagBpfJitAllowed) != 0;
      finding.verdict = allowed ? Verdict::kAllowed : Verdict::kViolation;
      finding.reason = allowed ? Reason::kBpfJitAllowed : Reason::kBpfJitForbidden;
      break;
    }
    case EventType::kKsymbol: {
      // PERF_RECORD_KSYMBOL_TYPE_BPF is 1; ftrace trampolines are OOL (2).
      finding.verdict = Verdict::kAllowed;
      if ((event.flags & VGP_FLAG_UNREGISTER) != 0) {
        runtime_.remove_code(event.address);
        finding.reason = Reason::kCodeUnregistered;
        break;
      }
      RuntimeMap::Code code;
      code.base = event.address;
      code.size = event.size;
      code.kind = event.value == 1 ? RuntimeMap::CodeKind::kBpf : RuntimeMap::CodeKind::kFtrace;
      code.name = event.name;
      code.name_length = event.name_length;
      runtime_.add_code(code);
      finding.reason = Reason::kCodeRegistered;
      break;
    }
    case EventType::kMonitorRecord: classify_monitor(finding); break;
    case EventType::kTelemetryLoss:
      finding.verdict = Verdict::kViolation;
      finding.reason = Reason::kTelemetryLoss;
      break;
  }
  finding.target = symbolizer_.symbolize(event.address);
  finding.object = symbolizer_.object_at(event.address);
  if (finding.object != nullptr) {
    finding.object_name = symbolizer_.policy().string(finding.object->name);
  }
  return finding;
}

}  // namespace vg::agent
