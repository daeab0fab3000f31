// TEXT_PATCH: one monitor round trip per batch of text patches.
//
// Decode copies the guest's batch page into monitor memory and checks every
// entry against the policy (a site after the KASLR slide, a length and bytes
// one of the site's patterns). Commit writes all entries as VMPL0 and cannot
// fail. A single bad entry refuses the whole batch: the kernel's
// text_poke_bp_batch() expects all of its entries to land or none.
#include <stddef.h>

#include "hal/hal.h"
#include "kci/guest_copy.h"
#include "kci/service.h"

namespace vg::kci {

namespace {

struct Denial {
  DenyReason reason = DenyReason::kNone;
  uint32_t index = 0;
};

// The fixed part of vg_patch_batch. The ABI struct ends in a flexible array
// member (C99), which ISO C++ cannot declare as a local; the layouts are
// checked to be the same.
struct BatchHeader {
  uint32_t magic;
  uint16_t count;
  uint16_t reserved;
  uint64_t sequence;
};
static_assert(sizeof(BatchHeader) == sizeof(vg_patch_batch));
static_assert(offsetof(BatchHeader, count) == offsetof(vg_patch_batch, count));
static_assert(offsetof(BatchHeader, sequence) == offsetof(vg_patch_batch, sequence));

// Entries of one batch may not overlap: each is checked against the text as
// it is, and a later entry must not change what an earlier one was checked on.
bool overlaps_earlier(const vg_patch_entry* entries, uint32_t index) {
  const vg_patch_entry& entry = entries[index];
  for (uint32_t j = 0; j < index; ++j) {
    const uint64_t other = entries[j].address;
    if (entry.address < other + entries[j].length && other < entry.address + entry.length) return true;
  }
  return false;
}

bool all_zero(const uint8_t* bytes, size_t length) {
  uint8_t any = 0;
  for (size_t i = 0; i < length; ++i) any = static_cast<uint8_t>(any | bytes[i]);
  return any == 0;
}

// An ftrace site may call (or jump to) out-of-line code the monitor
// admitted with BPF_JIT_MAP: ftrace ops trampolines and BPF trampolines are
// allocated at run time outside the image, so no policy pattern can name
// them. Only with kFlagBpfJitAllowed (without it no such code exists), only
// 5-byte e8/e9 rel32 at ftrace sites (where fentry attaches), only into an
// admitted JIT image.
bool calls_admitted_out_of_line_code(const policy::PolicyView& policy, const ImageSlot* images,
                                     uint32_t count, const policy::Site& site, uint64_t site_va,
                                     const vg_patch_entry& entry) {
  if ((policy.header().flags & policy::kFlagBpfJitAllowed) == 0) return false;
  if ((site.kinds & policy::kSiteFtrace) == 0 || entry.length != 5) return false;
  if (entry.bytes[0] != 0xe8 && entry.bytes[0] != 0xe9) return false;
  uint32_t raw = 0;
  __builtin_memcpy(&raw, entry.bytes + 1, 4);
  const uint64_t target =
      site_va + 5 + static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw)));
  for (uint32_t i = 0; i < count; ++i) {
    const ImageSlot& slot = images[i];
    if (slot.used && slot.bpf_jit && target - slot.text_va < uint64_t{slot.page_count} * kPageSize4K)
      return true;
  }
  return false;
}

// Out-of-line code the monitor admitted with BPF_JIT_MAP (BPF programs, BPF
// and ftrace trampolines, kprobe instruction pages) is the kernel's own
// run-time code generation: the policy that allows it (kFlagBpfJitAllowed)
// trusts its content, as admission does. The kernel still cannot write it
// (R+X only); it asks the monitor, entry by entry, like core text. Returns
// the GPA of the entry's first byte, or 0 when the entry is not wholly inside
// one admitted image (its pages are contiguous: BPF_JIT_MAP takes a range).
uint64_t admitted_out_of_line_gpa(const policy::PolicyView& policy, const ImageSlot* images, uint32_t count,
                                  const vg_patch_entry& entry) {
  if ((policy.header().flags & policy::kFlagBpfJitAllowed) == 0) return 0;
  for (uint32_t i = 0; i < count; ++i) {
    const ImageSlot& slot = images[i];
    const uint64_t size = uint64_t{slot.page_count} * kPageSize4K;
    const uint64_t offset = entry.address - slot.text_va;
    if (slot.used && slot.bpf_jit && offset < size && entry.length <= size - offset)
      return slot.pages[0] + offset;
  }
  return 0;
}

}  // namespace

CallOutcome Service::text_patch(uint32_t vcpu, const CallArgs& args) {
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  const Gpa page(args.rcx);
  if (!page.is_aligned(kPageSize4K)) return {VG_RESULT_INVALID_ADDRESS};

  // Decode. The batch is copied once; every later look is at the copy, so a
  // vCPU rewriting the page now changes nothing KCI validates or writes.
  alignas(8) uint8_t copy[kPageSize4K];
  if (!copy_request(page, copy, sizeof(copy))) return {VG_RESULT_INVALID_ADDRESS};
  BatchHeader header{};
  __builtin_memcpy(&header, copy, sizeof(header));
  if (header.magic != VG_PATCH_MAGIC || header.count == 0 || header.count > VG_PATCH_MAX_ENTRIES ||
      header.reserved != 0) {
    emit(VG_KIND_REQUEST_MALFORMED, VG_VERDICT_DENIED, vcpu, 0, 0, page.raw(), ~0u, VG_CALL_TEXT_PATCH,
         header.sequence);
    return {VG_RESULT_INVALID_FORMAT};
  }
  // SAFETY: count <= VG_PATCH_MAX_ENTRIES, so every entry lies inside `copy`
  // (16 + 127 * 32 = 4080 bytes); vg_patch_entry needs 8-byte alignment,
  // which `copy` and the 16-byte header give.
  const auto* entries = reinterpret_cast<const vg_patch_entry*>(copy + sizeof(vg_patch_batch));
  // Where each validated entry goes: its GPA.
  uint64_t targets[VG_PATCH_MAX_ENTRIES];

  Denial denial;
  for (uint32_t i = 0; i < header.count && denial.reason == DenyReason::kNone; ++i) {
    const vg_patch_entry& entry = entries[i];
    denial.index = i;
    if (entry.length == 0 || entry.length > VG_PATCH_MAX_BYTES ||
        !all_zero(entry.reserved, sizeof(entry.reserved))) {
      denial.reason = DenyReason::kBadEntry;
      break;
    }
    // Unsigned arithmetic: an address below _text wraps to a huge offset
    // and fails the range check like any other outside address.
    const uint64_t offset = entry.address - layout_.text_va;
    const bool in_kernel = offset < layout_.size && entry.length <= layout_.size - offset;
    if (!in_kernel) {
      const uint64_t gpa = admitted_out_of_line_gpa(policy_, store().images, kMaxModules, entry);
      if (gpa == 0) {
        denial.reason = DenyReason::kOutsideText;
        break;
      }
      if (overlaps_earlier(entries, i)) {
        denial.reason = DenyReason::kOverlap;
        break;
      }
      targets[i] = gpa;
      continue;
    }
    const policy::Region* region = policy_.find_region(offset);
    const auto kind =
        region != nullptr ? static_cast<policy::RegionKind>(region->kind) : policy::RegionKind{};
    const bool live_text =
        kind == policy::RegionKind::kText || (kind == policy::RegionKind::kInitText && !init_freed_);
    if (!live_text || offset + entry.length > region->start + region->size) {
      denial.reason = DenyReason::kOutsideText;
      break;
    }
    const policy::Site* site = policy_.find_site(static_cast<uint32_t>(offset));
    if (site == nullptr) {
      // kprobes.cc: only a batch of one, so that the probe table it updates
      // now is never left ahead of a batch a later entry refuses.
      if (header.count != 1) {
        denial.reason = DenyReason::kNotASite;
        break;
      }
      const Result<void, DenyReason> step = kprobe_patch(offset, entry);
      if (!step.ok()) {
        denial.reason = step.error();
        break;
      }
      targets[i] = (layout_.text_gpa + offset).raw();
      continue;
    }
    if (entry.length > site->length) {
      denial.reason = DenyReason::kLengthMismatch;
      break;
    }
    if (!policy::site_allows(policy_, *site, entry.bytes, entry.length) &&
        !calls_admitted_out_of_line_code(policy_, store().images, kMaxModules, *site, entry.address, entry)) {
      denial.reason = DenyReason::kBytesNotAllowed;
      break;
    }
    if (overlaps_earlier(entries, i)) {
      denial.reason = DenyReason::kOverlap;
      break;
    }
    targets[i] = (layout_.text_gpa + offset).raw();
  }

  if (denial.reason != DenyReason::kNone) {
    const vg_patch_entry& entry = entries[denial.index];
    const uint64_t offset = entry.address - layout_.text_va;
    const bool inside = offset < layout_.size;
    emit(VG_KIND_PATCH_DENIED, VG_VERDICT_DENIED, vcpu, 0, entry.address,
         inside ? (layout_.text_gpa + offset).raw() : 0, inside ? static_cast<uint32_t>(offset) : ~0u,
         static_cast<uint32_t>(denial.reason) | denial.index << 16, header.sequence);
    return {VG_RESULT_DENIED};
  }

  // Commit. Each entry's tail goes first and its first byte last, so a vCPU
  // racing through the site sees either the old first byte (and the old or
  // new tail of an instruction the kernel quiesced, as text_poke_bp does) or
  // the complete new instruction.
  for (uint32_t i = 0; i < header.count; ++i) {
    const vg_patch_entry& entry = entries[i];
    const Gpa target(targets[i]);
    // SAFETY: target..target+length lies in the kernel's text or in an
    // admitted out-of-line image (validated above), both guest memory;
    // VMPL0 may write it whatever the kernel's permissions are [APM2 15.36.7].
    if (entry.length > 1) (void)hal::write_guest(target + 1, entry.bytes + 1, entry.length - 1u);
    (void)hal::write_guest(target, entry.bytes, 1);
  }
  // The record's policy offset is the first entry's text offset (~0u for
  // out-of-line code, which has none).
  const uint64_t first_offset = entries[0].address - layout_.text_va;
  emit(VG_KIND_PATCH_APPLIED, VG_VERDICT_ALLOWED, vcpu, 0, entries[0].address, targets[0],
       first_offset < layout_.size ? static_cast<uint32_t>(first_offset) : ~0u, header.count,
       header.sequence);
  return {VG_RESULT_SUCCESS};
}

}  // namespace vg::kci
