// The synthetic kernel the self-test policy describes. Shared by the host
// tool that builds the policy (make_selftest_policy.cc) and the self-tests
// that check the image's parser against it, so both agree by construction.
#pragma once

#include <stdint.h>

namespace vg::image::selftest_kernel {

inline constexpr uint64_t kLinkTextVa = 0xffffffff81000000ull;
inline constexpr char kRelease[] = "6.12.0-vmplguard-selftest";
inline constexpr uint32_t kJumpLabelSite = 0x110;
inline constexpr uint32_t kJumpLabelTarget = 0x130;
inline constexpr uint32_t kStaticCallSite = 0x1010;
inline constexpr uint32_t kFunctionA = 0x100;
inline constexpr uint32_t kFunctionB = 0x200;
inline constexpr uint32_t kTextSize = 0x10000;

}  // namespace vg::image::selftest_kernel
