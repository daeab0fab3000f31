// The SEV-SNP and x86 privileged instructions the monitor executes at VMPL0,
// as inline assembly. RMPADJUST, PVALIDATE and VMGEXIT are emitted as .byte
// sequences because older assemblers lack the mnemonics; the encodings are
// the APM's [APM3 RMPADJUST: F3 0F 01 FE; APM3 PVALIDATE: F2 0F 01 FF;
// APM3 VMGEXIT: F3 0F 01 D9 (REP VMMCALL)].
//
// Only hal/snp includes this header; the portable monitor reaches these
// through vg::hal.
#pragma once

#include <stdint.h>

namespace vg::hal::snp {

struct PvalidateResult {
  uint32_t rax;
  bool carry;  // rFLAGS.CF: the page was already in the requested state
};

// RMPADJUST: RAX = virtual address of the page, RCX = page size (0 4K, 1 2M),
// RDX = target VMPL | perms << 8 | VMSA << 16; status in EAX [APM3 RMPADJUST].
inline uint32_t rmpadjust(uint64_t va, uint64_t page_size, uint64_t attributes) {
  uint64_t rax = va;
  // SAFETY: RMPADJUST changes only the RMP permissions of a VMPL numerically
  // greater than ours (VMPL0) for a page of this guest; it reads no memory
  // through RAX beyond translating it, and the caller passes a direct-map
  // address of a guest page. "memory" keeps the compiler from moving guest
  // accesses across the permission change.
  asm volatile(".byte 0xf3, 0x0f, 0x01, 0xfe" : "+a"(rax) : "c"(page_size), "d"(attributes) : "memory", "cc");
  return static_cast<uint32_t>(rax);
}

// PVALIDATE: RAX = virtual address, RCX = page size, RDX = 1 validate /
// 0 rescind; status in EAX, CF = 1 if nothing changed [APM3 PVALIDATE].
inline PvalidateResult pvalidate(uint64_t va, uint64_t page_size, uint64_t validate) {
  uint64_t rax = va;
  bool carry = false;
  // SAFETY: PVALIDATE flips the Validated bit of one of this guest's RMP
  // entries; VMPL0 is the only level allowed to execute it. The caller has
  // decided the page's fate (the monitor never rescinds its own pages).
  asm volatile(".byte 0xf2, 0x0f, 0x01, 0xff"
               : "+a"(rax), "=@ccc"(carry)
               : "c"(page_size), "d"(validate)
               : "memory");
  return PvalidateResult{static_cast<uint32_t>(rax), carry};
}

// VMGEXIT: hands control to the host, which reads the GHCB MSR (MSR protocol)
// or the GHCB page [GHCB 56421 2.3; APM3 VMGEXIT].
inline void vmgexit() {
  // SAFETY: VMGEXIT exits to the host with the state the GHCB protocol
  // defines; the host can read only the shared GHCB MSR/page. "memory"
  // orders our writes to the GHCB before the exit.
  asm volatile(".byte 0xf3, 0x0f, 0x01, 0xd9" ::: "memory");
}

inline uint64_t rdmsr(uint32_t msr) {
  uint32_t low = 0, high = 0;
  // SAFETY: RDMSR at CPL0 of an MSR the caller names from the APM; the
  // monitor reads only architectural MSRs that exist on SNP hardware.
  asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
  return uint64_t{high} << 32 | low;
}

inline void wrmsr(uint32_t msr, uint64_t value) {
  // SAFETY: WRMSR at CPL0; the monitor writes only the GHCB MSR, whose
  // value is a protocol request to the host [GHCB 56421 2.3.1].
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}

inline uint64_t rdtsc() {
  uint32_t low = 0, high = 0;
  // SAFETY: RDTSC reads the time-stamp counter; no side effects. Under SNP
  // with SecureTSC it is the guest TSC; otherwise the host can skew it,
  // which only affects record timestamps, never decisions.
  asm volatile("rdtsc" : "=a"(low), "=d"(high));
  return uint64_t{high} << 32 | low;
}

inline void halt_forever() {
  for (;;) {
    // SAFETY: HLT with interrupts masked parks this vCPU for good.
    asm volatile("cli; hlt" ::: "memory");
  }
}

}  // namespace vg::hal::snp
