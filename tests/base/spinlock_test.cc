// SpinLock gives mutual exclusion: threads that update a plain counter under
// it lose no update, and try_lock fails while the lock is held.
#include "base/spinlock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace vg {
namespace {

TEST(SpinLock, NoUpdateIsLostUnderContention) {
  SpinLock lock;
  uint64_t counter = 0;  // deliberately not atomic: the lock is what protects it
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        SpinGuard guard(lock);
        counter = counter + 1;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kIncrements);
}

TEST(SpinLock, TryLockFailsWhileHeldAndSucceedsAfterRelease) {
  SpinLock lock;
  ASSERT_TRUE(lock.try_lock());
  EXPECT_FALSE(lock.try_lock());
  lock.unlock();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

}  // namespace
}  // namespace vg
