// kprobes at non-sites (only with kFlagKprobesAllowed).
//
// A kprobe inside a function is not a patch site: the kernel writes int3
// over the first byte of an instruction, may later optimize it into a
// `jmp rel32` to a detour in its kprobe instruction page (out-of-line code
// admitted with BPF_JIT_MAP), and finally restores the original bytes. KCI
// lets exactly these steps through, and only in functions outside the
// trusted region, at instruction boundaries it decodes itself from the
// function's start. The probe table remembers what the kernel overwrote, so
// that a "restore" can only put the original bytes back.
//
// The steps, per probe (P = the probe's offset):
//   free          --cc at P------------------------> armed       (arch_arm_kprobe)
//   armed         --original[0] at P---------------> free        (arch_disarm_kprobe)
//   armed         --e9 rel32 at P (admitted image)-> optimized   (arch_optimize_kprobes)
//   optimized     --original[0..4] at P------------> free
//   optimized     --cc original[1..4] at P---------> armed       (unoptimize, one write)
//   optimized     --cc at P------------------------> unoptimizing (arch_unoptimize_kprobe,
//   unoptimizing  --original[1..4] at P+1----------> armed        two text_poke calls)
// Anything else at a non-site stays refused (kNotASite).
#include "hal/hal.h"
#include "kci/service.h"
#include "monitor/insn_length.h"

namespace vg::kci {

namespace {

constexpr uint8_t kInt3 = 0xcc;
constexpr uint8_t kJmp32 = 0xe9;
constexpr uint32_t kJmp32Length = 5;

bool same_bytes(const uint8_t* a, const uint8_t* b, uint32_t length) {
  for (uint32_t i = 0; i < length; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

uint32_t covered_length(ProbeState state) {
  return state == ProbeState::kArmed ? 1u : kJmp32Length;
}

}  // namespace

ArmedProbe* Service::find_probe(uint64_t offset) const {
  for (ArmedProbe& probe : store().probes) {
    if (probe.state != ProbeState::kFree && probe.offset == offset) return &probe;
  }
  return nullptr;
}

// Decodes from the function's start to `offset` over the kernel's text as
// the policy knows it: a site is skipped whole (its patterns all have the
// site's length), and bytes a probe overwrote are read as the originals.
bool Service::is_instruction_boundary(const policy::Function& function, uint64_t offset) const {
  const uint64_t end = uint64_t{function.offset} + function.size;
  uint64_t position = function.offset;
  while (position < offset) {
    if (const policy::Site* site = policy_.find_site(static_cast<uint32_t>(position))) {
      position += site->length;
      continue;
    }
    uint8_t window[monitor::kMaxInstructionLength];
    const uint64_t available = end - position < sizeof(window) ? end - position : sizeof(window);
    // SAFETY: position..position+available lies in the function, inside the
    // kernel's text (the caller checked the entry against the live text
    // region); VMPL0 reads guest memory [APM2 15.36.7].
    if (!hal::read_guest(layout_.text_gpa + position, window, available)) return false;
    for (const ArmedProbe& probe : store().probes) {
      if (probe.state == ProbeState::kFree) continue;
      for (uint32_t k = 0; k < covered_length(probe.state); ++k) {
        const uint64_t at = uint64_t{probe.offset} + k;
        if (at >= position && at < position + available) window[at - position] = probe.original[k];
      }
    }
    auto length = monitor::instruction_length(ByteView{window, available});
    if (!length.ok()) return false;
    position += length.value();
  }
  return position == offset;
}

bool Service::kprobe_patch(uint64_t offset, const vg_patch_entry& entry) {
  if ((policy_.header().flags & policy::kFlagKprobesAllowed) == 0) return false;

  // The second half of a two-step unoptimize: the jmp's rel32 tail goes
  // back at P+1 once int3 is at P.
  if (offset > 0 && entry.length == kJmp32Length - 1) {
    ArmedProbe* probe = find_probe(offset - 1);
    if (probe == nullptr || probe->state != ProbeState::kUnoptimizing ||
        !same_bytes(entry.bytes, probe->original + 1, kJmp32Length - 1)) {
      return false;
    }
    probe->state = ProbeState::kArmed;
    return true;
  }

  const policy::Function* function = policy_.find_function(static_cast<uint32_t>(offset));
  if (function == nullptr || (function->flags & policy::kFunctionTrusted) != 0) return false;
  if (offset + entry.length > uint64_t{function->offset} + function->size) return false;

  ArmedProbe* probe = find_probe(offset);
  if (probe == nullptr) {
    // Arming: one int3 at an instruction boundary no probe covers.
    if (entry.length != 1 || entry.bytes[0] != kInt3) return false;
    for (const ArmedProbe& other : store().probes) {
      if (other.state != ProbeState::kFree && offset > other.offset &&
          offset < uint64_t{other.offset} + covered_length(other.state)) {
        return false;
      }
    }
    if (!is_instruction_boundary(*function, offset)) return false;
    ArmedProbe* slot = nullptr;
    for (ArmedProbe& candidate : store().probes) {
      if (candidate.state == ProbeState::kFree) {
        slot = &candidate;
        break;
      }
    }
    if (slot == nullptr) return false;  // table full
    uint8_t original = 0;
    // SAFETY: offset lies in the kernel's live text (checked by the caller).
    if (!hal::read_guest(layout_.text_gpa + offset, &original, 1)) return false;
    slot->offset = static_cast<uint32_t>(offset);
    slot->original[0] = original;
    slot->state = ProbeState::kArmed;
    return true;
  }

  switch (probe->state) {
    case ProbeState::kArmed:
      if (entry.length == 1 && entry.bytes[0] == probe->original[0]) {
        probe->state = ProbeState::kFree;
        return true;
      }
      if (entry.length == kJmp32Length && entry.bytes[0] == kJmp32) {
        // The jmp replaces the 4 bytes after P: no site may start there (a
        // site covering P would have made P no boundary), nor another probe.
        for (uint32_t k = 1; k < kJmp32Length; ++k) {
          if (policy_.find_site(static_cast<uint32_t>(offset + k)) != nullptr ||
              find_probe(offset + k) != nullptr) {
            return false;
          }
        }
        uint32_t raw = 0;
        __builtin_memcpy(&raw, entry.bytes + 1, 4);
        const uint64_t target = entry.address + kJmp32Length +
                                static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw)));
        bool admitted = false;
        for (const ImageSlot& slot : store().images) {
          admitted = admitted || (slot.used && slot.bpf_jit &&
                                  target - slot.text_va < uint64_t{slot.page_count} * kPageSize4K);
        }
        uint8_t tail[kJmp32Length - 1];
        // SAFETY: offset+1..offset+5 lies in the function, in live text.
        if (!admitted || !hal::read_guest(layout_.text_gpa + offset + 1, tail, sizeof(tail))) return false;
        __builtin_memcpy(probe->original + 1, tail, sizeof(tail));
        probe->state = ProbeState::kOptimized;
        return true;
      }
      return false;
    case ProbeState::kOptimized:
      if (entry.length == kJmp32Length && same_bytes(entry.bytes, probe->original, kJmp32Length)) {
        probe->state = ProbeState::kFree;
        return true;
      }
      if (entry.length == kJmp32Length && entry.bytes[0] == kInt3 &&
          same_bytes(entry.bytes + 1, probe->original + 1, kJmp32Length - 1)) {
        probe->state = ProbeState::kArmed;
        return true;
      }
      if (entry.length == 1 && entry.bytes[0] == kInt3) {
        probe->state = ProbeState::kUnoptimizing;
        return true;
      }
      return false;
    case ProbeState::kUnoptimizing:
      if (entry.length == kJmp32Length && same_bytes(entry.bytes, probe->original, kJmp32Length)) {
        probe->state = ProbeState::kFree;
        return true;
      }
      return false;
    case ProbeState::kFree: break;
  }
  return false;
}

}  // namespace vg::kci
