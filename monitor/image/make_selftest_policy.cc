// Host tool run at build time: writes the policy the image's self-tests
// parse (a small synthetic kernel, see selftest_policy.h).
#include <cstdio>
#include <fstream>

#include "policy/builder.h"
#include "selftest_policy.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_selftest_policy OUTPUT\n");
    return 2;
  }
  namespace k = vg::image::selftest_kernel;
  using namespace vg::policy;
  PolicyBuilder builder;
  builder.set_kernel({0x01, 0x02, 0x03, 0x04}, k::kRelease, k::kLinkTextVa);
  builder.add_region(0, k::kTextSize, RegionKind::kText, kPermRead | kPermSupervisorExec,
                     kPermRead | kPermSupervisorExec);
  builder.add_region(k::kTextSize, 0x4000, RegionKind::kData, kPermRead | kPermWrite, kPermRead | kPermWrite);
  builder.add_function(k::kFunctionA, 0x80, "selftest_a", kFunctionTrusted);
  builder.add_function(k::kFunctionB, 0x40, "selftest_b", 0);
  builder.add_site(k::kJumpLabelSite, kSiteJumpLabel, 5,
                   {PatternSpec::nop(5), PatternSpec::jmp32(k::kJumpLabelTarget)});
  builder.add_site(k::kStaticCallSite, kSiteStaticCall, 5,
                   {PatternSpec::call_any_function(), PatternSpec::nop(5)});
  auto bytes = builder.build();
  if (!bytes.ok()) {
    std::fprintf(stderr, "make_selftest_policy: %s\n", bytes.error().c_str());
    return 1;
  }
  std::ofstream out(argv[1], std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.value().data()),
            static_cast<std::streamsize>(bytes.value().size()));
  return out ? 0 : 1;
}
