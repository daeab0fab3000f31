#include "monitor/svsm/core_protocol.h"

#include "hal/hal.h"

namespace vg::monitor::svsm {
namespace {

constexpr uint8_t kPermRead = 1u << 0;
constexpr uint8_t kPermWrite = 1u << 1;
// What a freshly validated page gets at the caller's VMPL: data. Execute
// permission is KCI's to grant, only inside the policy's executable set.
constexpr uint8_t kValidatedPerms = kPermRead | kPermWrite;
constexpr uint64_t kMaxListEntries = (kPageSize4K - sizeof(PvalidateListHeader)) / sizeof(uint64_t);

struct PvalidateEntry {
  Gpa page;
  hal::PageSize size;
  bool validate;
  bool ignore_cf;
};

uint64_t page_bytes(hal::PageSize size) {
  return size == hal::PageSize::k2M ? kPageSize2M : kPageSize4K;
}

// Decodes one list entry; false for a format the specification rejects.
bool decode_entry(uint64_t raw, PvalidateEntry& out) {
  const uint64_t size_bits = raw & 3u;
  if (size_bits > 1) return false;
  out.size = size_bits == 1 ? hal::PageSize::k2M : hal::PageSize::k4K;
  out.validate = (raw & 4u) != 0;
  out.ignore_cf = (raw & 8u) != 0;
  out.page = Gpa(raw & ~uint64_t{0xfff});
  return out.page.is_aligned(page_bytes(out.size));
}

uint32_t pvalidate_failure(hal::PvalidateStatus status) {
  switch (status) {
    case hal::PvalidateStatus::kFailInput: return kErrPvalidateFailInput;
    case hal::PvalidateStatus::kFailSizeMismatch: return kErrPvalidateFailSizeMismatch;
    case hal::PvalidateStatus::kFailUnchanged: return kErrPvalidateFailNoChange;
    case hal::PvalidateStatus::kNotAssigned: return kErrInvalidAddress;
    case hal::PvalidateStatus::kSuccess: break;
  }
  return kSuccess;
}

CoreResult error(uint32_t code) {
  return CoreResult{code, false, 0};
}

}  // namespace

CoreProtocol::CoreProtocol(partitions::Partitions& partitions, uint32_t vcpus, ProtocolQuery other_protocols)
    : partitions_(partitions),
      vcpus_(vcpus > partitions::kMaxVcpus ? partitions::kMaxVcpus : vcpus),
      other_protocols_(other_protocols) {}

bool CoreProtocol::protect_range(Gpa start, uint64_t size) {
  if (protected_count_ == kMaxProtectedRanges) return false;
  protected_start_[protected_count_] = start;
  protected_size_[protected_count_] = size;
  ++protected_count_;
  return true;
}

void CoreProtocol::set_calling_area(uint32_t vcpu, Gpa caa) {
  if (vcpu < vcpus_) caa_[vcpu] = caa;
}

bool CoreProtocol::is_protected(Gpa start, uint64_t size) const {
  for (uint32_t i = 0; i < protected_count_; ++i) {
    const uint64_t begin = protected_start_[i].raw();
    const uint64_t end = begin + protected_size_[i];
    if (start.raw() < end && begin < start.raw() + size) return true;
  }
  return false;
}

bool CoreProtocol::claimable_range(Gpa start, uint64_t size) const {
  if (start.raw() + size < start.raw() || is_protected(start, size)) return false;
  for (uint64_t page = start.align_down(kPageSize4K).raw(); page < start.raw() + size; page += kPageSize4K) {
    if (partitions_.owner_of(Gpa(page)) != partitions::kKernelDomain || partitions_.is_vmsa(Gpa(page))) {
      return false;
    }
  }
  return true;
}

bool CoreProtocol::usable_guest_range(Gpa start, uint64_t size) const {
  if (!claimable_range(start, size)) return false;
  uint8_t probe = 0;
  // SAFETY: a one-byte VMPL0 read that only asks the HAL whether the first
  // and last byte are guest memory; it never faults.
  return hal::read_guest(start, &probe, 1) && hal::read_guest(start + (size - 1), &probe, 1);
}

CoreResult CoreProtocol::handle(const CoreRequest& request) {
  if (request.vcpu >= vcpus_) return error(kErrInvalidRequest);
  switch (request.call) {
    case kCoreRemapCa: return remap_ca(request);
    case kCorePvalidate: return pvalidate(request);
    case kCoreCreateVcpu: return create_vcpu(request);
    case kCoreDeleteVcpu: return delete_vcpu(request);
    case kCoreQueryProtocol: return query_protocol(request);
    case kCoreConfigureVtom:
      // Query form (RCX bit 0) answers "no vTOM support"; configuring is refused.
      if ((request.rcx & 1u) != 0) return CoreResult{kSuccess, true, 0};
      return error(kErrInvalidRequest);
    default: return error(kErrUnsupportedCall);
  }
}

CoreResult CoreProtocol::remap_ca(const CoreRequest& request) {
  const Gpa caa(request.rcx);
  // The calling area is 8 bytes (call-pending, mem-available, reserved),
  // 8-byte aligned and within one page [SVSM 58019 5.1].
  if (!caa.is_aligned(8) || !usable_guest_range(caa, 8)) return error(kErrInvalidParameter);
  static constexpr uint8_t kZeros[8] = {};
  // SAFETY: VMPL0 clears 8 bytes of a checked guest page the caller owns.
  if (!hal::write_guest(caa, kZeros, sizeof(kZeros))) return error(kErrInvalidAddress);
  caa_[request.vcpu] = caa;
  return CoreResult{};
}

CoreResult CoreProtocol::pvalidate(const CoreRequest& request) {
  const Gpa list(request.rcx);
  if (!list.is_aligned(8) || !usable_guest_range(list, sizeof(PvalidateListHeader))) {
    return error(kErrInvalidParameter);
  }
  // Decode: copy the header and every entry into monitor memory first, so the
  // guest cannot change the list while the monitor works through it.
  PvalidateListHeader header{};
  // SAFETY: VMPL0 copy out of a checked guest range into a local.
  if (!hal::read_guest(list, &header, sizeof(header))) return error(kErrInvalidAddress);
  const uint64_t room = (kPageSize4K - list.page_offset() - sizeof(header)) / sizeof(uint64_t);
  if (header.entries == 0 || header.entries > room || header.entries > kMaxListEntries ||
      header.next >= header.entries) {
    return error(kErrInvalidParameter);
  }
  uint64_t raw[kMaxListEntries];
  // SAFETY: the entries lie in the same page as the header (checked above).
  if (!hal::read_guest(list + sizeof(header), raw, header.entries * sizeof(uint64_t))) {
    return error(kErrInvalidAddress);
  }
  PvalidateEntry entries[kMaxListEntries];
  for (uint32_t i = header.next; i < header.entries; ++i) {
    if (!decode_entry(raw[i], entries[i])) return error(kErrInvalidParameter);
    // Pages to validate are not readable yet (a VMPL0 read would take #VC),
    // so only ownership is checked here; PVALIDATE itself reports a page the
    // guest does not have.
    if (!claimable_range(entries[i].page, page_bytes(entries[i].size))) return error(kErrInvalidAddress);
    if (veto_ != nullptr) {
      for (uint64_t offset = 0; offset < page_bytes(entries[i].size); offset += kPageSize4K) {
        if (!veto_(veto_context_, request.vcpu, entries[i].page + offset, entries[i].validate)) {
          return error(kErrInvalidAddress);
        }
      }
    }
  }

  // Commit, entry by entry; a hardware refusal stops the walk and `next`
  // tells the guest which entry failed [SVSM 58019 7.2, partial completion].
  uint32_t result = kSuccess;
  uint16_t next = header.next;
  for (; next < header.entries; ++next) {
    const PvalidateEntry& entry = entries[next];
    const hal::RmpAdjustAttributes revoke{request.caller, 0, false};
    const hal::RmpAdjustAttributes grant{request.caller, kValidatedPerms, false};
    if (!entry.validate) {
      // SAFETY: the caller loses access before the page stops being valid,
      // so no lower VMPL can touch a page the host may then remap.
      (void)hal::rmpadjust(entry.page, entry.size, revoke);
      // SAFETY: rescinds validation of a checked guest page that is not the
      // monitor's, a domain's or a VMSA.
      const hal::PvalidateStatus status = hal::pvalidate(entry.page, entry.size, false);
      if (status == hal::PvalidateStatus::kFailUnchanged && entry.ignore_cf) continue;
      if (status != hal::PvalidateStatus::kSuccess) {
        result = pvalidate_failure(status);
        break;
      }
      continue;
    }
    // SAFETY: validates a checked guest page for the caller.
    const hal::PvalidateStatus status = hal::pvalidate(entry.page, entry.size, true);
    if (status == hal::PvalidateStatus::kFailUnchanged && entry.ignore_cf) continue;
    if (status != hal::PvalidateStatus::kSuccess) {
      result = pvalidate_failure(status);
      break;
    }
    // A page is zeroed before any lower VMPL may read it: the host could have
    // remapped a page that held VMPL0 secrets to this GPA (the attack
    // COCONUT-SVSM documents for its PVALIDATE path).
    static constexpr uint8_t kZeros[512] = {};
    for (uint64_t offset = 0; offset < page_bytes(entry.size); offset += sizeof(kZeros)) {
      // SAFETY: VMPL0 writes inside the page it just validated.
      (void)hal::write_guest(entry.page + offset, kZeros, sizeof(kZeros));
    }
    // SAFETY: grants the caller read/write (never execute) on its new page.
    if (hal::rmpadjust(entry.page, entry.size, grant) != hal::RmpStatus::kSuccess) {
      result = kErrInvalidAddress;
      break;
    }
  }
  // SAFETY: writes back only the 16-bit `next` field of the checked header.
  (void)hal::write_guest(list + 2, &next, sizeof(next));
  return error(result);
}

CoreResult CoreProtocol::create_vcpu(const CoreRequest& request) {
  const Gpa vmsa(request.rcx);
  const Gpa caa(request.rdx);
  const uint64_t apic_id = request.r8 & 0xffffffffu;
  if (!vmsa.is_aligned(kPageSize4K) || !caa.is_aligned(kPageSize4K) || vmsa == caa) {
    return error(kErrInvalidAddress);
  }
  if (!usable_guest_range(vmsa, kPageSize4K) || !usable_guest_range(caa, kPageSize4K)) {
    return error(kErrInvalidAddress);
  }
  // This model numbers vCPUs by APIC ID.
  if (apic_id >= vcpus_) return error(kErrInvalidParameter);
  const auto vcpu = static_cast<uint32_t>(apic_id);

  // Take the page away from every lower VMPL before reading it, so what is
  // checked is what the CPU will load.
  for (uint8_t level = 1; level < Vmpl::kCount; ++level) {
    // SAFETY: revokes lower-VMPL access to a checked guest page.
    if (hal::rmpadjust(vmsa, hal::PageSize::k4K, {Vmpl(level), 0, false}) != hal::RmpStatus::kSuccess) {
      return error(kErrInvalidAddress);
    }
  }
  uint8_t vmpl = 0xff;
  uint64_t efer = 0;
  // SAFETY: VMPL0 reads two fields of a page no lower VMPL can now write.
  const bool readable = hal::read_guest(vmsa + kVmsaVmplOffset, &vmpl, sizeof(vmpl)) &&
                        hal::read_guest(vmsa + kVmsaEferOffset, &efer, sizeof(efer));
  // A guest may only create vCPUs of its own VMPL, with SVME set
  // [SVSM 58019 7.3; COCONUT-SVSM check_vmsa].
  if (!readable || vmpl != request.caller.raw() || (efer & kEferSvme) == 0) {
    (void)hal::rmpadjust(vmsa, hal::PageSize::k4K, {request.caller, kValidatedPerms, false});
    return error(kErrInvalidParameter);
  }
  const partitions::DomainId domain =
      request.caller.raw() == 3 ? partitions::kKernelDomain : partitions_.current(request.vcpu);
  auto made = partitions_.create_vmsa(domain, vcpu, vmsa);
  if (!made.ok()) {
    (void)hal::rmpadjust(vmsa, hal::PageSize::k4K, {request.caller, kValidatedPerms, false});
    return error(made.error() == partitions::PartitionError::kVmsaExists ? kErrInvalidParameter
                                                                         : kErrInvalidAddress);
  }
  caa_[vcpu] = caa;
  return CoreResult{};
}

CoreResult CoreProtocol::delete_vcpu(const CoreRequest& request) {
  const Gpa vmsa(request.rcx);
  if (!vmsa.is_aligned(kPageSize4K) || !partitions_.is_vmsa(vmsa) || is_protected(vmsa, kPageSize4K)) {
    return error(kErrInvalidAddress);
  }
  uint64_t efer = 0;
  // SAFETY: VMPL0 clears EFER.SVME in a VMSA page it made, so the vCPU can
  // never run again from it [SVSM 58019 7.4].
  if (hal::read_guest(vmsa + kVmsaEferOffset, &efer, sizeof(efer))) {
    efer &= ~kEferSvme;
    (void)hal::write_guest(vmsa + kVmsaEferOffset, &efer, sizeof(efer));
  }
  if (!partitions_.delete_vmsa(vmsa).ok()) return error(kErrInvalidAddress);
  return CoreResult{};
}

CoreResult CoreProtocol::query_protocol(const CoreRequest& request) const {
  const auto protocol = static_cast<uint32_t>(request.rcx >> 32);
  const auto version = static_cast<uint32_t>(request.rcx & 0xffffffffu);
  uint64_t supported = 0;
  if (protocol == kCoreProtocol) {
    if (version >= kCoreProtocolVersion && version <= kCoreProtocolVersion) {
      supported = uint64_t{kCoreProtocolVersion} | uint64_t{kCoreProtocolVersion} << 32;
    }
  } else if (other_protocols_ != nullptr) {
    supported = other_protocols_(protocol, version);
  }
  return CoreResult{kSuccess, true, supported};
}

}  // namespace vg::monitor::svsm
