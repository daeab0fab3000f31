// libFuzzer target: ElfImage validation and every special-section reader on
// arbitrary bytes. ElfImage::open takes a path (as the CLI does), so each
// input is written to an anonymous memory file and opened through /proc.
// Seed corpus: the fixture kernels of tests/analyzer (fuzz_corpus/analyzer_elf
// in the build folder).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzer/stages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("vg_fuzz_elf", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done == size) {
    auto image = vg::analyzer::ElfImage::open("/proc/self/fd/" + std::to_string(fd));
    if (image.ok()) {
      vg::analyzer::Analysis analysis;
      const vg::analyzer::ElfImage& elf = *image.value();
      bool ok = vg::analyzer::collect_kernel_info(elf, analysis).ok() &&
                vg::analyzer::collect_regions(elf, analysis).ok() &&
                vg::analyzer::collect_functions(elf, analysis).ok();
      // Patch sites do not depend on regions: run them whatever happened.
      const bool sites = vg::analyzer::collect_patch_sites(elf, analysis).ok();
      if (ok && sites) (void)vg::analyzer::build_policy(analysis, vg::analyzer::PolicyOptions{});
    }
  }
  close(fd);
  return 0;
}
