// Loading a policy: copy into monitor memory, parse the copy, check that
// enforcing it cannot break a KCI invariant, and only then make it active.
// The previously active policy stays untouched until the new one is proven
// good, so a refused policy is never enforced half-way.
#include "base/assert.h"
#include "kci/mediated_strings.h"
#include "kci/page_math.h"
#include "kci/service.h"

namespace vg::kci {

const char* describe(LoadError error) {
  switch (error) {
    case LoadError::kTooLarge: return "policy is larger than the monitor's policy buffer";
    case LoadError::kMalformed: return "policy is malformed";
    case LoadError::kReplayed: return "policy serial is older than the accepted policy's (replay)";
    case LoadError::kAlreadyEnforcing: return "a kernel is registered; the policy cannot be replaced";
    case LoadError::kUnsafe:
      return "policy would make a kernel page writable and executable or text writable";
    case LoadError::kCapacity: return "policy has more critical objects than the monitor's tables hold";
  }
  return "unknown load error";
}

namespace {

using policy::Perm;
using policy::RegionKind;

constexpr uint8_t kExec = policy::kPermSupervisorExec | policy::kPermUserExec;

bool writable_and_executable(uint8_t perms) {
  return (perms & policy::kPermWrite) != 0 && (perms & kExec) != 0;
}

// The rules one region's own permissions must follow, whatever its neighbours.
bool region_perms_safe(const policy::Region& region) {
  const auto kind = static_cast<RegionKind>(region.kind);
  for (uint8_t perms : {region.perms_boot, region.perms_final}) {
    if (writable_and_executable(perms)) return false;
    // User-execute is never right for kernel memory (it would let user mode
    // run kernel bytes if a page table said so) [APM2 15.36.7].
    if ((perms & policy::kPermUserExec) != 0) return false;
    const bool exec = (perms & kExec) != 0;
    switch (kind) {
      case RegionKind::kText:
        if ((perms & policy::kPermWrite) != 0) return false;
        break;
      case RegionKind::kInitText: break;
      case RegionKind::kRodata:
        if ((perms & policy::kPermWrite) != 0 || exec) return false;
        break;
      default:
        if (exec) return false;
        break;
    }
  }
  if (kind == RegionKind::kRoAfterInit && (region.perms_final & policy::kPermWrite) != 0) return false;
  if (kind == RegionKind::kInitText && (region.perms_final & kExec) != 0) return false;
  return true;
}

// The permissions of a region in a phase (ro_after_init locked, init freed).
uint8_t phase_perms(const policy::Region& region, bool ro_locked, bool init_freed) {
  const auto kind = static_cast<RegionKind>(region.kind);
  bool final_perms = false;
  if (kind == RegionKind::kRoAfterInit) {
    final_perms = ro_locked;
  } else if (kind == RegionKind::kInitText || kind == RegionKind::kInitData) {
    final_perms = init_freed;
  } else {
    final_perms = ro_locked && init_freed;
  }
  return final_perms ? region.perms_final : region.perms_boot;
}

// A page holding the end of one region and the start of the next gets the
// union of both (docs/kci.md); that union must not be W+X in any phase.
bool shared_pages_safe(const policy::PolicyView& view) {
  const auto regions = view.regions();
  for (uint64_t i = 0; i + 1 < regions.count; ++i) {
    const policy::Region& left = regions[i];
    const uint64_t left_last_page = page_floor(left.start + left.size - 1);
    for (uint64_t j = i + 1; j < regions.count && page_floor(regions[j].start) == left_last_page; ++j) {
      for (int phase = 0; phase < 4; ++phase) {
        const bool ro_locked = (phase & 1) != 0;
        const bool init_freed = (phase & 2) != 0;
        uint8_t perms = phase_perms(left, ro_locked, init_freed);
        for (uint64_t k = i + 1; k <= j; ++k) {
          perms = static_cast<uint8_t>(perms | phase_perms(regions[k], ro_locked, init_freed));
        }
        if (writable_and_executable(perms)) return false;
      }
    }
  }
  return true;
}

// Jump-label sites may only become a NOP or a jump to their recorded target
// (the kernel's static_key_enable/disable): a policy that lists anything else
// for a pure jump-label site is refused rather than trusted.
bool jump_label_sites_safe(const policy::PolicyView& view) {
  for (const policy::Site& site : view.sites()) {
    if (site.kinds != policy::kSiteJumpLabel) continue;
    for (uint32_t p = 0; p < site.pattern_count; ++p) {
      const auto kind = static_cast<policy::PatternKind>(view.patterns()[site.first_pattern + p].kind);
      if (kind != policy::PatternKind::kNop && kind != policy::PatternKind::kJmpRel32 &&
          kind != policy::PatternKind::kJmpRel8 && kind != policy::PatternKind::kLiteral) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

Result<void, LoadError> Service::check_policy_safe(const policy::PolicyView& view) const {
  const auto regions = view.regions();
  if (regions.count == 0) return Err{LoadError::kUnsafe};
  const policy::Region& last = regions[regions.count - 1];
  if (last.start + last.size > kMaxKernelBytes) return Err{LoadError::kCapacity};
  for (const policy::Region& region : regions) {
    if (!region_perms_safe(region)) return Err{LoadError::kUnsafe};
  }
  if (!shared_pages_safe(view)) return Err{LoadError::kUnsafe};
  if (!jump_label_sites_safe(view)) return Err{LoadError::kUnsafe};

  if (view.objects().count > kMaxCriticalObjects) return Err{LoadError::kCapacity};
  uint64_t watched = 0;
  for (const policy::CriticalObject& object : view.objects()) {
    const auto protection = static_cast<policy::Protection>(object.protection);
    if (uint64_t{object.offset} + object.size > last.start + last.size) return Err{LoadError::kUnsafe};
    if (protection == policy::Protection::kWatched) {
      watched += 1;
    } else {
      // Head and tail fragments that share a page with other data.
      watched += 2;
    }
    if (protection == policy::Protection::kWriteMediated && object.size > kMaxMediatedObjectBytes &&
        mediated_string_object(view.string(object.name))) {
      return Err{LoadError::kCapacity};
    }
  }
  if (watched > kMaxWatched) return Err{LoadError::kCapacity};
  return Ok{};
}

Result<void, LoadFailure> Service::load_policy(ByteView bytes) {
  auto refuse = [this](LoadError error, policy::ParseError parse_error) -> Result<void, LoadFailure> {
    emit(VG_KIND_POLICY_REFUSED, VG_VERDICT_DENIED, 0, 0, 0, 0, ~0u,
         static_cast<uint32_t>(error) << 8 | static_cast<uint32_t>(parse_error), accepted_serial_);
    return Err{LoadFailure{error, parse_error}};
  };
  if (registered_) return refuse(LoadError::kAlreadyEnforcing, policy::ParseError{});
  if (bytes.size > kPolicyBufferBytes) return refuse(LoadError::kTooLarge, policy::ParseError{});

  // Parse a private copy: the caller's bytes may be guest or host memory that
  // changes under us, and the view must borrow memory nobody else can write.
  const uint8_t spare = static_cast<uint8_t>(active_buffer_ ^ 1u);
  uint8_t* buffer = store().policy[spare];
  // SAFETY: `buffer` holds kPolicyBufferBytes and bytes.size is at most that
  // (checked above); the source is the caller's readable range.
  __builtin_memcpy(buffer, bytes.data, bytes.size);
  auto parsed = policy::PolicyView::parse(ByteView{buffer, bytes.size});
  if (!parsed.ok()) return refuse(LoadError::kMalformed, parsed.error());

  const policy::PolicyView& view = parsed.value();
  const uint64_t serial = view.header().serial;
  if (loaded_ || accepted_serial_ != 0) {
    if (serial < accepted_serial_) return refuse(LoadError::kReplayed, policy::ParseError{});
    // The same serial is accepted only for the very same file: a producer
    // that changes a policy must bump the serial.
    if (serial == accepted_serial_ && !(view.digest() == accepted_digest_)) {
      return refuse(LoadError::kReplayed, policy::ParseError{});
    }
  }
  auto safe = check_policy_safe(view);
  if (!safe.ok()) return refuse(safe.error(), policy::ParseError{});

  policy_ = view;
  active_buffer_ = spare;
  accepted_serial_ = serial;
  accepted_digest_ = view.digest();
  loaded_ = true;
  return Ok{};
}

}  // namespace vg::kci
