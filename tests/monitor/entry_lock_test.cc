// Entries are serialized across vCPUs: an entry on one vCPU waits while
// another holds the monitor's entry lock, and then completes.
#include <chrono>
#include <thread>

#include "monitor_fixture.h"

namespace vg::test {
namespace {

TEST_F(MonitorTest, AnEntryWaitsWhileAnotherVcpuHoldsTheEntryLock) {
  const uint64_t entries_before = monitor_.stats().entries;
  monitor_.entry_lock().lock();
  std::thread other_vcpu([&] { (void)monitor_.handle_entry(1); });
  // Waiting cannot make this fail: only an entry that ignores the lock
  // moves the counter while the lock is held.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(__atomic_load_n(&monitor_.stats().entries, __ATOMIC_RELAXED), entries_before);
  monitor_.entry_lock().unlock();
  other_vcpu.join();
  EXPECT_EQ(monitor_.stats().entries, entries_before + 1);
}

}  // namespace
}  // namespace vg::test
