// Build-time sizes of every KCI table. The monitor allocates nothing at run
// time: each limit here is a fixed array, and a request or policy that needs
// more is refused with a clear error rather than truncated.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/types.h"
#include "monitor/vmplguard_abi.h"

#ifndef VMPLGUARD_KCI_POLICY_BYTES
// A Debian 6.12 cloud policy is about 12 MiB (400k sites, 105k functions);
// the build system may raise this (cmake -DVMPLGUARD_KCI_POLICY_BYTES=...).
#define VMPLGUARD_KCI_POLICY_BYTES (48u << 20)
#endif

namespace vg::kci {

// The VMPL the guest kernel runs at; KCI adjusts permissions for it only.
inline constexpr Vmpl kKernelVmpl{3};

// Each of the two policy buffers (the active one and the one a new policy is
// parsed in, so that a refused policy never disturbs the enforced one).
inline constexpr size_t kPolicyBufferBytes = VMPLGUARD_KCI_POLICY_BYTES;

// The kernel image: 1 GiB of 4 KiB pages covers any x86-64 kernel (the
// kernel text mapping itself is 1 GiB at most).
inline constexpr uint64_t kMaxKernelBytes = 1ull << 30;

inline constexpr uint32_t kMaxModules = 64;  // modules and BPF JIT images together
inline constexpr uint32_t kMaxPagesPerImage = VG_MODULE_MAX_PAGES;
inline constexpr uint32_t kMaxBpfJitPages =
    64;  // one JIT image (bpf_prog_pack uses 2 MiB / 512 pages chunks split)
inline constexpr uint32_t kMaxCriticalObjects = 256;  // policy objects KCI keeps state for
inline constexpr uint32_t kMaxWatched = 256;          // watched objects and fragments of locked ones
inline constexpr uint32_t kMaxMediatedObjectBytes = 4096;
inline constexpr uint32_t kMaxRingPages = 256;
// kprobes KCI lets the kernel arm at non-sites (kFlagKprobesAllowed); the
// 257th is refused until one is disarmed.
inline constexpr uint32_t kMaxArmedProbes = 256;

// Violations after which the guest is stopped rather than faulted again: a
// kernel that keeps hitting protected memory is looping on an attack or a
// bug, and injecting more faults only repeats the exit.
inline constexpr uint64_t kViolationStopThreshold = 4096;

}  // namespace vg::kci
