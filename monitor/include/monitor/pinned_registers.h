// Pinned control registers and MSRs of the kernel's VMPL. SNP gives VMPL0 no
// CR or MSR intercepts of a lower VMPL [APM2 15.36], so the monitor locks the
// values it sees when the kernel registers and compares the kernel's VMSA
// against them at every monitor entry. The set is what Linux itself pins
// (arch/x86/kernel/cpu/common.c: cr4_pinned_mask, CR0.WP) plus the state an
// attacker redirects to take over the kernel: the syscall MSRs and the
// IDT/GDT bases.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hal/hal.h"

namespace vg::monitor {

// Register ids, as reported in vg_record.detail for VG_KIND_PINNED_REGISTER
// (docs/monitor-abi.md).
enum class PinnedRegister : uint8_t {
  kCr0 = 1,
  kCr4 = 2,
  kEfer = 3,
  kLstar = 4,
  kStar = 5,
  kCstar = 6,
  kSfmask = 7,
  kIdtrBase = 8,
  kGdtrBase = 9,
};
inline constexpr size_t kPinnedRegisterCount = 9;

// Pinned bits [APM2 3.1.1, 3.1.3, 3.1.7]: CR0.PE, WP, PG; CR4.UMIP,
// FSGSBASE, SMEP, SMAP, CET; EFER.SCE, LME, NXE. A full-value register has
// mask ~0.
inline constexpr uint64_t kCr0PinnedMask = 1ull << 0 | 1ull << 16 | 1ull << 31;
inline constexpr uint64_t kCr4PinnedMask = 1ull << 11 | 1ull << 16 | 1ull << 20 | 1ull << 21 | 1ull << 23;
inline constexpr uint64_t kEferPinnedMask = 1ull << 0 | 1ull << 8 | 1ull << 11;

uint64_t pinned_mask(PinnedRegister id);
uint64_t register_value(const hal::VmsaState& state, PinnedRegister id);

// What the monitor does when a pinned value changed.
enum class PinResponse : uint8_t {
  kRecordOnly,  // record it, leave the kernel's value
  kRestore,     // record it, write the locked bits back into the VMSA
  kStop,        // record it, stop the guest
};

struct PinDeviation {
  PinnedRegister id;
  uint64_t value;  // the kernel's current (changed) value
};

// The locked values of one vCPU.
class PinnedRegisters {
 public:
  void lock(const hal::VmsaState& state);
  bool locked() const { return locked_; }

  // Fills `out` with each register whose pinned bits differ from the lock
  // and that has not already been reported with this same value; returns
  // how many. A register that returns to its locked value can be reported
  // again if it changes later.
  size_t check(const hal::VmsaState& state, PinDeviation (&out)[kPinnedRegisterCount]);

  // Puts the locked bits back into `state`, leaving unpinned bits alone.
  void restore(hal::VmsaState& state) const;

 private:
  bool locked_ = false;
  uint64_t values_[kPinnedRegisterCount] = {};
  bool reported_[kPinnedRegisterCount] = {};
  uint64_t reported_value_[kPinnedRegisterCount] = {};
};

}  // namespace vg::monitor
