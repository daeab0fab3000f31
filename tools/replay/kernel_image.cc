#include "replay/kernel_image.h"

#include <elf.h>

#include <cstring>

#include "analyzer/elf_image.h"

namespace vg::replay {

Result<KernelImage, std::string> load_kernel_image(const std::string& vmlinux) {
  auto opened = analyzer::ElfImage::open(vmlinux);
  if (!opened.ok()) return Err{opened.error().file + ": " + opened.error().message};
  const analyzer::ElfImage& elf = *opened.value();
  KernelImage image;
  image.path = vmlinux;
  image.release = elf.release();
  image.build_id = elf.build_id();
  image.link_text = elf.text_base();
  const auto end = elf.symbol_address("_end");
  if (!end || *end <= image.link_text || *end - image.link_text > (1ull << 30))
    return Err{vmlinux + ": no usable _end symbol (or the image is over 1 GiB)"};
  image.entry_syscall = elf.symbol_address("entry_SYSCALL_64").value_or(0);
  const uint64_t size = (*end - image.link_text + 4095) & ~uint64_t{4095};
  image.bytes.assign(size, 0);
  for (const analyzer::Section& section : elf.sections()) {
    // Per-CPU sections link at 0 and other non-image sections lie outside
    // [_text, _end): they are not part of the image the loader places.
    if (!section.allocated() || section.type != SHT_PROGBITS || section.bytes.size == 0) continue;
    if (section.address < image.link_text || section.address - image.link_text >= size) continue;
    const uint64_t offset = section.address - image.link_text;
    if (section.bytes.size > size - offset)
      return Err{vmlinux + ": section " + section.name + " runs past _end"};
    std::memcpy(image.bytes.data() + offset, section.bytes.data, section.bytes.size);
  }
  return image;
}

}  // namespace vg::replay
