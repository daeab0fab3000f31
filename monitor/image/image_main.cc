// The monitor image's C++ entry, called by boot.S in long mode on the
// monitor stack. In native mode (no SEV-SNP: QEMU TCG here) it runs the
// portable self-tests, prints a summary on the serial port and exits; with
// SEV-SNP active it would go on to load the policy and enter the monitor's
// exit loop, which needs the IGVM launch described in docs/monitor-image.md.
#include <stdint.h>

#include "base/assert.h"
#include "console.h"
#include "platform_mode.h"
#include "selftests.h"

extern "C" const uint8_t __image_start[];
extern "C" const uint8_t __image_end[];

extern "C" [[noreturn]] void vg_image_main(uint64_t start_info_phys) {
  using namespace vg::image;
  console_init();
  console_write("vmplguard monitor image\n");
  console_write("  image: ");
  console_write_hex(reinterpret_cast<uint64_t>(__image_start));
  console_write(" - ");
  console_write_hex(reinterpret_cast<uint64_t>(__image_end));
  console_write(", hvm_start_info at ");
  console_write_hex(start_info_phys);
  console_write("\n");

  const PlatformMode mode = detect_platform_mode();
  if (mode.sev_snp_active) {
    // Enforcement needs the policy and the kernel's VMSA from an IGVM
    // launch, which this image format does not carry yet: stop loudly
    // rather than run unprotected.
    console_write("  SEV-SNP active: launch through IGVM is not supported by this image yet\n");
    exit_emulator(0x7f);
  }
  console_write(mode.sev_snp_supported ? "  mode: native (SEV-SNP supported, not active)\n"
                                       : "  mode: native (no SEV-SNP): SNP instructions are not executed\n");
  const SelfTestSummary summary = run_selftests();
  console_write("vmplguard self-test: ");
  console_write_decimal(summary.passed);
  console_write(" passed, ");
  console_write_decimal(summary.failed);
  console_write(" failed\n");
  exit_emulator(summary.failed == 0 ? 0x10 : 0x11);
}

namespace vg {
// A broken invariant in native mode: say where, then stop the machine.
[[noreturn]] void halt(const char* file, int line, const char* condition) {
  image::console_write("vmplguard: invariant broken at ");
  image::console_write(file);
  image::console_write(":");
  image::console_write_decimal(static_cast<uint64_t>(line));
  image::console_write(": ");
  image::console_write(condition);
  image::console_write("\n");
  image::exit_emulator(0x7e);
}
}  // namespace vg
