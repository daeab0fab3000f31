// A small simulated SNP guest for HAL and platform tests: 1024 pages (4 MiB),
// two vCPUs, pages 0-511 launched as 4K pages (validated, VMPL0 only),
// pages 512-1023 one 2M RMP page, assigned but not yet validated.
#pragma once

#include <gtest/gtest.h>

#include "hal/hal.h"
#include "hal/sim/platform.h"

namespace vg::test {

class SimTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kPages = 1024;
  static constexpr Gpa k2MRegion{kPageSize2M};

  SimTest() : platform_(kPages, 2), install_(platform_) {
    for (uint64_t page = 0; page < 512; ++page) {
      EXPECT_TRUE(platform_.launch_page(Gpa(page * kPageSize4K), hal::PageSize::k4K));
    }
    EXPECT_TRUE(platform_.host_assign(k2MRegion, hal::PageSize::k2M));
  }

  static uint64_t rdx(uint8_t target, uint8_t perms, bool vmsa = false) {
    return hal::RmpAdjustAttributes{Vmpl{target}, perms, vmsa}.encode();
  }

  hal::sim::SimPlatform platform_;
  hal::sim::ScopedInstall install_;
};

}  // namespace vg::test
