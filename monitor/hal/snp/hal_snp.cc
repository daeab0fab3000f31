// The vg::hal functions on real SEV-SNP hardware, at VMPL0.
#include "base/assert.h"
#include "hal/ghcb_msr.h"
#include "hal/hal.h"
#include "hal/snp/direct_map.h"
#include "hal/snp/instructions.h"
#include "hal/snp/tables.h"

namespace vg::hal {
namespace snp {
namespace {

// Byte offsets of the VMSA fields the monitor inspects: the SEV-ES save area
// [APM2 Table B-4, VMSA layout; Linux struct sev_es_save_area].
namespace vmsa_offset {
inline constexpr uint64_t kGdtrLimit = 0x064, kGdtrBase = 0x068;
inline constexpr uint64_t kIdtrLimit = 0x084, kIdtrBase = 0x088;
inline constexpr uint64_t kCpl = 0x0cb, kEfer = 0x0d0;
inline constexpr uint64_t kCr4 = 0x148, kCr3 = 0x150, kCr0 = 0x158, kRip = 0x178, kRsp = 0x1d8, kRax = 0x1f8;
inline constexpr uint64_t kStar = 0x200, kLstar = 0x208, kCstar = 0x210, kSfmask = 0x218, kCr2 = 0x240;
inline constexpr uint64_t kRcx = 0x308, kRdx = 0x310, kR8 = 0x340, kR9 = 0x348;
inline constexpr uint64_t kExitInfo1 = 0x390, kExitInfo2 = 0x398, kExitCode = 0x3c0, kEventInject = 0x3e0;
}  // namespace vmsa_offset

// The GHCB page's save-area fields used for exit information [GHCB 56421
// Table 3: SW_EXITCODE 0x390, SW_EXITINFO1 0x398, SW_EXITINFO2 0x3A0,
// SW_SCRATCH 0x3A8]. The faulting VMPL travels in SW_SCRATCH by vmplguard's
// host contract (docs/host-contract.md).
namespace ghcb_offset {
inline constexpr uint64_t kExitCode = 0x390, kExitInfo1 = 0x398, kExitInfo2 = 0x3a0, kScratch = 0x3a8;
}  // namespace ghcb_offset

Gpa g_vmsa[kMaxVcpus][Vmpl::kCount];
Gpa g_ghcb[kMaxVcpus];

template <typename T>
T load(uint64_t va) {
  T value;
  // SAFETY: `va` is inside the direct map of a page the monitor registered
  // (a VMSA or GHCB page), mapped for VMPL0; a copy, so that a concurrent
  // writer cannot change the value between check and use.
  __builtin_memcpy(&value, reinterpret_cast<const void*>(va), sizeof(T));
  return value;
}

template <typename T>
void store(uint64_t va, T value) {
  // SAFETY: as for load(); the page is a VMSA of a lower VMPL that is not
  // running (this vCPU is in VMPL0), or this vCPU's GHCB.
  __builtin_memcpy(reinterpret_cast<void*>(va), &value, sizeof(T));
}

bool vmsa_va(uint32_t vcpu, Vmpl vmpl, uint64_t& va) {
  if (vcpu >= kMaxVcpus || !vmpl.valid() || g_vmsa[vcpu][vmpl.raw()] == Gpa{}) return false;
  va = direct_map_va(g_vmsa[vcpu][vmpl.raw()]);
  return true;
}

// One GHCB MSR protocol exchange [GHCB 56421 2.3.1]: write the request,
// VMGEXIT, read the host's answer. The previous MSR value (the GHCB page's
// GPA) is restored so that GHCB-page exits keep working.
uint64_t msr_protocol(uint64_t request) {
  const uint64_t saved = rdmsr(ghcb_msr::kMsrGhcb);
  wrmsr(ghcb_msr::kMsrGhcb, request);
  vmgexit();
  const uint64_t response = rdmsr(ghcb_msr::kMsrGhcb);
  wrmsr(ghcb_msr::kMsrGhcb, saved);
  return response;
}

}  // namespace

bool set_vmsa_page(uint32_t vcpu, Vmpl vmpl, Gpa page) {
  if (vcpu >= kMaxVcpus || !vmpl.valid() || !page.is_aligned(kPageSize4K) ||
      !in_direct_map(page, kPageSize4K)) {
    return false;
  }
  g_vmsa[vcpu][vmpl.raw()] = page;
  return true;
}

bool set_ghcb_page(uint32_t vcpu, Gpa page) {
  if (vcpu >= kMaxVcpus || !page.is_aligned(kPageSize4K) || !in_direct_map(page, kPageSize4K)) return false;
  g_ghcb[vcpu] = page;
  return true;
}

}  // namespace snp

RmpStatus rmpadjust(Gpa page, PageSize size, RmpAdjustAttributes attributes) {
  const uint64_t span = size == PageSize::k2M ? kPageSize2M : kPageSize4K;
  if (!snp::in_direct_map(page, span)) return RmpStatus::kFailInput;
  return static_cast<RmpStatus>(
      snp::rmpadjust(snp::direct_map_va(page), static_cast<uint64_t>(size), attributes.encode()));
}

PvalidateStatus pvalidate(Gpa page, PageSize size, bool validate) {
  const uint64_t span = size == PageSize::k2M ? kPageSize2M : kPageSize4K;
  if (!snp::in_direct_map(page, span)) return PvalidateStatus::kFailInput;
  const snp::PvalidateResult result =
      snp::pvalidate(snp::direct_map_va(page), static_cast<uint64_t>(size), validate ? 1 : 0);
  if (result.rax == 0 && result.carry) return PvalidateStatus::kFailUnchanged;
  return static_cast<PvalidateStatus>(result.rax);
}

bool read_guest(Gpa source, void* destination, size_t length) {
  if (!snp::in_direct_map(source, length)) return false;
  // SAFETY: the range lies in the direct map of guest memory, which VMPL0 may
  // read in full [APM2 15.36.7: VMPL0 has all permissions]. A page the
  // guest never validated raises #VC; the monitor reads only pages named in
  // requests it is about to check, and the #VC handler stops the guest.
  __builtin_memcpy(destination, reinterpret_cast<const void*>(snp::direct_map_va(source)), length);
  return true;
}

bool write_guest(Gpa destination, const void* source, size_t length) {
  if (!snp::in_direct_map(destination, length)) return false;
  // SAFETY: as for read_guest; the callers decide which pages may be written
  // (policy-checked patch targets, the telemetry ring).
  __builtin_memcpy(reinterpret_cast<void*>(snp::direct_map_va(destination)), source, length);
  return true;
}

bool read_vmsa(uint32_t vcpu, Vmpl vmpl, VmsaState& out) {
  using namespace snp::vmsa_offset;
  uint64_t va = 0;
  if (!snp::vmsa_va(vcpu, vmpl, va)) return false;
  out.rip = snp::load<uint64_t>(va + kRip);
  out.rsp = snp::load<uint64_t>(va + kRsp);
  out.rax = snp::load<uint64_t>(va + kRax);
  out.rcx = snp::load<uint64_t>(va + kRcx);
  out.rdx = snp::load<uint64_t>(va + kRdx);
  out.r8 = snp::load<uint64_t>(va + kR8);
  out.r9 = snp::load<uint64_t>(va + kR9);
  out.cr0 = snp::load<uint64_t>(va + kCr0);
  out.cr2 = snp::load<uint64_t>(va + kCr2);
  out.cr3 = snp::load<uint64_t>(va + kCr3);
  out.cr4 = snp::load<uint64_t>(va + kCr4);
  out.efer = snp::load<uint64_t>(va + kEfer);
  out.lstar = snp::load<uint64_t>(va + kLstar);
  out.star = snp::load<uint64_t>(va + kStar);
  out.cstar = snp::load<uint64_t>(va + kCstar);
  out.sfmask = snp::load<uint64_t>(va + kSfmask);
  out.idtr_base = snp::load<uint64_t>(va + kIdtrBase);
  out.gdtr_base = snp::load<uint64_t>(va + kGdtrBase);
  out.idtr_limit = static_cast<uint16_t>(snp::load<uint32_t>(va + kIdtrLimit));
  out.gdtr_limit = static_cast<uint16_t>(snp::load<uint32_t>(va + kGdtrLimit));
  out.cpl = snp::load<uint8_t>(va + kCpl);
  out.event_inject = snp::load<uint64_t>(va + kEventInject);
  out.guest_exit_code = snp::load<uint64_t>(va + kExitCode);
  out.guest_exit_info1 = snp::load<uint64_t>(va + kExitInfo1);
  out.guest_exit_info2 = snp::load<uint64_t>(va + kExitInfo2);
  return true;
}

bool write_vmsa(uint32_t vcpu, Vmpl vmpl, const VmsaState& state) {
  using namespace snp::vmsa_offset;
  uint64_t va = 0;
  if (!snp::vmsa_va(vcpu, vmpl, va) || vmpl.raw() == 0) return false;
  // Only what the monitor legitimately edits in a lower VMPL's state: the
  // call's result registers, RIP (skip), pinned registers (restore) and the
  // event-injection field (inject). Exit information is the CPU's.
  snp::store(va + kRip, state.rip);
  snp::store(va + kRax, state.rax);
  snp::store(va + kRcx, state.rcx);
  snp::store(va + kRdx, state.rdx);
  snp::store(va + kR8, state.r8);
  snp::store(va + kR9, state.r9);
  snp::store(va + kCr0, state.cr0);
  snp::store(va + kCr2, state.cr2);
  snp::store(va + kCr4, state.cr4);
  snp::store(va + kEfer, state.efer);
  snp::store(va + kLstar, state.lstar);
  snp::store(va + kStar, state.star);
  snp::store(va + kCstar, state.cstar);
  snp::store(va + kSfmask, state.sfmask);
  snp::store(va + kIdtrBase, state.idtr_base);
  snp::store(va + kGdtrBase, state.gdtr_base);
  snp::store(va + kEventInject, state.event_inject);
  return true;
}

bool request_run_vmpl(Vmpl vmpl) {
  if (!vmpl.valid()) return false;
  return ghcb_msr::run_vmpl_succeeded(snp::msr_protocol(ghcb_msr::encode_run_vmpl(vmpl.raw())));
}

uint64_t timestamp() {
  return snp::rdtsc();
}

bool read_exit_info(uint32_t vcpu, ExitInfo& out) {
  using namespace snp::ghcb_offset;
  if (vcpu >= snp::kMaxVcpus || snp::g_ghcb[vcpu] == Gpa{}) return false;
  const uint64_t va = snp::direct_map_va(snp::g_ghcb[vcpu]);
  // The GHCB is shared with the host: each field is read once into `out`
  // and the exit code cleared so that a stale report is never replayed.
  out.exit_code = snp::load<uint64_t>(va + kExitCode);
  out.info1 = snp::load<uint64_t>(va + kExitInfo1);
  out.info2 = snp::load<uint64_t>(va + kExitInfo2);
  out.vmpl = snp::load<uint8_t>(va + kScratch);
  snp::store<uint64_t>(va + kExitCode, kExitCodeNone);
  return true;
}

void terminate_guest(uint8_t reason_set, uint8_t reason_code) {
  (void)snp::msr_protocol(ghcb_msr::encode_terminate(reason_set, reason_code));
  // The host must not resume a guest that asked to terminate; if it does,
  // this vCPU stays parked.
  snp::halt_forever();
}

}  // namespace vg::hal
