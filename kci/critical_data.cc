// Critical data after registration: write-mediated objects (MEDIATED_WRITE,
// validated and written by the monitor) and watched ranges (compared with
// their baseline at every monitor entry).
#include "hal/hal.h"
#include "kci/guest_copy.h"
#include "kci/mediated_strings.h"
#include "kci/service.h"

namespace vg::kci {

namespace {

enum class StringRule : uint8_t {
  kNone,         // not a string: any bytes inside the object
  kPath,         // empty, or an absolute path with no ".." component
  kCorePattern,  // printable; a "|program" pipe must name an absolute path without ".."
};

// The write-mediated objects that hold C strings. The policy format carries
// no type, so KCI names them: these are the sysctl strings the kernel passes
// to call_usermodehelper or uses as a file name.
bool same_name(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

StringRule string_rule(const char* name) {
  static constexpr const char* kPaths[] = {"modprobe_path", "poweroff_cmd", "reboot_cmd", "uevent_helper"};
  for (const char* path : kPaths) {
    if (same_name(name, path)) return StringRule::kPath;
  }
  if (same_name(name, "core_pattern")) return StringRule::kCorePattern;
  return StringRule::kNone;
}

bool has_dotdot_component(const uint8_t* text, size_t length) {
  for (size_t i = 0; i + 1 < length; ++i) {
    const bool at_component_start = i == 0 || text[i - 1] == '/';
    const bool ends_after = i + 2 == length || text[i + 2] == '/' || text[i + 2] == ' ';
    if (at_component_start && text[i] == '.' && text[i + 1] == '.' && ends_after) return true;
  }
  return false;
}

// `text` is the object's content after the write; `size` the object's size.
DenyReason check_string(StringRule rule, const uint8_t* text, size_t size) {
  size_t length = 0;
  while (length < size && text[length] != '\0') ++length;
  if (length == size) return DenyReason::kBadString;  // no NUL inside the object
  for (size_t i = 0; i < length; ++i) {
    if (text[i] < 0x20 || text[i] > 0x7e) return DenyReason::kBadString;
  }
  if (rule == StringRule::kPath) {
    if (length == 0) return DenyReason::kNone;  // "" disables the helper
    if (text[0] != '/' || has_dotdot_component(text, length)) return DenyReason::kBadPath;
  } else if (rule == StringRule::kCorePattern && length > 0 && text[0] == '|') {
    size_t program_end = 1;
    while (program_end < length && text[program_end] != ' ') ++program_end;
    if (program_end == 1 || text[1] != '/' || has_dotdot_component(text + 1, program_end - 1)) {
      return DenyReason::kBadPath;
    }
  }
  return DenyReason::kNone;
}

Sha256Digest hash_guest(Gpa start, uint64_t size) {
  Sha256 hasher;
  uint8_t chunk[256];
  for (uint64_t done = 0; done < size;) {
    const uint64_t n = size - done < sizeof(chunk) ? size - done : sizeof(chunk);
    // SAFETY: watched ranges lie inside the registered kernel image, which
    // registration proved to be guest memory.
    (void)hal::read_guest(start + done, chunk, n);
    hasher.update(chunk, n);
    done += n;
  }
  return hasher.finish();
}

}  // namespace

bool mediated_string_object(const char* name) {
  return string_rule(name) != StringRule::kNone;
}

CallOutcome Service::mediated_write(uint32_t vcpu, const CallArgs& args) {
  if (!registered_) return {VG_RESULT_NOT_REGISTERED};
  vg_mediated_write request{};
  if (!copy_request(Gpa(args.rcx), &request, sizeof(request))) return {VG_RESULT_INVALID_ADDRESS};

  const uint64_t offset = request.object_va - layout_.text_va;
  const policy::CriticalObject* object = offset < layout_.size ? policy_.find_object(offset) : nullptr;
  auto deny = [&](DenyReason reason) -> CallOutcome {
    const bool inside = offset < layout_.size;
    emit(VG_KIND_MEDIATED_DENIED, VG_VERDICT_DENIED, vcpu, 0, request.object_va + request.offset,
         inside ? (layout_.text_gpa + offset).raw() : 0, object != nullptr ? object->offset : ~0u,
         static_cast<uint32_t>(reason), request.length);
    return {VG_RESULT_DENIED};
  };
  if (object == nullptr || object->offset != offset ||
      static_cast<policy::Protection>(object->protection) != policy::Protection::kWriteMediated) {
    return deny(DenyReason::kNotMediated);
  }
  if (request.length == 0 || request.length > VG_MEDIATED_MAX_BYTES || request.offset > object->size ||
      request.length > object->size - request.offset) {
    return deny(DenyReason::kOutOfBounds);
  }
  // The object as it would be after the write, in monitor memory: string
  // rules apply to the result, not to the fragment the kernel sends.
  // Objects that are not strings need no copy (and may be larger).
  const Gpa object_gpa = layout_.text_gpa + offset;
  const StringRule rule = string_rule(policy_.string(object->name));
  if (rule != StringRule::kNone) {
    if (object->size > kMaxMediatedObjectBytes) return deny(DenyReason::kOutOfBounds);  // refused at load
    uint8_t after[kMaxMediatedObjectBytes];
    // SAFETY: the object lies inside the registered image (checked at load
    // and registration); `after` holds kMaxMediatedObjectBytes >= size.
    (void)hal::read_guest(object_gpa, after, object->size);
    __builtin_memcpy(after + request.offset, request.bytes, request.length);
    const DenyReason reason = check_string(rule, after, object->size);
    if (reason != DenyReason::kNone) return deny(reason);
  }

  // Commit, then refresh the baseline of the object's watched fragments so
  // the monitor's own write is not reported as a change.
  // SAFETY: as above; VMPL0 writes regardless of the kernel's permissions.
  (void)hal::write_guest(object_gpa + request.offset, request.bytes, request.length);
  const uint32_t object_index = static_cast<uint32_t>(object - policy_.objects().data);
  for (uint32_t i = 0; i < watched_count_; ++i) {
    WatchedRange& range = store().watched[i];
    if (range.object_index == object_index)
      range.baseline = hash_guest(layout_.text_gpa + range.offset, range.size);
  }
  return {VG_RESULT_SUCCESS};
}

void Service::check_watched() {
  if (!registered_) return;
  for (uint32_t i = 0; i < watched_count_; ++i) {
    WatchedRange& range = store().watched[i];
    const Gpa start = layout_.text_gpa + range.offset;
    const Sha256Digest now = hash_guest(start, range.size);
    if (now == range.baseline) continue;
    // Reported once per change: the new contents become the baseline.
    range.baseline = now;
    const policy::CriticalObject& object = policy_.objects()[range.object_index];
    emit(VG_KIND_WATCHED_CHANGED, VG_VERDICT_ALLOWED, 0, 0, layout_.text_va + range.offset, start.raw(),
         object.offset, object.name, range.size);
  }
}

}  // namespace vg::kci
