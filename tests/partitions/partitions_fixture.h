// A simulated guest for the partition tests: 64 launched 4K pages that the
// kernel (VMPL3) may read and write, two vCPUs, and a partition manager with
// the nested-kernel default policy.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "hal/sim/platform.h"
#include "partitions/partitions.h"

namespace vg::partitions::testing {

using hal::sim::Access;
using hal::sim::SimPlatform;

inline constexpr uint8_t kR = 1u << 0;
inline constexpr uint8_t kW = 1u << 1;
inline constexpr uint8_t kX = 1u << 3;
inline constexpr uint64_t kPages = 64;

inline Gpa page(uint64_t index) {
  return Gpa(index * kPageSize4K);
}

class PartitionsTest : public ::testing::Test {
 protected:
  PartitionsTest()
      : platform_(kPages, 2), install_(platform_), partitions_(PartitionPolicy::nested_kernel_default(), 2) {}

  void SetUp() override {
    for (uint64_t i = 0; i < kPages; ++i) {
      ASSERT_TRUE(platform_.launch_page(page(i), hal::PageSize::k4K));
      // The kernel's data pages: what KCI would have granted.
      ASSERT_EQ(hal::rmpadjust(page(i), hal::PageSize::k4K, {Vmpl(3), kR | kW, false}),
                hal::RmpStatus::kSuccess);
    }
  }

  // Whether an access of 8 bytes at `vmpl` takes effect.
  bool can(uint8_t vmpl, Gpa gpa, Access access, uint32_t vcpu = 0) {
    uint64_t value = 0x1122334455667788ull;
    return platform_.guest_access(vcpu, Vmpl(vmpl), gpa, access, &value, sizeof(value)).performed;
  }

  uint8_t rmp_perms(Gpa gpa, uint8_t vmpl) { return platform_.rmp_entry(gpa)->perms[vmpl]; }

  // The RMP must say exactly what the manager intends for every page it tracks.
  void expect_rmp_matches_intent() {
    for (uint32_t i = 0; i < partitions_.page_count(); ++i) {
      const PageRecord& record = partitions_.pages()[i];
      const hal::sim::RmpEntry* entry = platform_.rmp_entry(record.pfn.gpa());
      ASSERT_NE(entry, nullptr);
      EXPECT_EQ(entry->vmsa, record.vmsa) << "pfn " << record.pfn.raw();
      for (uint8_t v = 1; v < Vmpl::kCount; ++v) {
        EXPECT_EQ(entry->perms[v], partitions_.intended_perms(record, Vmpl(v)))
            << "pfn " << record.pfn.raw() << " vmpl " << int{v};
      }
    }
  }

  // RMP permissions of every page at VMPL1-3, for "changes nothing" checks.
  std::vector<uint8_t> rmp_snapshot() {
    std::vector<uint8_t> snapshot;
    for (uint64_t i = 0; i < kPages; ++i) {
      const hal::sim::RmpEntry* entry = platform_.rmp_entry(page(i));
      snapshot.insert(snapshot.end(), entry->perms + 1, entry->perms + Vmpl::kCount);
      snapshot.push_back(entry->vmsa ? 1 : 0);
    }
    return snapshot;
  }

  SimPlatform platform_;
  hal::sim::ScopedInstall install_;
  Partitions partitions_;
};

}  // namespace vg::partitions::testing
