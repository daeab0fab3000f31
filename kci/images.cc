// Executable images admitted after boot: modules (REGISTER_MODULE, hashed
// against the policy's MODULE_HASHES) and BPF JIT images (BPF_JIT_MAP, only
// if the policy allows JIT). Both become read + supervisor-execute for the
// kernel, never writable, until UNREGISTER_MODULE returns them to RW.
#include "hal/hal.h"
#include "kci/guest_copy.h"
#include "kci/service.h"

namespace vg::kci {

namespace {

constexpr uint8_t kImagePerms = policy::kPermRead | policy::kPermSupervisorExec;
constexpr uint8_t kDataPerms = policy::kPermRead | policy::kPermWrite;

void sort_pages(uint64_t* pages, uint32_t count) {
  // Insertion sort: at most 480 entries, no allocation, no recursion.
  for (uint32_t i = 1; i < count; ++i) {
    const uint64_t value = pages[i];
    uint32_t j = i;
    while (j > 0 && pages[j - 1] > value) {
      pages[j] = pages[j - 1];
      --j;
    }
    pages[j] = value;
  }
}

bool sorted_contains(const uint64_t* pages, uint32_t count, uint64_t page) {
  uint32_t low = 0, high = count;
  while (low < high) {
    const uint32_t mid = low + (high - low) / 2;
    if (pages[mid] < page) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low < count && pages[low] == page;
}

// SAFETY (both helpers): every page was checked to be guest memory and to be
// no page KCI protects; RMPADJUST from VMPL0 adjusts the kernel's VMPL only.
bool set_pages(const uint64_t* pages, uint32_t count, uint8_t perms) {
  for (uint32_t i = 0; i < count; ++i) {
    if (hal::rmpadjust(Gpa(pages[i]), hal::PageSize::k4K, {kKernelVmpl, perms, false}) !=
        hal::RmpStatus::kSuccess) {
      return false;
    }
  }
  return true;
}

uint64_t make_handle(uint32_t slot, uint32_t generation) {
  return uint64_t{generation} << 32 | (slot + 1u);
}

}  // namespace

ImageSlot* Service::free_image_slot(uint32_t& index) {
  for (uint32_t i = 0; i < kMaxModules; ++i) {
    if (!store().images[i].used) {
      index = i;
      return &store().images[i];
    }
  }
  return nullptr;
}

const ImageSlot* Service::image_containing(Gpa page) const {
  for (const ImageSlot& slot : store().images) {
    if (slot.used && sorted_contains(slot.pages, slot.page_count, page.raw())) return &slot;
  }
  return nullptr;
}

// Validates a page list into `slot.pages` (sorted). Pages must be aligned,
// guest memory, distinct, and none KCI already protects.
static bool decode_pages(const Service& service, const uint64_t* raw, uint32_t count, ImageSlot& slot,
                         bool (Service::*protected_page)(Gpa) const) {
  for (uint32_t i = 0; i < count; ++i) {
    const Gpa page(raw[i]);
    if (!page.is_aligned(kPageSize4K) || !is_guest_page(page) || (service.*protected_page)(page))
      return false;
    slot.pages[i] = page.raw();
  }
  sort_pages(slot.pages, count);
  for (uint32_t i = 1; i < count; ++i) {
    if (slot.pages[i] == slot.pages[i - 1]) return false;
  }
  slot.page_count = count;
  return true;
}

CallOutcome Service::register_module(uint32_t vcpu, const CallArgs& args) {
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  // Decode: the descriptor (3,920 bytes) is copied once.
  vg_module request{};
  if (!copy_request(Gpa(args.rcx), &request, sizeof(request))) return {VG_RESULT_INVALID_ADDRESS};
  bool terminated = false;
  for (char c : request.name) terminated = terminated || c == '\0';
  const uint64_t expected_pages = (request.text_size + kPageSize4K - 1) / kPageSize4K;
  if (!terminated || request.reserved != 0 || (request.text_va & (kPageSize4K - 1)) != 0 ||
      request.text_size == 0 || request.text_size > uint64_t{VG_MODULE_MAX_PAGES} * kPageSize4K ||
      request.page_count != expected_pages) {
    emit(VG_KIND_REQUEST_MALFORMED, VG_VERDICT_DENIED, vcpu, 0, request.text_va, args.rcx, ~0u,
         VG_CALL_REGISTER_MODULE, 0);
    return {VG_RESULT_INVALID_PARAMETER};
  }
  uint32_t slot_index = 0;
  ImageSlot* slot = free_image_slot(slot_index);
  if (slot == nullptr) return {VG_RESULT_BUSY};
  if (!decode_pages(*this, request.page_gpa, request.page_count, *slot, &Service::is_protected_page)) {
    emit(VG_KIND_MODULE_DENIED, VG_VERDICT_DENIED, vcpu, 0, request.text_va, 0, ~0u,
         static_cast<uint32_t>(DenyReason::kBadPageList), 0);
    return {VG_RESULT_INVALID_ADDRESS};
  }
  const uint32_t flags = policy_.header().flags;
  if ((flags & policy::kFlagModulesAllowed) == 0) {
    emit(VG_KIND_MODULE_DENIED, VG_VERDICT_DENIED, vcpu, 0, request.text_va, slot->pages[0], ~0u,
         static_cast<uint32_t>(DenyReason::kModulesForbidden), 0);
    return {VG_RESULT_DENIED};
  }

  // The text must not change between hashing and admission: take write away
  // first, hash what the kernel can no longer modify, then decide. A refused
  // module's pages go back to read-write, the state they were in.
  if (!set_pages(slot->pages, slot->page_count, policy::kPermRead)) {
    (void)set_pages(slot->pages, slot->page_count, kDataPerms);
    return {VG_RESULT_INVALID_ADDRESS};
  }
  Sha256 hasher;
  uint8_t chunk[512];
  uint64_t remaining = request.text_size;
  for (uint32_t i = 0; i < request.page_count; ++i) {
    const Gpa page(request.page_gpa[i]);  // in the module's order, not sorted
    for (uint64_t done = 0; done < kPageSize4K && remaining > 0;) {
      const uint64_t n = remaining < sizeof(chunk) ? remaining : sizeof(chunk);
      // SAFETY: the page is guest memory (decode_pages) and now read-only
      // for the kernel; the chunk is monitor memory.
      (void)hal::read_guest(page + done, chunk, n);
      hasher.update(chunk, n);
      done += n;
      remaining -= n;
    }
  }
  const Sha256Digest digest = hasher.finish();
  uint64_t digest_prefix = 0;
  __builtin_memcpy(&digest_prefix, digest.bytes, sizeof(digest_prefix));
  const policy::ModuleHash* allowed = policy_.find_module_hash(digest.bytes);
  if (allowed == nullptr && (flags & policy::kFlagModulesUnrestricted) == 0) {
    (void)set_pages(slot->pages, slot->page_count, kDataPerms);
    emit(VG_KIND_MODULE_DENIED, VG_VERDICT_DENIED, vcpu, 0, request.text_va, slot->pages[0], ~0u,
         static_cast<uint32_t>(DenyReason::kHashNotAllowed), digest_prefix);
    return {VG_RESULT_DENIED};
  }

  // Commit.
  if (!set_pages(slot->pages, slot->page_count, kImagePerms)) {
    (void)set_pages(slot->pages, slot->page_count, kDataPerms);
    return {VG_RESULT_INVALID_ADDRESS};
  }
  slot->used = true;
  slot->bpf_jit = false;
  slot->generation += 1;
  slot->text_va = request.text_va;
  slot->module_hash_index =
      allowed != nullptr ? static_cast<int32_t>(allowed - policy_.module_hashes().data) : -1;
  const uint64_t handle = make_handle(slot_index, slot->generation);
  emit(VG_KIND_MODULE_LOADED, VG_VERDICT_ALLOWED, vcpu, 0, request.text_va, slot->pages[0],
       allowed != nullptr ? allowed->name : ~0u, request.page_count, digest_prefix);
  return {VG_RESULT_SUCCESS, handle, 0};
}

CallOutcome Service::bpf_jit_map(uint32_t vcpu, const CallArgs& args) {
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  vg_bpf_jit request{};
  if (!copy_request(Gpa(args.rcx), &request, sizeof(request))) return {VG_RESULT_INVALID_ADDRESS};
  if ((policy_.header().flags & policy::kFlagBpfJitAllowed) == 0) {
    emit(VG_KIND_EXEC_VIOLATION, VG_VERDICT_DENIED, vcpu, 0, request.image_va, request.image_gpa, ~0u,
         static_cast<uint32_t>(DenyReason::kBpfJitForbidden), 0);
    return {VG_RESULT_DENIED};
  }
  if (request.reserved != 0 || request.pages == 0 || request.pages > kMaxBpfJitPages ||
      (request.image_va & (kPageSize4K - 1)) != 0 || (request.image_gpa & (kPageSize4K - 1)) != 0 ||
      request.image_gpa > UINT64_MAX - uint64_t{request.pages} * kPageSize4K) {
    emit(VG_KIND_REQUEST_MALFORMED, VG_VERDICT_DENIED, vcpu, 0, request.image_va, request.image_gpa, ~0u,
         VG_CALL_BPF_JIT_MAP, 0);
    return {VG_RESULT_INVALID_PARAMETER};
  }
  uint32_t slot_index = 0;
  ImageSlot* slot = free_image_slot(slot_index);
  if (slot == nullptr) return {VG_RESULT_BUSY};
  uint64_t raw[kMaxBpfJitPages];
  for (uint32_t i = 0; i < request.pages; ++i) raw[i] = request.image_gpa + uint64_t{i} * kPageSize4K;
  if (!decode_pages(*this, raw, request.pages, *slot, &Service::is_protected_page)) {
    emit(VG_KIND_EXEC_VIOLATION, VG_VERDICT_DENIED, vcpu, 0, request.image_va, request.image_gpa, ~0u,
         static_cast<uint32_t>(DenyReason::kBadPageList), 0);
    return {VG_RESULT_INVALID_ADDRESS};
  }
  if (!set_pages(slot->pages, slot->page_count, kImagePerms)) {
    (void)set_pages(slot->pages, slot->page_count, kDataPerms);
    return {VG_RESULT_INVALID_ADDRESS};
  }
  slot->used = true;
  slot->bpf_jit = true;
  slot->generation += 1;
  slot->text_va = request.image_va;
  slot->module_hash_index = -1;
  return {VG_RESULT_SUCCESS, make_handle(slot_index, slot->generation), 0};
}

const policy::Site* Service::ftrace_site_entering(const ImageSlot& image, uint64_t& target) const {
  // Only admitted out-of-line code can be entered from an ftrace site
  // (calls_admitted_out_of_line_code); module text never.
  if (!image.bpf_jit) return nullptr;
  const uint64_t size = uint64_t{image.page_count} * kPageSize4K;
  for (const policy::Site& site : policy_.sites()) {
    if ((site.kinds & policy::kSiteFtrace) == 0 || site.length < 5) continue;
    if (uint64_t{site.offset} + 5 > layout_.size) continue;
    uint8_t bytes[5];
    // SAFETY: the 5 bytes lie in the registered kernel image (checked just
    // above against its size); VMPL0 reads guest memory [APM2 15.36.7].
    if (!hal::read_guest(layout_.text_gpa + site.offset, bytes, sizeof(bytes))) continue;
    if (bytes[0] != 0xe8 && bytes[0] != 0xe9) continue;
    uint32_t raw = 0;
    __builtin_memcpy(&raw, bytes + 1, 4);
    const uint64_t entered = layout_.text_va + site.offset + 5 +
                             static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw)));
    if (entered - image.text_va >= size || covered_by_another_image(image, entered)) continue;
    target = entered;
    return &site;
  }
  return nullptr;
}

// Admitted out-of-line code may share pages: BPF trampolines and programs
// are carved out of one pack, each announced on its own. A call stays safe
// while some other admitted image still covers its target.
bool Service::covered_by_another_image(const ImageSlot& image, uint64_t va) const {
  for (const ImageSlot& other : store().images) {
    if (&other == &image || !other.used || !other.bpf_jit) continue;
    if (va - other.text_va < uint64_t{other.page_count} * kPageSize4K) return true;
  }
  return false;
}

CallOutcome Service::unregister_image(uint32_t vcpu, const CallArgs& args) {
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  const uint64_t index = (args.rcx & 0xffffffffu);
  const uint32_t generation = static_cast<uint32_t>(args.rcx >> 32);
  if (index == 0 || index > kMaxModules) return {VG_RESULT_INVALID_PARAMETER};
  ImageSlot& slot = store().images[index - 1];
  if (!slot.used || slot.generation != generation) return {VG_RESULT_INVALID_PARAMETER};
  // An optimized kprobe's jmp into the image would outlive it: the freed
  // pages can be admitted again as other code (BPF_JIT_MAP), and the jmp
  // would then enter that code wherever its rel32 points, mid-instruction as
  // likely as not. The kernel unoptimizes a probe before its instruction
  // slot is freed and frees the page only when no slot is in use
  // (kernel/kprobes.c); a probe still optimized here is a bug or an attack.
  if (const ArmedProbe* probe = probe_jumping_into(slot)) {
    emit(VG_KIND_MODULE_DENIED, VG_VERDICT_DENIED, vcpu, 0, slot.text_va, slot.pages[0], probe->offset,
         static_cast<uint32_t>(DenyReason::kImageInUse), probe->jmp_target);
    return {VG_RESULT_DENIED};
  }
  // The same for an ftrace site still calling into the image (an ftrace ops
  // or BPF trampoline): the kernel patches its sites back before it frees a
  // trampoline (ftrace_shutdown, unregister_fentry), so a site still
  // pointing there is a bug or an attack waiting for the pages' next use.
  uint64_t target = 0;
  if (const policy::Site* site = ftrace_site_entering(slot, target)) {
    emit(VG_KIND_MODULE_DENIED, VG_VERDICT_DENIED, vcpu, 0, slot.text_va, slot.pages[0], site->offset,
         static_cast<uint32_t>(DenyReason::kImageInUse), target);
    return {VG_RESULT_DENIED};
  }
  // Executable text becomes plain data again: readable and writable for the
  // kernel (which frees it), never executable.
  if (!set_pages(slot.pages, slot.page_count, kDataPerms)) return {VG_RESULT_INVALID_ADDRESS};
  slot.used = false;
  return {VG_RESULT_SUCCESS};
}

}  // namespace vg::kci
