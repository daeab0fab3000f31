// A small policy and event builders for the agent's unit tests. The policy
// is built with the real PolicyBuilder and parsed with the real reader, so
// the agent sees exactly what it sees in production, only smaller.
#pragma once

#include <cstring>
#include <vector>

#include "agent/classify.h"
#include "agent/event.h"
#include "agent/probe_event.h"
#include "policy/builder.h"
#include "policy/reader.h"

namespace vg::agent::testing {

inline constexpr uint64_t kLinkText = 0xffffffff81000000ull;
inline constexpr uint64_t kRuntimeText = 0xffffffff9a200000ull;  // KASLR slide 0x19200000
inline constexpr uint64_t kSlide = kRuntimeText - kLinkText;
inline uint64_t at(uint32_t offset) {
  return kRuntimeText + offset;
}

// Layout (offsets from _text):
//   0x100 patched_fn   ftrace site at 0x104 (nop5 | call ftrace_caller)
//   0x110              jump label, 5 bytes (nop5 | jmp 0x130); 0x120 jump label, 2 bytes (nop2 | jmp8 0x128)
//   0x200 ftrace_caller, 0x300 victim_fn, 0x400 arch_arm_kprobe, 0x500 bpf_arch_text_copy,
//   0x600 text_poke_memset, 0x700 register_ftrace_direct, 0x800 static call site (call any | nop5)
//   0x900 arch_optimize_kprobes, 0x940 arch_unoptimize_kprobe
//   0x20100 modprobe_path (object)
inline std::vector<uint8_t> policy_bytes(uint32_t flags = policy::kFlagModulesAllowed |
                                                          policy::kFlagBpfJitAllowed) {
  using namespace vg::policy;
  PolicyBuilder builder;
  builder.set_kernel({0x7f, 0x76, 0xf3, 0x9f}, "6.12.117-test", kLinkText);
  builder.set_flags(flags);
  builder.add_region(0, 0x10000, RegionKind::kText, kPermRead | kPermSupervisorExec,
                     kPermRead | kPermSupervisorExec);
  builder.add_region(0x20000, 0x4000, RegionKind::kData, kPermRead | kPermWrite, kPermRead | kPermWrite);
  builder.add_function(0x100, 0x80, "patched_fn", 0);
  builder.add_function(0x200, 0x40, "ftrace_caller", kFunctionTrusted);
  builder.add_function(0x300, 0x40, "victim_fn", 0);
  builder.add_function(0x400, 0x40, "arch_arm_kprobe", kFunctionTrusted);
  builder.add_function(0x500, 0x40, "bpf_arch_text_copy", kFunctionTrusted);
  builder.add_function(0x600, 0x40, "text_poke_memset", kFunctionTrusted);
  builder.add_function(0x700, 0x40, "register_ftrace_direct", kFunctionTrusted);
  builder.add_function(0x800, 0x40, "caller_fn", 0);
  builder.add_function(0x900, 0x40, "arch_optimize_kprobes", kFunctionTrusted);
  builder.add_function(0x940, 0x40, "arch_unoptimize_kprobe", kFunctionTrusted);
  builder.add_site(0x104, kSiteFtrace, 5, {PatternSpec::nop(5), PatternSpec::call(0x200)});
  builder.add_site(0x110, kSiteJumpLabel, 5, {PatternSpec::nop(5), PatternSpec::jmp32(0x130)});
  builder.add_site(0x120, kSiteJumpLabel, 2, {PatternSpec::nop(2), PatternSpec::jmp8(0x128)});
  builder.add_site(0x810, kSiteStaticCall, 5, {PatternSpec::call_any_function(), PatternSpec::nop(5)});
  builder.add_object(0x20100, 0x100, "modprobe_path", Protection::kWriteMediated, RegionKind::kData);
  auto bytes = builder.build();
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>{};
}

// Holds the policy bytes (8-byte aligned) and the parsed view.
struct PolicyHolder {
  explicit PolicyHolder(const std::vector<uint8_t>& bytes) : storage((bytes.size() + 7) / 8) {
    std::memcpy(storage.data(), bytes.data(), bytes.size());
    auto parsed =
        policy::PolicyView::parse(ByteView{reinterpret_cast<const uint8_t*>(storage.data()), bytes.size()});
    ok = parsed.ok();
    if (ok) view = parsed.value();
  }
  std::vector<uint64_t> storage;
  policy::PolicyView view;
  bool ok = false;
};

// A policy, runtime map, symbolizer and classifier wired together.
struct Agent {
  explicit Agent(uint32_t flags = policy::kFlagModulesAllowed | policy::kFlagBpfJitAllowed)
      : holder(policy_bytes(flags)),
        symbolizer(holder.view, kRuntimeText, runtime),
        classifier(symbolizer, runtime, ClassifierOptions{kCr4Smep | kCr4Smap}) {}
  PolicyHolder holder;
  RuntimeMap runtime;
  Symbolizer symbolizer;
  Classifier classifier;
};

inline Event text_patch(uint64_t address, std::vector<uint8_t> bytes, std::vector<uint64_t> frames = {}) {
  Event event;
  event.type = EventType::kTextPatch;
  event.address = address;
  event.size = bytes.size();
  event.length = static_cast<uint8_t>(bytes.size());
  std::memcpy(event.bytes.data(), bytes.data(), bytes.size());
  event.frame_count = static_cast<uint32_t>(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) event.frames[i] = frames[i];
  std::memcpy(event.comm.data(), "insmod", 6);
  event.comm_length = 6;
  event.pid = event.tgid = 77;
  event.ktime_ns = 5'000'000'000;
  return event;
}

inline Event text_poke(uint64_t address, std::vector<uint8_t> bytes, std::vector<uint64_t> frames = {}) {
  Event event = text_patch(address, std::move(bytes), std::move(frames));
  event.type = EventType::kTextPoke;
  return event;
}

inline Event module_load(const char* name, uint64_t base, uint64_t size, uint64_t init_base = 0,
                         uint32_t init_size = 0) {
  Event event;
  event.type = EventType::kModuleLoad;
  event.address = base;
  event.size = size;
  event.value = init_base;
  event.aux = init_size;
  event.name_length = static_cast<uint8_t>(std::strlen(name));
  std::memcpy(event.name.data(), name, event.name_length);
  return event;
}

// The raw ring-buffer bytes a probe would produce for `event`.
inline std::vector<uint8_t> raw_sample(const Event& event) {
  vgp_event raw{};
  raw.magic = VGP_MAGIC;
  raw.type = static_cast<uint16_t>(event.type);
  raw.origin = static_cast<uint8_t>(event.origin);
  raw.length = event.length;
  raw.ktime_ns = event.ktime_ns;
  raw.pid = event.pid;
  raw.tgid = event.tgid;
  raw.flags = event.flags;
  std::memcpy(raw.comm, event.comm.data(), event.comm_length);
  raw.address = event.address;
  raw.size = event.size;
  raw.value = event.value;
  std::memcpy(raw.bytes, event.bytes.data(), event.length);
  raw.frame_count = event.frame_count;
  std::memcpy(raw.frames, event.frames.data(), event.frame_count * sizeof(uint64_t));
  std::memcpy(raw.name, event.name.data(), event.name_length);
  std::vector<uint8_t> bytes(sizeof(raw));
  std::memcpy(bytes.data(), &raw, sizeof(raw));
  return bytes;
}

}  // namespace vg::agent::testing
