// The SVSM core protocol (protocol 0) as a Linux >= 6.11 guest uses it when
// it runs at a lower VMPL [SVSM 58019 section 7; Linux arch/x86/coco/sev]:
// REMAP_CA, PVALIDATE, CREATE_VCPU, DELETE_VCPU and QUERY_PROTOCOL.
//
// Every request is decoded into a local copy and checked before anything
// changes. PVALIDATE keeps the specification's partial-completion rule: the
// list's `next` field tells the guest where processing stopped.
// Freestanding: no heap, fixed tables.
#pragma once

#include <stdint.h>

#include "base/types.h"
#include "monitor/svsm.h"
#include "partitions/partitions.h"

namespace vg::monitor::svsm {

// Protocol and call numbers come from monitor/svsm.h (kCoreProtocol,
// kCoreRemapCa, ... kCoreConfigureVtom).
inline constexpr uint32_t kCoreProtocolVersion = 1;

// Result codes [SVSM 58019 Table "SVSM result codes"].
inline constexpr uint32_t kSuccess = 0x00000000;
inline constexpr uint32_t kErrIncomplete = 0x80000000;
inline constexpr uint32_t kErrUnsupportedProtocol = 0x80000001;
inline constexpr uint32_t kErrUnsupportedCall = 0x80000002;
inline constexpr uint32_t kErrInvalidAddress = 0x80000003;
inline constexpr uint32_t kErrInvalidFormat = 0x80000004;
inline constexpr uint32_t kErrInvalidParameter = 0x80000005;
inline constexpr uint32_t kErrInvalidRequest = 0x80000006;
inline constexpr uint32_t kErrBusy = 0x80000007;
// PVALIDATE failures: 0x8000_1000 plus the instruction's return code; CF=1
// (nothing changed) is reported as 0x8000_1010.
inline constexpr uint32_t kErrPvalidateFailInput = 0x80001001;
inline constexpr uint32_t kErrPvalidateFailSizeMismatch = 0x80001006;
inline constexpr uint32_t kErrPvalidateFailNoChange = 0x80001010;

// The PVALIDATE request list in guest memory: a header, then `entries`
// 64-bit entries: bits 1:0 page size (0 = 4K, 1 = 2M), bit 2 validate
// (1) or rescind (0), bit 3 ignore CF, bits 63:12 the page's GFN.
struct PvalidateListHeader {
  uint16_t entries;
  uint16_t next;
  uint32_t reserved;
};
static_assert(sizeof(PvalidateListHeader) == 8);

// VMSA fields the monitor checks before it accepts a guest-made VMSA
// [APM2 Table B-4; Linux struct sev_es_save_area].
inline constexpr uint64_t kVmsaVmplOffset = 0xca;
inline constexpr uint64_t kVmsaEferOffset = 0xd0;
inline constexpr uint64_t kEferSvme = 1ull << 12;

struct CoreRequest {
  uint32_t vcpu = 0;
  Vmpl caller{3};
  uint32_t call = 0;
  uint64_t rcx = 0, rdx = 0, r8 = 0;
};

struct CoreResult {
  uint32_t rax = kSuccess;
  bool rcx_written = false;
  uint64_t rcx = 0;
};

// Answers QUERY_PROTOCOL for protocols other than the core one: returns the
// supported version range as (min | max << 32), or 0 if unsupported.
using ProtocolQuery = uint64_t (*)(uint32_t protocol, uint32_t version);

// Asked for every 4K page of a PVALIDATE entry before anything changes:
// false refuses the request (KCI vetoes pages of the registered kernel).
using PvalidateVeto = bool (*)(void* context, uint32_t vcpu, Gpa page, bool validate);

class CoreProtocol {
 public:
  static constexpr uint32_t kMaxProtectedRanges = 16;

  CoreProtocol(partitions::Partitions& partitions, uint32_t vcpus, ProtocolQuery other_protocols);

  // Guest memory the guest may never PVALIDATE, nor use as a VMSA or a
  // calling area: the monitor's image, stacks and policy, and (once KCI has
  // registered the kernel) the locked kernel image. False when full.
  bool protect_range(Gpa start, uint64_t size);

  // The calling area the launch configured for a vCPU.
  void set_calling_area(uint32_t vcpu, Gpa caa);
  Gpa calling_area(uint32_t vcpu) const { return caa_[vcpu]; }

  void set_pvalidate_veto(PvalidateVeto veto, void* context) {
    veto_ = veto;
    veto_context_ = context;
  }

  CoreResult handle(const CoreRequest& request);

 private:
  CoreResult remap_ca(const CoreRequest& request);
  CoreResult pvalidate(const CoreRequest& request);
  CoreResult create_vcpu(const CoreRequest& request);
  CoreResult delete_vcpu(const CoreRequest& request);
  CoreResult query_protocol(const CoreRequest& request) const;

  bool is_protected(Gpa start, uint64_t size) const;
  // A range the guest may ask about: not protected, not a domain's page or
  // a VMSA.
  bool claimable_range(Gpa start, uint64_t size) const;
  // Claimable and readable guest memory (validated, assigned).
  bool usable_guest_range(Gpa start, uint64_t size) const;

  partitions::Partitions& partitions_;
  uint32_t vcpus_;
  ProtocolQuery other_protocols_;
  PvalidateVeto veto_ = nullptr;
  void* veto_context_ = nullptr;
  Gpa protected_start_[kMaxProtectedRanges] = {};
  uint64_t protected_size_[kMaxProtectedRanges] = {};
  uint32_t protected_count_ = 0;
  Gpa caa_[partitions::kMaxVcpus] = {};
};

}  // namespace vg::monitor::svsm
