// The simulated SEV-SNP platform: a model of the parts of SNP the monitor
// depends on, which fails the way SNP fails. Tests create a SimPlatform,
// install it as the current platform (ScopedInstall), and the vg::hal
// functions of the sim backend then act on it.
//
// What it models (docs/simulated-platform.md has the full list and limits):
//  - the RMP, one entry per 4K guest page [APM2 15.36.3]: assigned,
//    validated, page size, VMSA bit, a permission mask per VMPL (VMPL0 full);
//  - RMPADJUST and PVALIDATE executed "at VMPL n" with the APM's checks and
//    return codes [APM3 RMPADJUST, PVALIDATE];
//  - guest accesses at VMPL n that succeed or raise #NPF(RMP|VMPL)
//    [APM2 15.36.10], and a host that forwards those faults to VMPL0 as
//    violation exits, or (configurably) does not;
//  - one VMSA per (vCPU, VMPL), and the SVSM call path: calling area with
//    call-pending byte, registers in the caller's VMSA, GHCB MSR "Run VMPL"
//    [SVSM 58019 4.1; GHCB 56421 2.3.1].
// Deterministic: no threads, no clocks; timestamps come from a counter.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "base/types.h"
#include "hal/hal.h"

namespace vg::hal::sim {

// RMP permission bits, as in RMPADJUST's RDX[15:8] [APM3 RMPADJUST].
inline constexpr uint8_t kPermRead = 1u << 0;
inline constexpr uint8_t kPermWrite = 1u << 1;
inline constexpr uint8_t kPermUserExec = 1u << 2;
inline constexpr uint8_t kPermSupervisorExec = 1u << 3;
inline constexpr uint8_t kPermAll = 0x0f;

// #NPF error code bits [APM2 15.25.6 and 15.36.10; Linux PFERR_GUEST_*].
inline constexpr uint64_t kNpfPresent = 1ull << 0;
inline constexpr uint64_t kNpfWrite = 1ull << 1;
inline constexpr uint64_t kNpfUser = 1ull << 2;
inline constexpr uint64_t kNpfFetch = 1ull << 4;
inline constexpr uint64_t kNpfRmp = 1ull << 31;
inline constexpr uint64_t kNpfFinal = 1ull << 32;  // fault on the final (data) translation
inline constexpr uint64_t kNpfSizeMismatch = 1ull << 35;
inline constexpr uint64_t kNpfVmpl = 1ull << 36;

// #VC error code for an access to a page that is not validated [GHCB 56421 4.1.6].
inline constexpr uint64_t kVcPageNotValidated = 0x404;

// Bytes of the SVSM calling area the protocol defines [SVSM 58019 4.1.1].
inline constexpr uint64_t kCaaCallPending = 0;
inline constexpr uint64_t kCaaMemAvailable = 1;

enum class Access : uint8_t { kRead, kWrite, kUserExec, kSupervisorExec };

struct RmpEntry {
  bool assigned = false;
  bool validated = false;
  bool vmsa = false;
  PageSize size = PageSize::k4K;
  // perms[0] is never consulted: VMPL0 always has full access [APM2 15.36.7].
  uint8_t perms[Vmpl::kCount] = {};
};

// What an instruction executed at some VMPL did.
enum class Fault : uint8_t {
  kNone,
  kNpf,  // nested page fault to the host (error_code holds the bits)
  kVc,   // #VC in the guest (error_code holds the #VC code)
  kGp,   // #GP(0) in the guest
};

struct AccessOutcome {
  Fault fault = Fault::kNone;
  uint64_t error_code = 0;
  bool forwarded = false;  // the host ran VMPL0 with a violation exit
  bool performed = false;  // the access took effect
};

struct InstructionOutcome {
  Fault fault = Fault::kNone;  // kNone: the instruction completed
  uint64_t error_code = 0;
  uint32_t rax = 0;    // return code in RAX when completed
  bool carry = false;  // rFLAGS.CF (PVALIDATE: unchanged)
};

struct CallOutcome {
  uint64_t rax = 0, rcx = 0, rdx = 0;
  bool call_pending_after = false;  // still set: the monitor did not take the call
  bool monitor_ran = false;
};

class SimPlatform {
 public:
  SimPlatform(uint64_t guest_pages, uint32_t vcpus);
  SimPlatform(const SimPlatform&) = delete;
  SimPlatform& operator=(const SimPlatform&) = delete;
  ~SimPlatform();

  // The platform the sim backend's vg::hal functions act on.
  static SimPlatform* current();
  void install();
  void uninstall();

  uint64_t guest_pages() const { return rmp_.size(); }
  uint32_t vcpus() const { return vcpus_; }

  // ---- Host side (hypervisor and firmware).
  // RMPUPDATE by the host: assigns the page to the guest, not validated, no
  // permissions for VMPL1-3 [APM2 15.36.4]. For k2M, all 512 entries.
  bool host_assign(Gpa page, PageSize size);
  // RMPUPDATE to hypervisor-owned: the page leaves the guest.
  bool host_reclaim(Gpa page);
  // SNP_LAUNCH_UPDATE-like: assigned and validated, VMPL0 only.
  bool launch_page(Gpa page, PageSize size);
  // Whether the host forwards VMPL #NPFs to VMPL0 (the host contract).
  void set_forward_vmpl_faults(bool forward) { forward_vmpl_faults_ = forward; }
  // A host that runs VMPL0 on `vcpu` with an exit report of its choosing:
  // models a buggy or hostile host fabricating violation exits.
  void host_report_exit(uint32_t vcpu, const ExitInfo& info);
  // The VMPL0 image's entry point: called when the host runs VMPL0.
  using EntryFunction = void (*)(void* context, uint32_t vcpu);
  void set_vmpl0_entry(EntryFunction entry, void* context);

  // ---- Guest side: what an instruction at `vmpl` on `vcpu` does.
  // A data access or an instruction fetch of `length` bytes at `gpa`.
  // Writes copy from `data`, reads copy into it; fetches ignore it.
  AccessOutcome guest_access(uint32_t vcpu, Vmpl vmpl, Gpa gpa, Access access, void* data, size_t length);
  // RMPADJUST executed at `caller` [APM3 RMPADJUST].
  InstructionOutcome guest_rmpadjust(uint32_t vcpu, Vmpl caller, Gpa page, PageSize size, uint64_t rdx);
  // PVALIDATE executed at `caller` [APM3 PVALIDATE].
  InstructionOutcome guest_pvalidate(uint32_t vcpu, Vmpl caller, Gpa page, PageSize size, bool validate);
  // An SVSM call made the way Linux makes it [SVSM 58019 4.1]: registers into
  // the caller's VMSA, call-pending byte set in the calling area at `caa`
  // (written at the caller's VMPL), GHCB MSR Run VMPL 0, and after the
  // monitor ran, the result from the caller's VMSA.
  CallOutcome guest_svsm_call(uint32_t vcpu, Vmpl caller, Gpa caa, uint64_t rax, uint64_t rcx, uint64_t rdx,
                              uint64_t r8);

  // ---- State inspection and setup for tests.
  const RmpEntry* rmp_entry(Gpa gpa) const;
  VmsaState& vmsa(uint32_t vcpu, Vmpl vmpl);
  uint8_t* memory(Gpa gpa, size_t length);  // nullptr when out of range
  bool stopped() const { return stopped_; }
  uint64_t termination_request() const { return termination_request_; }
  uint64_t last_ghcb_msr_request() const { return last_ghcb_msr_; }
  uint8_t resume_vmpl(uint32_t vcpu) const { return resume_vmpl_[vcpu]; }
  uint64_t monitor_entries() const { return monitor_entries_; }
  uint32_t current_vcpu() const { return current_vcpu_; }

  // ---- Backing for the vg::hal functions (VMPL0 on the current vCPU).
  bool vmpl0_read(Gpa source, void* destination, size_t length) const;
  bool vmpl0_write(Gpa destination, const void* source, size_t length);
  bool take_exit_info(uint32_t vcpu, ExitInfo& out);
  // The host's handling of a GHCB MSR protocol value written by VMPL0 before
  // VMGEXIT; returns the value the host puts back in the MSR.
  uint64_t host_msr_protocol(uint64_t request);
  uint64_t next_timestamp() { return ++clock_; }

 private:
  bool page_index(Gpa gpa, uint64_t& index) const;
  void enter_vmpl0(uint32_t vcpu, const ExitInfo& info);
  uint8_t perms_of(const RmpEntry& entry, Vmpl vmpl) const;

  std::vector<uint8_t> memory_;
  std::vector<RmpEntry> rmp_;
  std::vector<VmsaState> vmsa_;  // vcpus_ * 4, indexed vcpu * 4 + vmpl
  std::vector<ExitInfo> pending_exit_;
  std::vector<uint8_t> resume_vmpl_;
  uint32_t vcpus_;
  uint32_t current_vcpu_ = 0;
  bool forward_vmpl_faults_ = true;
  bool stopped_ = false;
  uint64_t termination_request_ = 0;
  uint64_t last_ghcb_msr_ = 0;
  uint64_t clock_ = 0;
  uint64_t monitor_entries_ = 0;
  EntryFunction entry_ = nullptr;
  void* entry_context_ = nullptr;
};

// Installs a platform for the lifetime of a scope (one test).
class ScopedInstall {
 public:
  explicit ScopedInstall(SimPlatform& platform) : platform_(platform) { platform_.install(); }
  ~ScopedInstall() { platform_.uninstall(); }
  ScopedInstall(const ScopedInstall&) = delete;
  ScopedInstall& operator=(const ScopedInstall&) = delete;

 private:
  SimPlatform& platform_;
};

}  // namespace vg::hal::sim
