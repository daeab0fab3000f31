// SpinLock: mutual exclusion for state the monitor shares between vCPUs.
//
// The monitor runs on every vCPU that enters VMPL0 and has no scheduler to
// sleep on, so waiting is spinning: test-and-test-and-set, with PAUSE in the
// wait loop so that a spinning vCPU does not starve its SMT sibling
// [Intel SDM / APM3 "PAUSE"]. Freestanding: only compiler atomics.
#pragma once

namespace vg {

class SpinLock {
 public:
  void lock() {
    while (__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE)) {
      while (__atomic_load_n(&locked_, __ATOMIC_RELAXED)) __builtin_ia32_pause();
    }
  }
  bool try_lock() { return !__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE); }
  void unlock() { __atomic_store_n(&locked_, false, __ATOMIC_RELEASE); }

 private:
  bool locked_ = false;
};

// Holds a SpinLock for one scope.
class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
  ~SpinGuard() { lock_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace vg
