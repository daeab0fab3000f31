// The kernel image's page permissions: one function says what every page of
// the registered kernel must be for the kernel's VMPL, from the policy's
// regions, the phase (ro_after_init locked, init freed) and the locked
// critical objects. Registration, locking and FREE_INIT apply it to the
// pages they change; tests compare it with the RMP.
#include "hal/hal.h"
#include "kci/page_math.h"
#include "kci/service.h"

namespace vg::kci {

using policy::RegionKind;

namespace {

// Index of the first region that ends after `offset` (regions are sorted and
// do not overlap, so this is the only one that can contain `offset`).
uint64_t first_region_ending_after(const policy::PolicyView& view, uint64_t offset) {
  const auto regions = view.regions();
  uint64_t low = 0, high = regions.count;
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    if (regions[mid].start + regions[mid].size <= offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low;
}

bool writable_region(RegionKind kind) {
  return kind == RegionKind::kData || kind == RegionKind::kBss || kind == RegionKind::kInitData;
}

}  // namespace

uint8_t Service::region_perms(const policy::Region& region) const {
  const auto kind = static_cast<RegionKind>(region.kind);
  bool final_perms = false;
  if (kind == RegionKind::kRoAfterInit) {
    final_perms = ro_locked_;
  } else if (kind == RegionKind::kInitText || kind == RegionKind::kInitData) {
    final_perms = init_freed_;
  } else {
    final_perms = ro_locked_ && init_freed_;
  }
  return final_perms ? region.perms_final : region.perms_boot;
}

uint8_t Service::kernel_page_perms(uint64_t page_offset) const {
  const auto regions = policy_.regions();
  const uint64_t page_end = page_offset + kPageSize4K;
  uint8_t perms = 0;
  bool covered = false;
  for (uint64_t i = first_region_ending_after(policy_, page_offset);
       i < regions.count && regions[i].start < page_end; ++i) {
    covered = true;
    perms = static_cast<uint8_t>(perms | region_perms(regions[i]));
  }
  // Padding between sections belongs to no region: readable and writable as
  // before, never executable (only policy text may execute).
  if (!covered) return policy::kPermRead | policy::kPermWrite;

  // A locked or write-mediated object that covers the whole page makes it
  // read-only; pages it shares with other data stay writable and its bytes
  // there are watched instead (docs/kci.md, "Critical data").
  const policy::CriticalObject* object = policy_.find_object(page_offset);
  if (object != nullptr && uint64_t{object->offset} + object->size >= page_end) {
    const auto protection = static_cast<policy::Protection>(object->protection);
    if (protection != policy::Protection::kWatched &&
        writable_region(static_cast<RegionKind>(object->region))) {
      perms = static_cast<uint8_t>(perms & ~policy::kPermWrite);
    }
  }
  return perms;
}

bool Service::apply_kernel_pages(uint64_t first_offset, uint64_t end_offset) {
  for (uint64_t offset = page_floor(first_offset); offset < end_offset && offset < layout_.size;
       offset += kPageSize4K) {
    const hal::RmpAdjustAttributes attributes{kKernelVmpl, kernel_page_perms(offset), false};
    // SAFETY: the page lies inside the registered kernel image, which the
    // registration checked to be guest memory; RMPADJUST from VMPL0 only
    // changes the kernel's VMPL [APM2 15.36.7].
    if (hal::rmpadjust(layout_.text_gpa + offset, hal::PageSize::k4K, attributes) !=
        hal::RmpStatus::kSuccess) {
      return false;
    }
  }
  return true;
}

bool Service::in_kernel_image(Gpa gpa) const {
  return registered_ && gpa >= layout_.text_gpa && gpa - layout_.text_gpa < layout_.size;
}

bool Service::managed_page_perms(Gpa page, uint8_t& perms) const {
  page = page.align_down(kPageSize4K);
  if (in_kernel_image(page)) {
    perms = kernel_page_perms(page - layout_.text_gpa);
    return true;
  }
  if (const ImageSlot* image = image_containing(page)) {
    (void)image;
    perms = policy::kPermRead | policy::kPermSupervisorExec;
    return true;
  }
  if (ring_pages_ != 0 && page >= ring_first_ && page - ring_first_ < uint64_t{ring_pages_} * kPageSize4K) {
    perms = policy::kPermRead;
    return true;
  }
  return false;
}

bool Service::page_in_executable_set(Gpa page) const {
  uint8_t perms = 0;
  if (!managed_page_perms(page, perms)) return false;
  return (perms & policy::kPermSupervisorExec) != 0;
}

// Pages no request may claim: the kernel image, admitted images, the ring.
bool Service::is_protected_page(Gpa page) const {
  uint8_t perms = 0;
  return managed_page_perms(page, perms);
}

}  // namespace vg::kci
