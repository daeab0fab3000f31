#include "monitor/monitor.h"

#include "base/assert.h"
#include "monitor/entry_state.h"
#include "monitor/violation.h"

namespace vg::monitor {
namespace {

uint8_t verdict_code(PinResponse response) {
  switch (response) {
    case PinResponse::kRecordOnly: return VG_VERDICT_ALLOWED;
    case PinResponse::kRestore: return VG_VERDICT_DENIED;
    case PinResponse::kStop: return VG_VERDICT_STOPPED;
  }
  return VG_VERDICT_DENIED;
}

}  // namespace

Monitor::Monitor(kci::Service& service, TelemetryRing& ring, const MonitorConfig& config)
    : service_(service), ring_(ring), config_(config) {
  VG_ASSERT(config_.vcpus > 0 && config_.vcpus <= kMaxVcpus);
  VG_ASSERT(config_.kernel_vmpl.valid() && config_.kernel_vmpl.raw() != 0);
}

bool Monitor::set_calling_area(uint32_t vcpu, Gpa caa) {
  if (vcpu >= config_.vcpus || !caa.is_aligned(kPageSize4K)) return false;
  calling_area_[vcpu] = caa;
  has_calling_area_[vcpu] = true;
  return true;
}

EntryResult Monitor::handle_entry(uint32_t vcpu) {
  if (vcpu >= config_.vcpus) return EntryResult::kResume;  // not a vCPU the monitor runs
  // One entry at a time (see monitor.h). Entries are rare (batched patches,
  // violations, boot-time PVALIDATE), so a single lock costs little.
  SpinGuard guard(entry_lock_);
  ++stats_.entries;
  Entry entry;
  entry.vcpu = vcpu;
  if (!hal::read_vmsa(vcpu, config_.kernel_vmpl, entry.kernel)) {
    // The kernel VMPL's VMSA is the monitor's own bookkeeping; losing it is
    // not something the kernel can cause, so nothing is safe to resume.
    ++stats_.vmsa_failures;
    return EntryResult::kStop;
  }

  check_pinned(entry);

  hal::ExitInfo info;
  if (!entry.stop && hal::read_exit_info(vcpu, info) && info.exit_code != hal::kExitCodeNone) {
    if (handle_violation(entry, info) == EntryResult::kStop) entry.stop = true;
  }

  if (!entry.stop) handle_call(entry);
  if (!entry.stop && service_.kernel_registered()) service_.check_watched();

  if (entry.kernel_dirty && !hal::write_vmsa(vcpu, config_.kernel_vmpl, entry.kernel)) {
    ++stats_.vmsa_failures;
    return EntryResult::kStop;
  }
  return entry.stop ? EntryResult::kStop : EntryResult::kResume;
}

void Monitor::run_once(uint32_t vcpu) {
  if (handle_entry(vcpu) == EntryResult::kStop) {
    hal::terminate_guest(kTerminateReasonSet, kTerminateViolation);
    return;
  }
  // A refused Run VMPL request leaves this vCPU in VMPL0; the host will run
  // us again, and the next entry starts over.
  (void)hal::request_run_vmpl(config_.kernel_vmpl);
}

// Pinned registers: lock at the first entry after the kernel registered
// (the registering vCPU locks inside the REGISTER_KERNEL call), compare at
// every entry after that.
void Monitor::check_pinned(Entry& entry) {
  PinnedRegisters& pins = pins_[entry.vcpu];
  if (!pins.locked()) {
    if (service_.kernel_registered()) pins.lock(entry.kernel);
    return;
  }
  PinDeviation deviations[kPinnedRegisterCount];
  const size_t count = pins.check(entry.kernel, deviations);
  for (size_t i = 0; i < count; ++i) {
    ++stats_.pinned_changes;
    vg_record record{};
    record.kind = VG_KIND_PINNED_REGISTER;
    record.verdict = verdict_code(config_.pin_response);
    record.vmpl = config_.kernel_vmpl.raw();
    record.vcpu = entry.vcpu;
    record.rip = entry.kernel.rip;
    record.policy_offset = ~0u;
    record.detail = static_cast<uint32_t>(deviations[i].id);
    record.value = deviations[i].value;
    (void)ring_.record(record);
  }
  if (count == 0) return;
  switch (config_.pin_response) {
    case PinResponse::kRecordOnly: break;
    case PinResponse::kRestore:
      pins.restore(entry.kernel);
      entry.kernel_dirty = true;
      break;
    case PinResponse::kStop: entry.stop = true; break;
  }
}

// A violation exit: decode (reject what is not a VMPL fault of the guarded
// VMPL), let KCI judge and record it, then carry out the verdict.
EntryResult Monitor::handle_violation(Entry& entry, const hal::ExitInfo& info) {
  const auto decoded = decode_violation(entry.vcpu, info, config_.kernel_vmpl, entry.kernel);
  if (!decoded.ok()) {
    ++stats_.spurious_exits;
    return EntryResult::kResume;
  }
  ++stats_.violations;
  kci::Verdict verdict = service_.handle_violation(decoded->exit);
  const bool fetch =
      decoded->access == AccessKind::kSupervisorExec || decoded->access == AccessKind::kUserExec;
  if (verdict == kci::Verdict::kDeniedSkip) {
    // An instruction fetch cannot be skipped (RIP is the fault); a data
    // access can, if its length is known. Otherwise fall back to a fault.
    const auto length = fetch ? Result<uint8_t, LengthError>(Err{LengthError::kUnsupported})
                              : faulting_instruction_length(entry.kernel, config_.c_bit_mask);
    if (length.ok()) {
      entry.kernel.rip += *length;
      entry.kernel_dirty = true;
      ++stats_.skipped;
      return EntryResult::kResume;
    }
    verdict = kci::Verdict::kInjectFault;
  }
  switch (verdict) {
    case kci::Verdict::kAllowed:
    case kci::Verdict::kDeniedSkip: return EntryResult::kResume;
    case kci::Verdict::kInjectFault:
      inject_fault(entry.kernel, decoded->access);
      entry.kernel_dirty = true;
      ++stats_.injected;
      return EntryResult::kResume;
    case kci::Verdict::kStopGuest: return EntryResult::kStop;
  }
  return EntryResult::kStop;
}

}  // namespace vg::monitor
