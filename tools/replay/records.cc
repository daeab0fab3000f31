#include "replay/records.h"

#include <cstdio>

#include "replay/session.h"

namespace vg::replay {

const vg_record* last_denial(const std::vector<vg_record>& records) {
  for (auto it = records.rbegin(); it != records.rend(); ++it)
    if (it->verdict != VG_VERDICT_ALLOWED) return &*it;
  return nullptr;
}

const char* kind_name(uint16_t kind) {
  static const char* const kNames[] = {"?",
                                       "TEXT_WRITE",
                                       "PATCH_DENIED",
                                       "PATCH_APPLIED",
                                       "DATA_WRITE",
                                       "MEDIATED_DENIED",
                                       "EXEC_VIOLATION",
                                       "PINNED_REGISTER",
                                       "MODULE_DENIED",
                                       "MODULE_LOADED",
                                       "RMP_TAMPER",
                                       "REQUEST_MALFORMED",
                                       "WATCHED_CHANGED",
                                       "POLICY_REFUSED"};
  return kind < sizeof(kNames) / sizeof(kNames[0]) ? kNames[kind] : "?";
}

const char* deny_reason_name(uint32_t reason) {
  static const char* const kNames[] = {
      "kNone",
      "kNotASite",
      "kBytesNotAllowed",
      "kLengthMismatch",
      "kOutsideText",
      "kOverlap",
      "kBadEntry",
      "kNotMediated",
      "kOutOfBounds",
      "kBadString",
      "kBadPath",
      "kHashNotAllowed",
      "kModulesForbidden",
      "kBpfJitForbidden",
      "kBadPageList",
      "kRmpFailed",
      "kKprobeNotWholeInstructions",
      "kKprobeJumpedInto",
      "kImageInUse",
  };
  return reason < sizeof(kNames) / sizeof(kNames[0]) ? kNames[reason] : "?";
}

std::string describe_record(const Session& session, const vg_record* record) {
  if (record == nullptr) return "no record";
  std::string out = kind_name(record->kind);
  const policy::PolicyView& policy = session.policy();
  switch (record->kind) {
    case VG_KIND_PATCH_DENIED:
      out += std::string(" ") + deny_reason_name(record->detail & 0xffff) + " entry " +
             std::to_string(record->detail >> 16);
      break;
    case VG_KIND_MODULE_DENIED:
    case VG_KIND_MEDIATED_DENIED:
    case VG_KIND_REQUEST_MALFORMED: out += std::string(" ") + deny_reason_name(record->detail); break;
    case VG_KIND_PINNED_REGISTER: {
      static const char* const kRegs[] = {"?",    "CR0",   "CR4",    "EFER", "LSTAR",
                                          "STAR", "CSTAR", "SFMASK", "IDTR", "GDTR"};
      out += std::string(" ") + (record->detail < 10 ? kRegs[record->detail] : "?");
      char value[32];
      std::snprintf(value, sizeof(value), "=%#llx", static_cast<unsigned long long>(record->value));
      out += value;
      break;
    }
    case VG_KIND_DATA_WRITE:
    case VG_KIND_WATCHED_CHANGED:
      // detail is the object's name (a STRINGS offset), or ~0.
      if (record->detail != ~0u && record->detail < policy.header().file_size) {
        const policy::CriticalObject* object = policy.find_object(record->policy_offset);
        if (object != nullptr && object->name == record->detail)
          out += std::string(" ") + policy.string(record->detail);
      }
      break;
    default: break;
  }
  if (record->policy_offset != ~0u) out += " at " + session.symbolize(record->policy_offset);
  return out;
}

}  // namespace vg::replay
