// REGISTER_KERNEL, LOCK_RO_AFTER_INIT and FREE_INIT: the kernel tells KCI
// where it is and when its boot phases end; KCI trusts none of it beyond what
// the policy confirms, and each call takes effect once, permanently.
#include "hal/hal.h"
#include "kci/guest_copy.h"
#include "kci/page_math.h"
#include "kci/service.h"

namespace vg::kci {

using policy::RegionKind;

namespace {

bool writable_region(RegionKind kind) {
  return kind == RegionKind::kData || kind == RegionKind::kBss || kind == RegionKind::kInitData;
}

}  // namespace

CallOutcome Service::register_kernel(uint32_t vcpu, const CallArgs& args) {
  if (!loaded_) return {VG_RESULT_INVALID_REQUEST};
  if (registered_) return {VG_RESULT_ALREADY_DONE};

  // Decode: one private copy, then every check.
  vg_register_kernel request{};
  if (!copy_request(Gpa(args.rcx), &request, sizeof(request))) return {VG_RESULT_INVALID_ADDRESS};
  if (request.abi_version != VG_ABI_VERSION || request.flags != 0) return {VG_RESULT_INVALID_PARAMETER};

  const policy::FileHeader& header = policy_.header();
  if (request.build_id_size != header.build_id_size ||
      __builtin_memcmp(request.build_id, header.build_id, header.build_id_size) != 0) {
    emit(VG_KIND_POLICY_REFUSED, VG_VERDICT_DENIED, vcpu, 0, request.text_va, request.text_gpa, ~0u, 0,
         header.serial);
    return {VG_RESULT_POLICY_MISMATCH};
  }
  // Page alignment of _text (VA and GPA) keeps the policy's page boundaries
  // on real page boundaries; the kernel is linked and loaded 2 MiB aligned.
  if ((request.text_va & (kPageSize4K - 1)) != 0 || (request.text_gpa & (kPageSize4K - 1)) != 0) {
    return {VG_RESULT_INVALID_PARAMETER};
  }
  const auto regions = policy_.regions();
  const policy::Region& last = regions[regions.count - 1];
  const uint64_t image_end = last.start + last.size;
  // Every region must map inside the kernel the guest describes.
  if (request.kernel_size < image_end || request.kernel_size > kMaxKernelBytes)
    return {VG_RESULT_INVALID_PARAMETER};
  const uint64_t size = page_ceil(request.kernel_size);
  if (request.text_gpa > UINT64_MAX - size) return {VG_RESULT_INVALID_ADDRESS};
  // Guest memory is contiguous for the kernel image (the boot loader places
  // it so): its first and last pages must both be guest memory.
  if (!is_guest_page(Gpa(request.text_gpa)) || !is_guest_page(Gpa(request.text_gpa + size - kPageSize4K))) {
    return {VG_RESULT_INVALID_ADDRESS};
  }
  if (ring_pages_ != 0) {
    const uint64_t ring_start = ring_first_.raw();
    const uint64_t ring_end = ring_start + uint64_t{ring_pages_} * kPageSize4K;
    if (request.text_gpa < ring_end && ring_start < request.text_gpa + size)
      return {VG_RESULT_INVALID_ADDRESS};
  }

  // Commit.
  layout_.text_va = request.text_va;
  layout_.text_gpa = Gpa(request.text_gpa);
  layout_.size = size;
  layout_.slide = request.text_va - header.link_text_va;
  registered_ = true;
  if (!apply_kernel_pages(0, size)) {
    // The RMP refused a page of an image the boot protocol promised as
    // validated 4K pages; the kernel is not in a state KCI can protect.
    emit(VG_KIND_REQUEST_MALFORMED, VG_VERDICT_STOPPED, vcpu, 0, request.text_va, request.text_gpa, ~0u,
         static_cast<uint32_t>(DenyReason::kRmpFailed), 0);
    return {VG_RESULT_INVALID_ADDRESS};
  }
  baseline_watched();
  return {VG_RESULT_SUCCESS};
}

// Watched ranges: every kWatched object, and the bytes of locked or mediated
// objects in writable regions that share a page with other data (those pages
// stay writable, so KCI detects instead of preventing; docs/kci.md).
void Service::baseline_watched() {
  watched_count_ = 0;
  const auto objects = policy_.objects();
  auto add = [this](uint32_t index, uint64_t offset, uint64_t size) {
    if (size == 0) return;
    WatchedRange& range = store().watched[watched_count_++];
    range.object_index = index;
    range.offset = static_cast<uint32_t>(offset);
    range.size = static_cast<uint32_t>(size);
    // SAFETY: check_policy_safe proved every object inside the image, and
    // registration proved the image is guest memory.
    Sha256 hasher;
    uint8_t chunk[256];
    for (uint64_t done = 0; done < size;) {
      const uint64_t n = size - done < sizeof(chunk) ? size - done : sizeof(chunk);
      (void)hal::read_guest(layout_.text_gpa + (offset + done), chunk, n);
      hasher.update(chunk, n);
      done += n;
    }
    range.baseline = hasher.finish();
  };
  for (uint32_t i = 0; i < objects.count; ++i) {
    const policy::CriticalObject& object = objects[i];
    const auto protection = static_cast<policy::Protection>(object.protection);
    const uint64_t start = object.offset;
    const uint64_t end = start + object.size;
    if (protection == policy::Protection::kWatched) {
      add(i, start, object.size);
      continue;
    }
    if (!writable_region(static_cast<RegionKind>(object.region))) continue;
    const uint64_t full_start = page_ceil(start);
    const uint64_t full_end = page_floor(end);
    if (full_start >= full_end) {
      add(i, start, object.size);  // no page of its own: all of it is watched
    } else {
      add(i, start, full_start - start);
      add(i, full_end, end - full_end);
    }
  }
}

CallOutcome Service::lock_ro_after_init(uint32_t vcpu) {
  (void)vcpu;
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  if (ro_locked_) return {VG_RESULT_ALREADY_DONE};
  ro_locked_ = true;
  // Only pages of ro_after_init (and, once init is also freed, every region
  // switching to its final permissions) change.
  for (const policy::Region& region : policy_.regions()) {
    const auto kind = static_cast<RegionKind>(region.kind);
    if (kind == RegionKind::kRoAfterInit ||
        (init_freed_ && kind != RegionKind::kInitText && kind != RegionKind::kInitData)) {
      if (!apply_kernel_pages(region.start, region.start + region.size)) return {VG_RESULT_INVALID_ADDRESS};
    }
  }
  return {VG_RESULT_SUCCESS};
}

CallOutcome Service::free_init(uint32_t vcpu) {
  (void)vcpu;
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  if (init_freed_) return {VG_RESULT_ALREADY_DONE};
  init_freed_ = true;
  for (const policy::Region& region : policy_.regions()) {
    const auto kind = static_cast<RegionKind>(region.kind);
    if (kind == RegionKind::kInitText || kind == RegionKind::kInitData ||
        (ro_locked_ && kind != RegionKind::kRoAfterInit)) {
      if (!apply_kernel_pages(region.start, region.start + region.size)) return {VG_RESULT_INVALID_ADDRESS};
    }
  }
  return {VG_RESULT_SUCCESS};
}

}  // namespace vg::kci
