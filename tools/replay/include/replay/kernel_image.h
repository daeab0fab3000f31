// The on-disk bytes of a vmlinux laid out as the kernel's image in memory:
// [_text, _end), every allocated PROGBITS section at its offset from _text,
// NOBITS (bss, brk) zero. This is what the boot loader hands the kernel
// before it patches itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace vg::replay {

struct KernelImage {
  std::string path;
  std::string release;
  std::vector<uint8_t> build_id;
  uint64_t link_text = 0;      // link address of _text
  uint64_t entry_syscall = 0;  // link address of entry_SYSCALL_64 (pinned LSTAR)
  std::vector<uint8_t> bytes;  // _end - _text, page-rounded
};

Result<KernelImage, std::string> load_kernel_image(const std::string& vmlinux);

}  // namespace vg::replay
