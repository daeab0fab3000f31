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
// Anything else at a non-site stays refused (kNotASite), except an optimize
// that Linux itself would not do (check_optimizable: its own reasons).
//
// What "optimizable" means is Linux's rule, not "P+5 is an instruction
// boundary": the kernel copies whole instructions from P until they cover
// the jmp's 5 bytes, runs the copies in the detour and jumps back to the end
// of the last one (copy_optimized_instructions(), can_optimize() in
// arch/x86/kernel/kprobes/opt.c). The last copied instruction may straddle
// P+5: the real trace's probe at do_sys_openat2+0x10 is `push rbx` (1),
// `mov rbx, rdx` (3), then `sub rsp, 0x28` (4) across P+5. Its tail is never
// executed again; what must hold is that those instructions lie in the
// function, contain no site or other probe, and that no jump of the
// function lands inside them (it would execute the jmp's rel32 as code).
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

bool jmp_in_place(ProbeState state) {
  return state == ProbeState::kOptimized || state == ProbeState::kUnoptimizing;
}

bool is_prefix(uint8_t byte) {
  switch (byte) {
    case 0x26:
    case 0x2e:
    case 0x36:
    case 0x3e:
    case 0x64:
    case 0x65:
    case 0x66:
    case 0x67:
    case 0xf0:
    case 0xf2:
    case 0xf3: return true;
    default: return (byte & 0xf0) == 0x40;  // REX [APM3 1.2.7]
  }
}

// The target of a direct relative jump or call (jmp, jcc, loop, jcxz, as
// Linux's insn_jump_into_range() checks, and call), else false. None of
// these opcodes has a ModRM byte, so every byte after the opcode is the
// displacement, relative to the next instruction [APM3 A.1, A.2].
bool relative_branch_target(const uint8_t* insn, uint8_t length, uint64_t address, uint64_t& target) {
  uint8_t opcode = 0;
  while (opcode < length && is_prefix(insn[opcode])) ++opcode;
  if (opcode >= length) return false;
  const uint8_t byte = insn[opcode];
  uint8_t displacement_at = 0;
  if (byte == 0xe8 || byte == 0xe9 || byte == 0xeb || (byte & 0xf0) == 0x70 ||
      (byte >= 0xe0 && byte <= 0xe3)) {
    displacement_at = static_cast<uint8_t>(opcode + 1);
  } else if (byte == 0x0f && opcode + 1 < length && (insn[opcode + 1] & 0xf0) == 0x80) {
    displacement_at = static_cast<uint8_t>(opcode + 2);
  } else {
    return false;
  }
  int64_t displacement = 0;
  switch (length - displacement_at) {
    case 1: displacement = static_cast<int8_t>(insn[displacement_at]); break;
    case 2: {
      int16_t raw = 0;
      __builtin_memcpy(&raw, insn + displacement_at, sizeof(raw));
      displacement = raw;
      break;
    }
    case 4: {
      int32_t raw = 0;
      __builtin_memcpy(&raw, insn + displacement_at, sizeof(raw));
      displacement = raw;
      break;
    }
    default: return false;
  }
  target = address + length + static_cast<uint64_t>(displacement);
  return true;
}

}  // namespace

ArmedProbe* Service::find_probe(uint64_t offset) const {
  for (ArmedProbe& probe : store().probes) {
    if (probe.state != ProbeState::kFree && probe.offset == offset) return &probe;
  }
  return nullptr;
}

const ArmedProbe* Service::probe_jumping_into(const ImageSlot& image) const {
  const uint64_t size = uint64_t{image.page_count} * kPageSize4K;
  for (const ArmedProbe& probe : store().probes) {
    if (jmp_in_place(probe.state) && probe.jmp_target - image.text_va < size) return &probe;
  }
  return nullptr;
}

// Reads the instruction at `position` (an offset from _text, below `end`)
// as the kernel's original text: bytes a probe overwrote read as what it
// overwrote. False if it does not decode within `end`.
bool Service::decode_original(uint64_t position, uint64_t end,
                              uint8_t (&window)[monitor::kMaxInstructionLength], uint8_t& length) const {
  if (position >= end) return false;
  const uint64_t available = end - position < sizeof(window) ? end - position : sizeof(window);
  // SAFETY: position..end lies in one function, inside the kernel's text
  // (the caller checked the entry against the live text region); VMPL0
  // reads guest memory [APM2 15.36.7].
  if (!hal::read_guest(layout_.text_gpa + position, window, available)) return false;
  for (const ArmedProbe& probe : store().probes) {
    if (probe.state == ProbeState::kFree) continue;
    for (uint32_t k = 0; k < covered_length(probe.state); ++k) {
      const uint64_t at = uint64_t{probe.offset} + k;
      if (at >= position && at < position + available) window[at - position] = probe.original[k];
    }
  }
  auto decoded = monitor::instruction_length(ByteView{window, available});
  if (!decoded.ok()) return false;
  length = decoded.value();
  return true;
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
    uint8_t length = 0;
    if (!decode_original(position, end, window, length)) return false;
    position += length;
  }
  return position == offset;
}

// Linux's conditions for optimizing the armed probe at `offset` (see the top
// of this file), checked on the original text. The kernel would not have
// asked otherwise; a request that fails them is not a kprobe step.
Result<void, DenyReason> Service::check_optimizable(const policy::Function& function, uint64_t offset) const {
  const uint64_t function_end = uint64_t{function.offset} + function.size;
  uint8_t window[monitor::kMaxInstructionLength];
  uint8_t length = 0;

  // The region the detour runs copies of: whole instructions from P until
  // they cover the jmp. decode_original stops at the function's end, so an
  // instruction running past it does not decode. A site or another probe in
  // the region would be overwritten by the jmp or copied stale
  // (copy_optimized_instructions() refuses reserved text likewise).
  uint64_t region_end = offset;
  while (region_end < offset + kJmp32Length) {
    if (region_end != offset && (policy_.find_site(static_cast<uint32_t>(region_end)) != nullptr ||
                                 find_probe(region_end) != nullptr)) {
      return Err{DenyReason::kKprobeNotWholeInstructions};
    }
    if (!decode_original(region_end, function_end, window, length))
      return Err{DenyReason::kKprobeNotWholeInstructions};
    region_end += length;
  }

  // No direct jump or call of the function may land inside the region: it
  // would run the jmp's rel32 (chosen by whoever asked) or a copied
  // instruction's tail as code (can_optimize() decodes the whole function
  // for the same reason). Sites are stepped over: their patterns are the
  // policy's. A function that does not decode to its end cannot be checked.
  uint64_t position = function.offset;
  while (position < function_end) {
    if (const policy::Site* site = policy_.find_site(static_cast<uint32_t>(position))) {
      position += site->length;
      continue;
    }
    if (!decode_original(position, function_end, window, length))
      return Err{DenyReason::kKprobeNotWholeInstructions};
    uint64_t target = 0;
    if (relative_branch_target(window, length, position, target) && target > offset && target < region_end)
      return Err{DenyReason::kKprobeJumpedInto};
    position += length;
  }
  return Ok{};
}

Result<void, DenyReason> Service::kprobe_patch(uint64_t offset, const vg_patch_entry& entry) {
  // A patch at a non-site that is no kprobe step is refused as any such
  // patch is without the flag.
  const Err not_a_step{DenyReason::kNotASite};
  if ((policy_.header().flags & policy::kFlagKprobesAllowed) == 0) return not_a_step;

  // The second half of a two-step unoptimize: the jmp's rel32 tail goes
  // back at P+1 once int3 is at P.
  if (offset > 0 && entry.length == kJmp32Length - 1) {
    ArmedProbe* probe = find_probe(offset - 1);
    if (probe == nullptr || probe->state != ProbeState::kUnoptimizing ||
        !same_bytes(entry.bytes, probe->original + 1, kJmp32Length - 1)) {
      return not_a_step;
    }
    probe->state = ProbeState::kArmed;
    return Ok{};
  }

  const policy::Function* function = policy_.find_function(static_cast<uint32_t>(offset));
  if (function == nullptr || (function->flags & policy::kFunctionTrusted) != 0) return not_a_step;
  // No check of the entry's end against the function's here: an arm is one
  // byte, the optimize has its region checked whole (check_optimizable),
  // and every later step puts back bytes that optimize checked.

  ArmedProbe* probe = find_probe(offset);
  if (probe == nullptr) {
    // Arming: one int3 at an instruction boundary no probe covers.
    if (entry.length != 1 || entry.bytes[0] != kInt3) return not_a_step;
    for (const ArmedProbe& other : store().probes) {
      if (other.state != ProbeState::kFree && offset > other.offset &&
          offset < uint64_t{other.offset} + covered_length(other.state)) {
        return not_a_step;
      }
    }
    if (!is_instruction_boundary(*function, offset)) return not_a_step;
    ArmedProbe* slot = nullptr;
    for (ArmedProbe& candidate : store().probes) {
      if (candidate.state == ProbeState::kFree) {
        slot = &candidate;
        break;
      }
    }
    if (slot == nullptr) return not_a_step;  // table full
    uint8_t original = 0;
    // SAFETY: offset lies in the kernel's live text (checked by the caller).
    if (!hal::read_guest(layout_.text_gpa + offset, &original, 1)) return not_a_step;
    slot->offset = static_cast<uint32_t>(offset);
    slot->original[0] = original;
    slot->jmp_target = 0;
    slot->state = ProbeState::kArmed;
    return Ok{};
  }

  switch (probe->state) {
    case ProbeState::kArmed:
      if (entry.length == 1 && entry.bytes[0] == probe->original[0]) {
        probe->state = ProbeState::kFree;
        return Ok{};
      }
      if (entry.length == kJmp32Length && entry.bytes[0] == kJmp32) {
        uint32_t raw = 0;
        __builtin_memcpy(&raw, entry.bytes + 1, 4);
        const uint64_t target = entry.address + kJmp32Length +
                                static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw)));
        bool admitted = false;
        for (const ImageSlot& slot : store().images) {
          admitted = admitted || (slot.used && slot.bpf_jit &&
                                  target - slot.text_va < uint64_t{slot.page_count} * kPageSize4K);
        }
        if (!admitted) return not_a_step;
        VG_TRY_VOID(check_optimizable(*function, offset));
        uint8_t tail[kJmp32Length - 1];
        // SAFETY: offset+1..offset+5 lies in the function (check_optimizable),
        // in live text.
        if (!hal::read_guest(layout_.text_gpa + offset + 1, tail, sizeof(tail))) return not_a_step;
        __builtin_memcpy(probe->original + 1, tail, sizeof(tail));
        probe->jmp_target = target;
        probe->state = ProbeState::kOptimized;
        return Ok{};
      }
      return not_a_step;
    case ProbeState::kOptimized:
      if (entry.length == kJmp32Length && same_bytes(entry.bytes, probe->original, kJmp32Length)) {
        probe->state = ProbeState::kFree;
        return Ok{};
      }
      if (entry.length == kJmp32Length && entry.bytes[0] == kInt3 &&
          same_bytes(entry.bytes + 1, probe->original + 1, kJmp32Length - 1)) {
        probe->state = ProbeState::kArmed;
        return Ok{};
      }
      if (entry.length == 1 && entry.bytes[0] == kInt3) {
        probe->state = ProbeState::kUnoptimizing;
        return Ok{};
      }
      return not_a_step;
    case ProbeState::kUnoptimizing:
      if (entry.length == kJmp32Length && same_bytes(entry.bytes, probe->original, kJmp32Length)) {
        probe->state = ProbeState::kFree;
        return Ok{};
      }
      return not_a_step;
    case ProbeState::kFree: break;
  }
  return not_a_step;
}

}  // namespace vg::kci
